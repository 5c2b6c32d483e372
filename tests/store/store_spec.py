"""What the store promises, written once and run against every backend.

`test_store_sqlite.py` and `test_store_postgres.py` subclass :class:`StoreSpec` and provide two
fixtures: `store` (a `Store` over an empty, migrated database) and `store_url` (its URL). Times
are explicit UNIX seconds, so leases, debounce and retries are tested without waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from talkme_consultant.helpers.kinds import CallStatus, EventKind
from talkme_consultant.helpers.outcome import LeadInfo, TurnEvent, TurnOutcome
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.logs import JsonFormatter
from talkme_consultant.store.browse import ConversationFilter
from talkme_consultant.store.conversations import TurnEnd, TurnPlan
from talkme_consultant.store.database import MIGRATIONS_DIR, migrate
from talkme_consultant.store.inbox import IncomingMessage
from talkme_consultant.store.knowledge import FileUpdate
from talkme_consultant.store.leads import LeadStatus
from talkme_consultant.store.models import Base, Conversation, DialogMessage, Lead, OutboxCall
from talkme_consultant.store.outbox import Claimed, ClaimRequest
from talkme_consultant.store.owner_records import OWNER_FAQ_SOURCE
from talkme_consultant.store.questions import GroupCount, MarkOutcome
from talkme_consultant.store.store import Store
from talkme_consultant.store.turn_writes import PlannedCall, TurnResult

T0 = 1_700_000_000.0
DEBOUNCE = 1.0
MAX_WAIT = 4.0
LEASE = 30.0

TABLES = {
    "conversations",
    "inbound_messages",
    "dialog_messages",
    "outbox",
    "events",
    "leads",
    "kb_files",
    "kb_records",
    "kb_state",
    "embedding_cache",
    "handed_over_questions",
    "operator_answers",
    "sync_cursors",
    "owner_faq",
    "record_phrasings",
    "open_questions",
    "console_secrets",
    "console_sessions",
}


PHONE = "+79161234567"
# Every table with rows that belong to one visitor.
PERSONAL_TABLES = {
    "conversations",
    "inbound_messages",
    "dialog_messages",
    "outbox",
    "events",
    "leads",
    "handed_over_questions",
    "operator_answers",
    "open_questions",
}


async def rows_mentioning(store: Store, needle: str) -> dict[str, int]:
    """How many rows of each table hold `needle` in any column (tables with none left out)."""
    found: dict[str, int] = {}
    async with store.engine.connect() as connection:
        for table in sorted(TABLES):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            count = sum(1 for row in rows if any(needle in str(value) for value in row))
            if count:
                found[table] = count
    return found


def incoming(
    key: str = "visitor-1",
    number: int | None = 1,
    text: str = "Здравствуйте",
    *,
    token: str = "token-1",
    client_name: str | None = "Анна",
    phone: str | None = None,
    attachment: bool = False,
) -> IncomingMessage:
    """A webhook message as the webhook hands it to the inbox (`number` → dedup key)."""
    return IncomingMessage(
        conversation_key=key,
        dedup_key=f"site:{key}:{number}" if number is not None else None,
        text=text,
        is_attachment=attachment,
        token=token,
        site_id="site",
        client_name=client_name,
        phone=phone,
        dialog_id=77,
    )


async def accept(store: Store, message: IncomingMessage, at: float) -> bool:
    return await store.inbox.accept(message, now=at, debounce=DEBOUNCE, max_wait=MAX_WAIT)


# What the service adds to the engine's outcome; every other keyword is the outcome's.
RESULT_FIELDS = {"calls", "budget_day", "handed_over_question"}


def turn(
    consumed: list[int],
    visitor: str = "Здравствуйте",
    bot: str | None = "Добрый день!",
    **kwargs: Any,
) -> TurnResult:
    added = {name: kwargs.pop(name) for name in RESULT_FIELDS & kwargs.keys()}
    outcome = TurnOutcome(visitor_text=visitor, replies=[bot] if bot else [], **kwargs)
    return TurnResult(consumed_ids=consumed, outcome=outcome, **added)


def send(text: str) -> PlannedCall:
    return PlannedCall("customBot/send", {"content": {"text": text}})


async def pending_ids(store: Store, key: str) -> list[int]:
    return [m.id for m in await store.conversations.pending_messages(key)]


def json_text(call: OutboxCall) -> str:
    """The text a `customBot/send` call carries."""
    body: dict[str, Any] = json.loads(call.body)
    return str(body["content"]["text"])


async def outbox_rows(store: Store) -> list[OutboxCall]:
    return sorted(await store.outbox.list_calls(limit=1000), key=lambda call: call.id)


def record(file: str, row: int, text: str) -> Record:
    return Record(
        text=text,
        title=text.split(".")[0],
        answer=text,
        source=Source(file=file, row=row),
        fields={"Услуга": text.split(".")[0]},
    )


def file_update(name: str, records: list[Record], *, error: str | None = None) -> FileUpdate:
    content = ("\n".join(r.text for r in records) or name).encode()
    return FileUpdate(
        name=name,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        origin="upload",
        records=records,
        error=error,
    )


def small_file(number: int) -> FileUpdate:
    name = f"f{number}.md"
    return file_update(name, [record(name, 1, f"Текст {number}.")])


def _schema(connection: Connection) -> tuple[set[str], list[Any], str | None]:
    tables = set(inspect(connection).get_table_names())
    diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return tables, diff, revision


class StoreSpec:
    """The store's behaviour; subclasses bind it to a backend through the `store` fixture."""

    # -- schema ---------------------------------------------------------------------------

    async def test_migrations_create_the_schema_the_models_describe(self, store: Store) -> None:
        async with store.engine.connect() as connection:
            tables, diff, revision = await connection.run_sync(_schema)
        assert tables >= TABLES
        assert diff == [], "the migrations and the models disagree"
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        assert revision == ScriptDirectory.from_config(config).get_current_head()

    async def test_migrating_an_up_to_date_database_keeps_its_data(
        self, store: Store, store_url: str
    ) -> None:
        assert await accept(store, incoming(), T0)
        await migrate(store_url)
        assert len(await store.conversations.pending_messages("visitor-1")) == 1

    # -- inbox ----------------------------------------------------------------------------

    async def test_an_accepted_message_is_stored_and_schedules_its_conversation(
        self, store: Store
    ) -> None:
        assert await accept(store, incoming(text="Сколько стоит стрижка?"), T0)

        [message] = await store.conversations.pending_messages("visitor-1")
        assert (message.text, message.received_at, message.processed_at) == (
            "Сколько стоит стрижка?",
            T0,
            None,
        )
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert conversation.token == "token-1"
        assert conversation.state == "bot"
        assert conversation.messages_count == 1
        assert conversation.client_name == "Анна"
        assert conversation.dialog_id == 77
        assert conversation.due_at == T0 + DEBOUNCE
        assert conversation.first_pending_at == T0
        assert conversation.lease_owner is None

    async def test_a_repeated_dedup_key_is_refused_and_changes_nothing(self, store: Store) -> None:
        assert await accept(store, incoming(number=5), T0) is True
        assert await accept(store, incoming(number=5, text="again"), T0 + 0.5) is False

        assert [m.text for m in await store.conversations.pending_messages("visitor-1")] == [
            "Здравствуйте"
        ]
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert conversation.messages_count == 1
        assert conversation.due_at == T0 + DEBOUNCE, "a duplicate must not delay the turn"
        assert (await store.stats.totals()).messages_received == 1

    async def test_the_same_message_id_in_another_conversation_is_another_message(
        self, store: Store
    ) -> None:
        assert await accept(store, incoming("visitor-1", 5), T0)
        assert await accept(store, incoming("visitor-2", 5), T0)
        assert (await store.stats.totals()).messages_received == 2

    async def test_a_message_the_store_refuses_fails_alone_among_concurrent_ones(
        self, store: Store
    ) -> None:
        # A dialog id past signed 64 bits is refused by both backends; arriving together with
        # good messages (one group commit on SQLite) it must not take them down with it.
        def unstorable(number: int) -> IncomingMessage:
            good = incoming(f"bad-{number}", number)
            return IncomingMessage(**{**good.__dict__, "dialog_id": 2**63})

        messages = [
            unstorable(n) if n % 10 == 3 else incoming(f"visitor-{n}", n) for n in range(40)
        ]
        outcomes = await asyncio.gather(
            *(accept(store, message, T0) for message in messages), return_exceptions=True
        )

        refused = [
            m.conversation_key for m, o in zip(messages, outcomes, strict=True) if o is not True
        ]
        assert refused == ["bad-3", "bad-13", "bad-23", "bad-33"]
        assert all(isinstance(o, Exception) for o in outcomes if o is not True)
        assert (await store.stats.totals()).messages_received == 36
        for message in messages:
            stored = await store.conversations.get(message.conversation_key)
            assert (stored is None) == message.conversation_key.startswith("bad-")

    async def test_messages_arriving_together_schedule_their_turn_as_one_by_one_would(
        self, store: Store
    ) -> None:
        # Concurrent webhooks are committed as one batch; the conversation must end up as if
        # each had been stored on its own, in arrival order.
        assert await accept(store, incoming("visitor-1", 0, "Здравствуйте", phone="+7900"), T0)
        names = [None, "Мария", None, "Ольга", None]
        together = [
            incoming("visitor-1", n + 1, f"вопрос {n + 1}", client_name=name, phone=None)
            for n, name in enumerate(names)
        ] + [incoming("visitor-2", 1, "Добрый день", client_name=None)]
        outcomes = await asyncio.gather(
            *(accept(store, message, T0 + 0.5 * (n + 1)) for n, message in enumerate(together))
        )

        assert outcomes == [True] * 6
        texts = [m.text for m in await store.conversations.pending_messages("visitor-1")]
        assert texts == ["Здравствуйте", "вопрос 1", "вопрос 2", "вопрос 3", "вопрос 4", "вопрос 5"]
        first = await store.conversations.get("visitor-1")
        assert first is not None
        assert first.messages_count == 6
        assert (first.client_name, first.phone) == ("Ольга", "+7900")
        assert first.first_pending_at == T0
        assert first.last_activity == T0 + 2.5
        # The last message (T0 + 2.5) pushes the turn to T0 + 3.5, within T0 + MAX_WAIT.
        assert first.due_at == T0 + 3.5
        second = await store.conversations.get("visitor-2")
        assert second is not None
        assert (second.messages_count, second.client_name, second.created_at) == (1, None, T0 + 3)
        assert second.due_at == T0 + 3 + DEBOUNCE

    async def test_messages_arriving_together_keep_each_its_own_debounce_window(
        self, store: Store
    ) -> None:
        # As one by one: the last message's window decides, counted from the first waiting one.
        async def send(key: str, number: int, at: float, debounce: float, max_wait: float) -> bool:
            return await store.inbox.accept(
                incoming(key, number), now=at, debounce=debounce, max_wait=max_wait
            )

        assert await send("visitor-1", 1, T0, 10, 100)
        outcomes = await asyncio.gather(
            send("visitor-1", 2, T0 + 1, 10, 100),
            send("visitor-1", 3, T0 + 2, 3, 100),
            send("visitor-2", 1, T0 + 1, 1, 100),
            send("visitor-2", 2, T0 + 2, 50, 20),
        )

        assert list(outcomes) == [True] * 4
        first = await store.conversations.get("visitor-1")
        second = await store.conversations.get("visitor-2")
        assert first is not None and second is not None
        assert first.due_at == T0 + 2 + 3
        assert second.due_at == T0 + 1 + 20

    async def test_a_message_sent_twice_at_once_is_stored_once(self, store: Store) -> None:
        outcomes = await asyncio.gather(
            accept(store, incoming(number=7, text="первый"), T0),
            accept(store, incoming(number=7, text="повтор"), T0 + 0.1),
            accept(store, incoming(number=8, text="другой"), T0 + 0.2),
        )

        assert list(outcomes) == [True, False, True]
        texts = [m.text for m in await store.conversations.pending_messages("visitor-1")]
        assert texts == ["первый", "другой"]
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert conversation.messages_count == 2

    async def test_messages_without_a_dedup_key_are_all_kept(self, store: Store) -> None:
        assert await accept(store, incoming(number=None), T0)
        assert await accept(store, incoming(number=None), T0 + 0.1)
        assert len(await store.conversations.pending_messages("visitor-1")) == 2

    async def test_debounce_moves_the_due_time_but_never_past_max_wait(self, store: Store) -> None:
        async def due_after(number: int, at: float) -> float | None:
            assert await accept(store, incoming(number=number), at)
            conversation = await store.conversations.get("visitor-1")
            assert conversation is not None
            assert conversation.first_pending_at == T0, "the window starts at the first message"
            return conversation.due_at

        assert await due_after(1, T0) == T0 + 1.0
        assert await due_after(2, T0 + 0.5) == T0 + 1.5
        assert await due_after(3, T0 + 2.0) == T0 + 3.0
        # Capped at first + max_wait (T0 + 4) from here on, however chatty the visitor is.
        assert await due_after(4, T0 + 3.5) == T0 + MAX_WAIT
        assert await due_after(5, T0 + 3.9) == T0 + MAX_WAIT
        assert await due_after(6, T0 + 10.0) == T0 + MAX_WAIT

    async def test_after_a_turn_the_window_starts_again_from_the_next_message(
        self, store: Store
    ) -> None:
        assert await accept(store, incoming(number=1), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=LEASE)
        ids = await pending_ids(store, "visitor-1")
        assert await store.conversations.finish_turn("visitor-1", "a", turn(ids), now=T0 + 2)

        assert await accept(store, incoming(number=2), T0 + 100)
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert conversation.first_pending_at == T0 + 100
        assert conversation.due_at == T0 + 100 + DEBOUNCE

    async def test_a_new_message_renews_the_token_and_gives_the_dialogue_back_to_the_bot(
        self, store: Store
    ) -> None:
        assert await accept(store, incoming(number=1, phone="+79161234567"), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=LEASE)
        ids = await pending_ids(store, "visitor-1")
        finished = turn(ids, bot="Передаю администратору", handed_off=True)
        assert await store.conversations.finish_turn("visitor-1", "a", finished, now=T0 + 2)
        before = await store.conversations.get("visitor-1")
        assert before is not None
        assert before.state == "operator"

        renewed = incoming(number=2, token="token-2", client_name=None, phone=None)
        assert await accept(store, renewed, T0 + 60)
        after = await store.conversations.get("visitor-1")
        assert after is not None
        assert after.state == "bot"
        assert after.token == "token-2"
        assert after.messages_count == 2
        assert after.last_activity == T0 + 60
        # What a later webhook leaves out is kept, not wiped.
        assert after.client_name == "Анна"
        assert after.phone == "+79161234567"

    # -- conversations: leases ------------------------------------------------------------

    async def test_a_conversation_is_claimable_only_once_it_is_due(self, store: Store) -> None:
        assert await accept(store, incoming(), T0)
        early = await store.conversations.claim("visitor-1", "a", now=T0, lease_seconds=LEASE)
        assert early is None
        assert await store.conversations.due_keys(T0, limit=10) == []
        assert await store.conversations.due_keys(T0 + DEBOUNCE, limit=10) == ["visitor-1"]
        claimed = await store.conversations.claim(
            "visitor-1", "a", now=T0 + DEBOUNCE, lease_seconds=LEASE
        )
        assert claimed is not None
        assert (claimed.key, claimed.lease_owner) == ("visitor-1", "a")
        assert claimed.lease_until == T0 + DEBOUNCE + LEASE

    async def test_two_concurrent_claimers_get_the_lease_exactly_once(self, store: Store) -> None:
        assert await accept(store, incoming(), T0)
        now = T0 + 5
        results = await asyncio.gather(
            *(
                store.conversations.claim("visitor-1", owner, now=now, lease_seconds=LEASE)
                for owner in ("worker-a", "worker-b")
            )
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        winner = winners[0].lease_owner
        assert winner in ("worker-a", "worker-b")
        stored = await store.conversations.get("visitor-1")
        assert stored is not None
        assert stored.lease_owner == winner

        # Not again while the lease lives: not to the loser, not to the winner, not to a third.
        for owner in ("worker-a", "worker-b", "worker-c"):
            again = await store.conversations.claim(
                "visitor-1", owner, now=now + 1, lease_seconds=LEASE
            )
            assert again is None
        assert await store.conversations.due_keys(now + 1, limit=10) == []

    async def test_many_concurrent_claimers_still_make_one_winner(self, store: Store) -> None:
        assert await accept(store, incoming(), T0)
        results = await asyncio.gather(
            *(
                store.conversations.claim("visitor-1", f"w{i}", now=T0 + 5, lease_seconds=LEASE)
                for i in range(8)
            )
        )
        assert sum(r is not None for r in results) == 1

    async def test_a_released_lease_can_be_claimed_again(self, store: Store) -> None:
        assert await accept(store, incoming(), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=LEASE)

        # Only the holder can release it.
        await store.conversations.release("visitor-1", "b")
        assert not await store.conversations.claim("visitor-1", "b", now=T0 + 2, lease_seconds=1)

        await store.conversations.release("visitor-1", "a")
        claimed = await store.conversations.claim("visitor-1", "b", now=T0 + 2, lease_seconds=1)
        assert claimed is not None
        assert claimed.lease_owner == "b"

    async def test_a_release_with_retry_at_postpones_the_turn(self, store: Store) -> None:
        assert await accept(store, incoming(), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=LEASE)
        await store.conversations.release("visitor-1", "a", retry_at=T0 + 20)
        assert not await store.conversations.claim("visitor-1", "b", now=T0 + 10, lease_seconds=1)
        assert await store.conversations.claim("visitor-1", "b", now=T0 + 20, lease_seconds=1)

    async def test_an_expired_lease_can_be_taken_over(self, store: Store) -> None:
        assert await accept(store, incoming(), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=10)
        assert not await store.conversations.claim("visitor-1", "b", now=T0 + 10, lease_seconds=10)
        taken = await store.conversations.claim("visitor-1", "b", now=T0 + 11.5, lease_seconds=10)
        assert taken is not None
        assert taken.lease_owner == "b"

    async def test_extend_lease_keeps_a_long_turn_ours(self, store: Store) -> None:
        assert await accept(store, incoming(), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=10)
        assert await store.conversations.extend_lease("visitor-1", "a", T0 + 100)
        assert not await store.conversations.claim("visitor-1", "b", now=T0 + 50, lease_seconds=1)
        assert not await store.conversations.extend_lease("visitor-1", "b", T0 + 200)

    async def test_next_due_at_waits_for_a_live_lease(self, store: Store) -> None:
        assert await store.conversations.next_due_at() is None
        assert await accept(store, incoming("visitor-1"), T0)
        assert await store.conversations.next_due_at() == T0 + DEBOUNCE
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=60)
        # Leased: it cannot run before the lease ends.
        assert await store.conversations.next_due_at() == T0 + 61
        assert await accept(store, incoming("visitor-2"), T0 + 5)
        assert await store.conversations.next_due_at() == T0 + 5 + DEBOUNCE

    async def test_one_look_gives_the_due_conversations_and_when_the_next_is_due(
        self, store: Store
    ) -> None:
        nothing = await store.conversations.schedule(T0, limit=10)
        assert (nothing.due, nothing.next_at) == ([], None)
        assert await accept(store, incoming("visitor-1"), T0)
        assert await accept(store, incoming("visitor-2"), T0 + 0.5)
        early = await store.conversations.schedule(T0, limit=10)
        assert (early.due, early.next_at) == ([], T0 + DEBOUNCE)
        due = await store.conversations.schedule(T0 + 2, limit=10)
        # Due now, oldest first; what is due now is not a later due time to wake for.
        assert (due.due, due.next_at) == (["visitor-1", "visitor-2"], None)
        assert (await store.conversations.schedule(T0 + 2, limit=1)).due == ["visitor-1"]
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 2, lease_seconds=60)
        leased = await store.conversations.schedule(T0 + 3, limit=10)
        # Leased: due again only when its lease runs out.
        assert (leased.due, leased.next_at) == (["visitor-2"], T0 + 62)

    # -- conversations: starting a turn ---------------------------------------------------

    async def test_begin_turn_claims_and_reads_the_turn_in_one_go_typing_once(
        self, store: Store
    ) -> None:
        typing = [PlannedCall("customBot/simulateTyping", {"ttl": 5})]
        plan = TurnPlan(LEASE, 3, 3000, 40, 8000, typing)
        assert await accept(store, incoming(number=1, text="Здравствуйте"), T0)
        assert await store.conversations.begin_turn("visitor-1", "a", plan, now=T0) is None, (
            "not due yet"
        )
        first = await store.conversations.begin_turn("visitor-1", "a", plan, now=T0 + 2)
        assert first is not None and first.typing
        assert first.pending.texts == ["Здравствуйте"] and first.history == []
        assert await store.conversations.begin_turn("visitor-1", "b", plan, now=T0 + 3) is None, (
            "held by a"
        )
        result = turn(first.pending.ids, bot="Добрый день!", calls=[send("Добрый день!")])
        assert await store.conversations.finish_turn("visitor-1", "a", result, now=T0 + 3)

        assert await accept(store, incoming(number=2, text="сколько стоит стрижка?"), T0 + 4)
        assert await store.conversations.record_failed_attempt("visitor-1", "x") is None
        second = await store.conversations.begin_turn("visitor-1", "b", plan, now=T0 + 10)
        assert second is not None and second.pending.texts == ["сколько стоит стрижка?"]
        assert [(m.role, m.text) for m in second.history] == [
            ("visitor", "Здравствуйте"),
            ("bot", "Добрый день!"),
        ]
        assert await store.conversations.record_failed_attempt("visitor-1", "b") == 1
        await store.conversations.release("visitor-1", "b", retry_at=T0 + 11)
        retried = await store.conversations.begin_turn("visitor-1", "b", plan, now=T0 + 12)
        assert retried is not None and not retried.typing, "a retried attempt types no more"
        async with store.engine.connect() as connection:
            typings = await connection.scalar(
                select(func.count())
                .select_from(OutboxCall)
                .where(OutboxCall.method == "customBot/simulateTyping")
            )
        assert typings == 2, "one per turn: the first and the second, not the retry"

    # -- conversations: finishing a turn --------------------------------------------------

    async def test_finish_turn_consumes_remembers_queues_and_clears_the_due_time(
        self, store: Store
    ) -> None:
        assert await accept(store, incoming(number=1, text="Здравствуйте"), T0)
        assert await accept(store, incoming(number=2, text="сколько стоит стрижка?"), T0 + 0.2)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 2, lease_seconds=LEASE)
        ids = await pending_ids(store, "visitor-1")
        result = turn(
            ids,
            visitor="Здравствуйте\nсколько стоит стрижка?",
            bot="Стрижка стоит 1500 ₽.",
            calls=[send("Стрижка стоит 1500 ₽."), PlannedCall("customBot/finish", {"code": "X"})],
            events=[TurnEvent(EventKind.HANDOFF, {"reason": "visitor_request"})],
            meta={"intent": "answer"},
            prompt_tokens=100,
            completion_tokens=20,
            cost=0.5,
            visitor_name="Анна",
            summary="Спрашивала про стрижку",
            summarized_upto=3,
        )
        ended = await store.conversations.finish_turn("visitor-1", "a", result, now=T0 + 3)
        assert ended == TurnEnd(still_due=False)

        assert await store.conversations.pending_messages("visitor-1") == []
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert conversation.due_at is None
        assert conversation.first_pending_at is None
        assert (conversation.lease_owner, conversation.lease_until) == (None, None)
        assert (conversation.prompt_tokens, conversation.completion_tokens) == (100, 20)
        assert conversation.cost == 0.5
        assert conversation.visitor_name == "Анна"
        assert (conversation.summary, conversation.summarized_upto) == (
            "Спрашивала про стрижку",
            3,
        )
        history = await store.conversations.history("visitor-1")
        assert [(m.role, m.text) for m in history] == [
            ("visitor", "Здравствуйте\nсколько стоит стрижка?"),
            ("bot", "Стрижка стоит 1500 ₽."),
        ]
        calls = await outbox_rows(store)
        assert [(c.method, c.status, c.token) for c in calls] == [
            ("customBot/send", "pending", "token-1"),
            ("customBot/finish", "pending", "token-1"),
        ]
        events = await store.stats.events(conversation_key="visitor-1")
        assert [(e["kind"], e["data"]) for e in events] == [
            ("handoff", {"reason": "visitor_request"})
        ]
        assert await store.conversations.due_keys(T0 + 100, limit=10) == []
        assert await store.conversations.next_due_at() is None

    async def test_a_message_arriving_during_the_turn_keeps_the_conversation_due(
        self, store: Store
    ) -> None:
        assert await accept(store, incoming(number=1, text="первое"), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=LEASE)
        ids = await pending_ids(store, "visitor-1")
        # The visitor writes again while the turn is being answered.
        assert await accept(store, incoming(number=2, text="второе"), T0 + 1.5)
        ended = await store.conversations.finish_turn("visitor-1", "a", turn(ids), now=T0 + 2)
        assert ended == TurnEnd(still_due=True), "the scheduler is told to look again"

        assert [m.text for m in await store.conversations.pending_messages("visitor-1")] == [
            "второе"
        ]
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert conversation.due_at == T0 + 1.5 + DEBOUNCE
        assert conversation.lease_owner is None
        again = await store.conversations.claim("visitor-1", "b", now=T0 + 2.5, lease_seconds=LEASE)
        assert again is not None

    async def test_a_lost_lease_makes_finish_turn_write_nothing(self, store: Store) -> None:
        assert await accept(store, incoming(phone="+79161234567"), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=5)
        ids = await pending_ids(store, "visitor-1")
        # Worker a stalls past its lease; worker b takes the conversation over.
        assert await store.conversations.claim("visitor-1", "b", now=T0 + 10, lease_seconds=LEASE)

        late = turn(
            ids,
            calls=[send("late")],
            events=[TurnEvent(EventKind.LEAD, {})],
            lead=LeadInfo("Анна", "+79161234567", "стрижка", "summary"),
            handed_off=True,
            prompt_tokens=50,
        )
        assert await store.conversations.finish_turn("visitor-1", "a", late, now=T0 + 11) is None

        assert await pending_ids(store, "visitor-1") == ids
        assert await store.conversations.history("visitor-1") == []
        assert await outbox_rows(store) == []
        assert await store.stats.events() == []
        assert await store.stats.leads() == []
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert conversation.lease_owner == "b"
        assert conversation.state == "bot"
        assert conversation.prompt_tokens == 0
        assert await store.conversations.finish_turn("visitor-1", "b", turn(ids), now=T0 + 12)

    async def test_finish_turn_for_an_unknown_conversation_is_refused(self, store: Store) -> None:
        assert await store.conversations.finish_turn("nobody", "a", turn([]), now=T0) is None

    async def test_usage_adds_up_over_turns_and_a_lead_is_recorded_once_per_phone(
        self, store: Store
    ) -> None:
        lead = LeadInfo("Анна", "+79161234567", "стрижка", "хочет записаться")
        for number in (1, 2):
            at = T0 + number * 10
            assert await accept(store, incoming(number=number), at)
            assert await store.conversations.claim("visitor-1", "a", now=at + 1, lease_seconds=5)
            ids = await pending_ids(store, "visitor-1")
            result = turn(
                ids, lead=lead, phone="+79161234567", prompt_tokens=10, completion_tokens=3
            )
            assert await store.conversations.finish_turn("visitor-1", "a", result, now=at + 2)

        [stored] = await store.stats.leads()
        assert (stored.conversation_key, stored.name, stored.phone, stored.interest) == (
            "visitor-1",
            "Анна",
            "+79161234567",
            "стрижка",
        )
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert (conversation.prompt_tokens, conversation.completion_tokens) == (20, 6)
        assert conversation.phone == "+79161234567"
        totals = await store.stats.totals()
        assert (totals.prompt_tokens, totals.completion_tokens, totals.leads) == (20, 6, 1)

    async def test_history_returns_the_newest_messages_after_the_summary_oldest_first(
        self, store: Store
    ) -> None:
        for number in range(1, 5):
            at = T0 + number * 10
            assert await accept(store, incoming(number=number, text=f"q{number}"), at)
            assert await store.conversations.claim("visitor-1", "a", now=at + 1, lease_seconds=5)
            ids = await pending_ids(store, "visitor-1")
            result = turn(ids, visitor=f"q{number}", bot=f"a{number}")
            assert await store.conversations.finish_turn("visitor-1", "a", result, now=at + 2)

        everything = await store.conversations.history("visitor-1")
        assert [m.text for m in everything] == ["q1", "a1", "q2", "a2", "q3", "a3", "q4", "a4"]
        newest = await store.conversations.history("visitor-1", limit=3)
        assert [m.text for m in newest] == ["a3", "q4", "a4"]
        after = await store.conversations.history("visitor-1", after_id=everything[3].id)
        assert [m.text for m in after] == ["q3", "a3", "q4", "a4"]

    async def test_a_flood_is_read_for_a_turn_by_its_end_and_consumed_whole(
        self, store: Store
    ) -> None:
        flood = 1200
        for start in range(1, flood + 1, 100):
            batch = [
                accept(store, incoming(number=n, text=f"{n:05d}" + "ж" * 1995), T0 + n / 1000)
                for n in range(start, min(start + 100, flood + 1))
            ]
            assert all(await asyncio.gather(*batch))
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 10, lease_seconds=LEASE)

        pending = await store.conversations.pending_turn("visitor-1", max_chars=5000)
        assert len(pending.ids) == flood, "every waiting message belongs to the turn"
        assert [text[:5] for text in pending.texts] == ["01198", "01199", "01200"], (
            "only the newest texts that cover the limit are read, oldest first"
        )
        assert not pending.attachments_only
        result = turn(pending.ids, visitor="…" + pending.texts[-1][-100:])
        assert await store.conversations.finish_turn("visitor-1", "a", result, now=T0 + 11)
        assert await pending_ids(store, "visitor-1") == []
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None and conversation.due_at is None

    async def test_a_turn_of_attachments_only_is_marked_as_such(self, store: Store) -> None:
        assert await accept(store, incoming(number=1, text="https://x/1.jpg", attachment=True), T0)
        assert await accept(store, incoming(number=2, text="https://x/2.jpg", attachment=True), T0)
        pending = await store.conversations.pending_turn("visitor-1", max_chars=10)
        assert pending.attachments_only
        assert pending.texts == ["https://x/2.jpg"]
        assert await accept(store, incoming(number=3, text="а это что?"), T0)
        mixed = await store.conversations.pending_turn("visitor-1", max_chars=10)
        assert not mixed.attachments_only
        assert len(mixed.ids) == 3

    async def test_model_tokens_add_up_per_budget_day_and_a_new_day_starts_afresh(
        self, store: Store
    ) -> None:
        days = ["2026-11-29", "2026-11-29", "2026-11-30"]
        for number, day in enumerate(days, start=1):
            at = T0 + number * 10
            assert await accept(store, incoming(number=number, text=f"q{number}"), at)
            assert await store.conversations.claim("visitor-1", "a", now=at + 1, lease_seconds=5)
            ids = await pending_ids(store, "visitor-1")
            result = turn(ids, prompt_tokens=300, completion_tokens=40, budget_day=day)
            assert await store.conversations.finish_turn("visitor-1", "a", result, now=at + 2)
            conversation = await store.conversations.get("visitor-1")
            assert conversation is not None
            if number == 2:
                assert (conversation.budget_day, conversation.budget_tokens) == (day, 680)
        assert conversation is not None
        assert (conversation.budget_day, conversation.budget_tokens) == ("2026-11-30", 340)
        assert conversation.prompt_tokens == 900, "the lifetime total keeps counting"

    async def test_a_turn_without_a_budget_day_leaves_the_budget_alone(self, store: Store) -> None:
        assert await accept(store, incoming(number=1), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=5)
        assert await store.conversations.finish_turn(
            "visitor-1", "a", turn([], bot=None), now=T0 + 2
        )
        conversation = await store.conversations.get("visitor-1")
        assert conversation is not None
        assert (conversation.budget_day, conversation.budget_tokens) == (None, 0)

    async def test_history_can_read_huge_messages_by_their_end_only(self, store: Store) -> None:
        assert await accept(store, incoming(number=1, text="q1"), T0)
        assert await store.conversations.claim("visitor-1", "a", now=T0 + 1, lease_seconds=5)
        ids = await pending_ids(store, "visitor-1")
        huge = "начало " + "ы" * 100_000 + " конец"
        result = turn(ids, visitor=huge, bot="короткий ответ")
        assert await store.conversations.finish_turn("visitor-1", "a", result, now=T0 + 2)

        cut = await store.conversations.history("visitor-1", max_chars=50)
        assert [m.role for m in cut] == ["visitor", "bot"]
        assert cut[0].text == "…" + "ы" * 43 + " конец"
        assert cut[1].text == "короткий ответ", "a short message is read whole"
        [stored, _] = await store.conversations.history("visitor-1")
        assert stored.text == huge, "the stored message itself is unchanged"

    async def test_deleting_conversations(self, store: Store) -> None:
        for key in ("visitor-1", "visitor-2", "visitor-3"):
            assert await accept(store, incoming(key), T0)

        assert await store.conversations.delete("visitor-1", now=T0) is True
        assert await store.conversations.get("visitor-1") is None
        assert await store.conversations.pending_messages("visitor-1") == []
        assert await store.conversations.delete("visitor-1", now=T0) is False
        assert await store.conversations.delete("nobody", now=T0) is False

        assert await store.conversations.delete_all(now=T0) == 2
        assert (await store.stats.totals()).total_sessions == 0

    async def _visitor_with_everything(self, store: Store, key: str) -> None:
        """A visitor who left a phone and became a lead, with a reply queued and a new message
        waiting: a row in every table that holds personal data."""
        text = f"Запишите меня, {PHONE}"
        message = incoming(key, 1, text, token=f"token-{key}", phone=PHONE)
        assert await accept(store, message, T0)
        assert await store.conversations.claim(key, "a", now=T0 + 2, lease_seconds=LEASE)
        result = turn(
            await pending_ids(store, key),
            visitor=text,
            bot="Записал, перезвоним!",
            calls=[send("Записал, перезвоним!")],
            events=[
                TurnEvent(EventKind.HANDOFF, {"reason": "booking", "text": text}),
                TurnEvent(EventKind.UNANSWERED, {"question": text, "reason": "low_confidence"}),
            ],
            lead=LeadInfo("Анна", PHONE, "стрижка", text),
            phone=PHONE,
            handed_over_question=text,
        )
        assert await store.conversations.finish_turn(key, "a", result, now=T0 + 3)
        [question] = await store.operator_answers.waiting(since=T0, limit=10, keys=[key])
        assert await store.operator_answers.record_answer(
            question, f"Перезвоним на {PHONE}", T0 + 3.5, T0 + 3.6
        )
        assert await accept(store, incoming(key, 2, "И ещё вопрос", token=f"token-{key}"), T0 + 4)
        await store.questions.collect()

    async def test_forgetting_a_visitor_erases_every_row_about_them(self, store: Store) -> None:
        await self._visitor_with_everything(store, "visitor-1")
        await self._visitor_with_everything(store, "visitor-2")
        # visitor-1's reply is being sent at the moment the owner deletes the session.
        in_flight = await store.outbox.claim_ready(T0 + 5, LEASE, 10, "dispatcher")
        assert {c.conversation_key for c in in_flight} == {"visitor-1", "visitor-2"}
        assert set(await rows_mentioning(store, "visitor-1")) == PERSONAL_TABLES

        assert await store.conversations.delete("visitor-1", now=T0) is True
        for call in in_flight:
            await store.outbox.mark_done(call.id, "sent", T0 + 6)

        assert await rows_mentioning(store, "visitor-1") == {}
        assert await rows_mentioning(store, "token-visitor-1") == {}
        assert set(await rows_mentioning(store, "visitor-2")) == PERSONAL_TABLES, "others stay"
        assert await store.conversations.delete("visitor-1", now=T0) is False

    async def test_forgetting_every_visitor_keeps_only_what_belongs_to_no_one(
        self, store: Store
    ) -> None:
        await self._visitor_with_everything(store, "visitor-1")
        await self._visitor_with_everything(store, "visitor-2")
        await store.conversations.record_event(None, "llm_outage", {"status": 503}, T0 + 7)

        assert await store.conversations.delete_all(now=T0) == 2

        assert await rows_mentioning(store, PHONE) == {}
        assert await rows_mentioning(store, "token-visitor") == {}
        assert await rows_mentioning(store, "Запишите") == {}
        assert [e["kind"] for e in await store.stats.events()] == ["llm_outage"]

    async def test_a_store_error_never_shows_the_values_it_was_given(self, store: Store) -> None:
        await self._visitor_with_everything(store, "visitor-1")
        token = "tm-4f9c2a7d1e8b6a3c5d0f-second"
        duplicate = insert(Conversation).values(
            key="visitor-1", token=token, phone=PHONE, created_at=T0, last_activity=T0
        )
        same_lead = insert(Lead).values(conversation_key="visitor-1", phone=PHONE, created_at=T0)
        for statement in (duplicate, same_lead):
            with pytest.raises(IntegrityError) as caught:
                async with store.engine.begin() as connection:
                    await connection.execute(statement)
            assert token not in str(caught.value)
            assert "parameters hidden" in str(caught.value)
            error = caught.value
            record = logging.LogRecord(
                "talkme.test",
                logging.ERROR,
                __file__,
                1,
                "turn failed",
                (),
                (type(error), error, error.__traceback__),
            )
            line = JsonFormatter().format(record)
            assert "IntegrityError" in line
            assert token not in line
            assert "9161234567" not in line, "PostgreSQL's DETAIL names the phone; it is masked"

    # -- outbox ---------------------------------------------------------------------------

    async def _queue(self, store: Store, plan: list[tuple[str, str]], at: float = T0) -> None:
        """Queue calls in this order, each (conversation, text), as turns of worker "a" do."""
        held: set[str] = set()
        for key, body in plan:
            if key not in held:
                assert await accept(store, incoming(key, token=f"token-{key}"), at - 10)
                assert await store.conversations.claim(key, "a", now=at - 5, lease_seconds=LEASE)
                held.add(key)
            queued = await store.conversations.enqueue_calls(
                key, "a", f"token-{key}", [send(body)], now=at
            )
            assert queued

    async def test_calls_are_queued_only_while_the_turn_holds_its_conversation(
        self, store: Store
    ) -> None:
        await self._queue(store, [("A", "a1")])
        typing = [PlannedCall("customBot/simulateTyping", {"ttl": 5})]
        assert not await store.conversations.enqueue_calls("A", "b", "token-A", typing, now=T0)
        assert await store.conversations.delete("A", now=T0)
        assert not await store.conversations.enqueue_calls("A", "a", "token-A", typing, now=T0)
        assert await rows_mentioning(store, "token-A") == {}

    async def test_claim_ready_gives_only_the_head_call_of_each_conversation_in_order(
        self, store: Store
    ) -> None:
        await self._queue(store, [("A", "a1"), ("B", "b1"), ("A", "a2"), ("B", "b2"), ("A", "a3")])

        async def claim(at: float) -> list[str]:
            calls = await store.outbox.claim_ready(at, LEASE, 10)
            return [json_text(call) for call in calls]

        assert await claim(T0) == ["a1", "b1"]
        # Both heads are leased: nothing else may go, not even the next call of A.
        assert await claim(T0 + 1) == []
        a1, b1, a2, b2, a3 = await outbox_rows(store)
        await store.outbox.mark_done(a1.id, "sent", T0 + 1)
        assert await claim(T0 + 2) == ["a2"]
        await store.outbox.mark_done(b1.id, "sent", T0 + 2)
        await store.outbox.mark_done(a2.id, "sent", T0 + 2)
        assert await claim(T0 + 3) == ["b2", "a3"]
        await store.outbox.mark_done(b2.id, "sent", T0 + 3)
        await store.outbox.mark_done(a3.id, "sent", T0 + 3)
        assert await claim(T0 + 4) == []
        assert {c.status for c in await outbox_rows(store)} == {"sent"}

    async def test_a_claim_that_leases_nothing_says_when_the_next_call_can_go(
        self, store: Store
    ) -> None:
        request = ClaimRequest(LEASE, 10, "dispatcher")
        assert await store.outbox.claim(T0, request) == Claimed([], None)
        await self._queue(store, [("A", "a1"), ("A", "a2")])
        [a1] = (await store.outbox.claim(T0, request)).calls
        leased = await store.outbox.claim(T0 + 1, request)
        assert (leased.calls, leased.next_at) == ([], T0 + LEASE), "the head's lease end"
        assert await store.outbox.mark_retry(a1.id, "busy", T0 + 5) is None
        later = await store.outbox.claim(T0 + 2, request)
        assert (later.calls, later.next_at) == ([], T0 + 5), "a2 waits for its head's retry"

    async def test_a_calls_mark_can_claim_the_next_calls_in_its_transaction(
        self, store: Store
    ) -> None:
        request = ClaimRequest(LEASE, 10, "dispatcher")
        await self._queue(store, [("A", "a1"), ("A", "a2")])
        [a1] = (await store.outbox.claim(T0, request)).calls
        then = await store.outbox.mark_done(a1.id, CallStatus.SENT, T0 + 1, then_claim=request)
        assert then is not None
        assert [json_text(call) for call in then.calls] == ["a2"], "freed by the mark itself"
        [a2] = then.calls
        failed = await store.outbox.mark_failed(a2.id, "gone", T0 + 2, then_claim=request)
        assert failed == Claimed([], None), "nothing left to go"
        assert [c.status for c in await outbox_rows(store)] == ["sent", "failed"]

    async def test_claim_ready_honours_its_limit(self, store: Store) -> None:
        await self._queue(store, [("A", "a1"), ("B", "b1"), ("C", "c1")])
        first = await store.outbox.claim_ready(T0, LEASE, 2)
        assert [json_text(c) for c in first] == ["a1", "b1"]
        assert [json_text(c) for c in await store.outbox.claim_ready(T0, LEASE, 2)] == ["c1"]

    async def test_a_leased_call_is_not_claimed_again_until_its_lease_expires(
        self, store: Store
    ) -> None:
        await self._queue(store, [("A", "a1")])
        [call] = await store.outbox.claim_ready(T0, 10, 10)
        assert call.lease_until == T0 + 10
        assert await store.outbox.claim_ready(T0 + 9, 10, 10) == []
        [again] = await store.outbox.claim_ready(T0 + 10.5, 10, 10)
        assert again.id == call.id
        assert again.attempts == 0, "a lost lease is not an attempt"

    async def test_concurrent_dispatchers_never_claim_the_same_call(self, store: Store) -> None:
        await self._queue(store, [(f"C{i}", f"m{i}") for i in range(6)])
        batches = await asyncio.gather(*(store.outbox.claim_ready(T0, LEASE, 10) for _ in range(3)))
        ids = [call.id for batch in batches for call in batch]
        assert len(ids) == len(set(ids)) == 6

    async def test_a_call_waiting_for_its_retry_holds_back_its_conversation(
        self, store: Store
    ) -> None:
        await self._queue(store, [("A", "a1"), ("A", "a2"), ("B", "b1")])
        claimed = await store.outbox.claim_ready(T0, LEASE, 10)
        a1 = next(c for c in claimed if json_text(c) == "a1")
        await store.outbox.mark_retry(a1.id, "HTTP 500", T0 + 30)

        assert await store.outbox.claim_ready(T0 + 1, LEASE, 10) == []
        assert await store.outbox.claim_ready(T0 + 29.9, LEASE, 10) == []
        [retried] = await store.outbox.claim_ready(T0 + 30, LEASE, 10)
        assert json_text(retried) == "a1"
        assert (retried.attempts, retried.last_error, retried.status) == (1, "HTTP 500", "pending")

    async def test_next_attempt_at_is_when_a_call_can_actually_go(self, store: Store) -> None:
        assert await store.outbox.next_attempt_at() is None
        await self._queue(store, [("A", "a1"), ("A", "a2")])
        assert await store.outbox.next_attempt_at() == T0
        [a1] = await store.outbox.claim_ready(T0, 10, 10)
        # In flight: nothing can go before its lease runs out.
        assert await store.outbox.next_attempt_at() == T0 + 10
        await store.outbox.mark_retry(a1.id, "HTTP 500", T0 + 30)
        # a2 cannot go before a1, and a1 not before T0 + 30: a dispatcher sleeps until then.
        assert await store.outbox.claim_ready(T0 + 1, LEASE, 10) == []
        assert await store.outbox.next_attempt_at() == T0 + 30

    async def test_mark_done_records_the_outcome(self, store: Store) -> None:
        await self._queue(store, [("A", "a1"), ("B", "b1")])
        a1, b1 = await store.outbox.claim_ready(T0, LEASE, 10)
        await store.outbox.mark_retry(a1.id, "timeout", T0)
        [a1] = await store.outbox.claim_ready(T0 + 1, LEASE, 10)
        await store.outbox.mark_done(a1.id, "sent", T0 + 2)
        await store.outbox.mark_done(b1.id, "recorded", T0 + 2)

        sent, recorded = await outbox_rows(store)
        assert (sent.status, sent.attempts, sent.last_error, sent.done_at) == (
            "sent",
            2,
            None,
            T0 + 2,
        )
        assert (recorded.status, recorded.attempts) == ("recorded", 1)
        assert [c.id for c in await store.outbox.list_calls(status="sent")] == [sent.id]
        assert await store.outbox.next_attempt_at() is None
        totals = await store.stats.totals()
        assert (totals.sent_calls, totals.recorded_calls, totals.pending_calls) == (1, 1, 0)

    async def test_a_failed_call_is_kept_with_its_error_and_lets_the_next_one_go(
        self, store: Store
    ) -> None:
        await self._queue(store, [("A", "a1"), ("A", "a2")])
        [a1] = await store.outbox.claim_ready(T0, LEASE, 10)
        await store.outbox.mark_failed(a1.id, "HTTP 400: bad token", T0 + 1)

        failed = (await outbox_rows(store))[0]
        assert (failed.status, failed.attempts, failed.last_error, failed.done_at) == (
            "failed",
            1,
            "HTTP 400: bad token",
            T0 + 1,
        )
        [a2] = await store.outbox.claim_ready(T0 + 1, LEASE, 10)
        assert json_text(a2) == "a2"
        assert (await store.stats.totals()).failed_calls == 1

    # -- knowledge ------------------------------------------------------------------------

    async def test_apply_stores_files_and_records_and_moves_the_version(self, store: Store) -> None:
        state = await store.knowledge.state()
        assert state.version == 0
        prices = [record("prices.xlsx", 2, "Стрижка. 1500 ₽"), record("prices.xlsx", 3, "Маникюр.")]
        faq = [record("faq.csv", 2, "Где вы? На Тверской.")]

        await store.knowledge.apply(
            [file_update("prices.xlsx", prices), file_update("faq.csv", faq)], now=T0
        )
        loaded_version, records = await store.knowledge.load_records()
        assert loaded_version == 1
        assert records == faq + prices, "in file and position order, exactly as stored"
        assert await store.knowledge.count_records() == 3

        files = {f.name: f for f in await store.knowledge.list_files()}
        assert sorted(files) == ["faq.csv", "prices.xlsx"]
        assert (files["prices.xlsx"].records_count, files["prices.xlsx"].origin) == (2, "upload")
        stored = await store.knowledge.get_file("prices.xlsx")
        assert stored is not None
        assert stored.content == file_update("prices.xlsx", prices).content
        assert stored.sha256 == hashlib.sha256(stored.content).hexdigest()
        assert stored.size == len(stored.content)

    async def test_reapplying_a_file_replaces_its_records_only(self, store: Store) -> None:
        old = [record("prices.xlsx", 2, "Стрижка. 1500 ₽")]
        faq = [record("faq.csv", 2, "Где вы? На Тверской.")]
        await store.knowledge.apply(
            [file_update("prices.xlsx", old), file_update("faq.csv", faq)], now=T0
        )
        new = [record("prices.xlsx", 2, "Стрижка. 1700 ₽"), record("prices.xlsx", 3, "Укладка.")]
        await store.knowledge.apply([file_update("prices.xlsx", new)], now=T0 + 1)

        version, records = await store.knowledge.load_records()
        assert version == 2
        assert records == faq + new

    async def test_remove_and_replace_all_move_the_version(self, store: Store) -> None:
        a, b = [record("a.md", 1, "Альфа.")], [record("b.md", 1, "Бета.")]
        await store.knowledge.apply([file_update("a.md", a), file_update("b.md", b)], now=T0)

        await store.knowledge.apply([], remove=["a.md"], now=T0 + 1)
        assert (await store.knowledge.state()).version == 2
        assert [f.name for f in await store.knowledge.list_files()] == ["b.md"]
        assert await store.knowledge.get_file("a.md") is None
        assert not await store.knowledge.has_file("a.md")
        assert await store.knowledge.has_file("b.md")
        assert (await store.knowledge.load_records())[1] == b

        c = [record("c.md", 1, "Гамма.")]
        await store.knowledge.apply([file_update("c.md", c)], replace_all=True, now=T0 + 2)
        assert await store.knowledge.load_records() == (3, c)

        await store.knowledge.apply([], replace_all=True, now=T0 + 3)
        assert await store.knowledge.load_records() == (4, [])
        assert await store.knowledge.list_files() == []

    async def test_an_unreadable_file_is_kept_with_its_reason_and_no_records(
        self, store: Store
    ) -> None:
        await store.knowledge.apply(
            [file_update("broken.xlsx", [], error="not a valid xlsx file")], now=T0
        )
        [info] = await store.knowledge.list_files()
        assert (info.name, info.records_count, info.error) == (
            "broken.xlsx",
            0,
            "not a valid xlsx file",
        )
        assert (await store.knowledge.load_records())[1] == []

    async def test_many_records_round_trip_in_order(self, store: Store) -> None:
        rows = [record("big.csv", n, f"Услуга номер {n}. Цена {n * 10} ₽") for n in range(1, 1201)]
        await store.knowledge.apply([file_update("big.csv", rows)], now=T0)
        version, loaded = await store.knowledge.load_records()
        assert (version, loaded) == (1, rows)

    async def test_fingerprint_and_evaluation_are_kept_without_moving_the_version(
        self, store: Store
    ) -> None:
        await store.knowledge.apply([], now=T0, dir_fingerprint="abc")
        await store.knowledge.set_dir_fingerprint("def")
        await store.knowledge.set_evaluation({"recall_at_5": 0.9, "cases": 10})
        state = await store.knowledge.state()
        assert state.version == 1
        assert state.dir_fingerprint == "def"
        assert state.evaluation is not None
        assert '"recall_at_5": 0.9' in state.evaluation

    async def test_concurrent_applies_each_move_the_version(self, store: Store) -> None:
        await store.knowledge.state()  # the version row exists, as after any startup
        updates = [small_file(i) for i in range(4)]
        await asyncio.gather(*(store.knowledge.apply([u], now=T0) for u in updates))
        version, records = await store.knowledge.load_records()
        assert version == 4
        assert [r.source.file for r in records] == ["f0.md", "f1.md", "f2.md", "f3.md"]

    async def test_the_first_concurrent_applies_each_move_the_version(self, store: Store) -> None:
        updates = [small_file(i) for i in range(4)]
        await asyncio.gather(*(store.knowledge.apply([u], now=T0) for u in updates))
        assert (await store.knowledge.state()).version == 4

    async def test_apply_returns_the_version_it_stored(self, store: Store) -> None:
        returned = await store.knowledge.apply([file_update("a.md", [])], now=T0)
        assert returned == (await store.knowledge.state()).version == 1

    # -- embedding cache ------------------------------------------------------------------

    async def test_the_embedding_cache_round_trips_float32_vectors(self, store: Store) -> None:
        rng = np.random.default_rng(7)
        vectors: dict[str, np.ndarray] = {
            f"hash-{i}": rng.standard_normal(384).astype(np.float32) for i in range(3)
        }
        vectors["hash-64"] = rng.standard_normal(384)  # float64 in, float32 out
        await store.embedding_cache.put_many("e5-small", vectors)

        found = await store.embedding_cache.get_many("e5-small", [*vectors, "unknown"])
        assert sorted(found) == sorted(vectors)
        for key, vector in vectors.items():
            assert found[key].dtype == np.float32
            assert np.array_equal(found[key], vector.astype(np.float32))
        assert await store.embedding_cache.get_many("another-model", list(vectors)) == {}

    async def test_the_embedding_cache_keeps_what_it_has(self, store: Store) -> None:
        first = np.ones(8, dtype=np.float32)
        await store.embedding_cache.put_many("m", {"h": first})
        await store.embedding_cache.put_many("m", {"h": np.zeros(8, dtype=np.float32)})
        assert np.array_equal((await store.embedding_cache.get_many("m", ["h"]))["h"], first)

    async def test_the_embedding_cache_handles_large_batches(self, store: Store) -> None:
        vectors = {f"h{i}": np.full(4, i, dtype=np.float32) for i in range(1100)}
        await store.embedding_cache.put_many("m", vectors)
        found = await store.embedding_cache.get_many("m", list(vectors))
        assert len(found) == 1100
        assert np.array_equal(found["h1099"], vectors["h1099"])

    # -- stats ----------------------------------------------------------------------------

    async def test_totals_count_sessions_messages_calls_events_and_leads(
        self, store: Store
    ) -> None:
        assert await accept(store, incoming("visitor-1", 1), T0)
        assert await accept(store, incoming("visitor-1", 2), T0)
        assert not await accept(store, incoming("visitor-1", 2), T0)
        assert await accept(store, incoming("visitor-2", 1), T0)
        assert await accept(store, incoming("visitor-3", 1), T0)

        async def run_turn(key: str, **kwargs: Any) -> None:
            assert await store.conversations.claim(key, "a", now=T0 + 2, lease_seconds=5)
            ids = await pending_ids(store, key)
            assert await store.conversations.finish_turn(key, "a", turn(ids, **kwargs), now=T0 + 3)

        await run_turn(
            "visitor-1",
            calls=[send("one"), send("two"), send("three")],
            events=[TurnEvent(EventKind.HANDOFF, {"reason": "visitor_request"})],
            lead=LeadInfo(None, "+79160000001", None, None),
            prompt_tokens=100,
            completion_tokens=10,
            cost=0.25,
        )
        await run_turn(
            "visitor-2",
            events=[
                TurnEvent(EventKind.HANDOFF, {"reason": "low_confidence"}),
                TurnEvent(EventKind.UNANSWERED, {"question": "?"}),
            ],
            prompt_tokens=1,
            completion_tokens=2,
            cost=0.5,
        )
        await store.conversations.record_event("visitor-3", "turn_error", {"error": "X"}, T0 + 4)
        await store.conversations.record_event(None, "handoff", {"reason": "visitor_request"}, T0)
        one, two, three = await outbox_rows(store)
        await store.outbox.mark_done(one.id, "sent", T0 + 4)
        await store.outbox.mark_failed(two.id, "HTTP 400", T0 + 4)
        assert three.status == "pending"

        totals = await store.stats.totals()
        assert totals.total_sessions == 3
        assert (totals.messages_received, totals.messages_processed) == (4, 3)
        assert totals.messages_pending == 1
        assert (totals.sent_calls, totals.failed_calls, totals.pending_calls) == (1, 1, 1)
        assert totals.recorded_calls == 0
        assert totals.turn_errors == 1
        assert totals.handoffs_by_reason == {"visitor_request": 2, "low_confidence": 1}
        assert totals.events_by_kind == {"handoff": 3, "unanswered": 1, "turn_error": 1}
        assert totals.leads == 1
        assert (totals.prompt_tokens, totals.completion_tokens) == (101, 12)
        assert totals.cost == 0.75

    async def test_empty_totals(self, store: Store) -> None:
        totals = await store.stats.totals()
        assert (totals.total_sessions, totals.messages_received, totals.leads) == (0, 0, 0)
        assert (totals.prompt_tokens, totals.cost) == (0, 0.0)
        assert totals.handoffs_by_reason == {}

    async def test_active_sessions_and_event_filters(self, store: Store) -> None:
        assert await accept(store, incoming("old"), T0)
        assert await accept(store, incoming("newer"), T0 + 100)
        assert await accept(store, incoming("newest"), T0 + 200)
        await store.conversations.record_event("newer", "guard", {"attempt": 1}, T0 + 101)
        await store.conversations.record_event("newest", "guard", {"attempt": 2}, T0 + 201)
        await store.conversations.record_event("newest", "llm_outage", {}, T0 + 202)

        active = await store.stats.active_sessions(T0 + 50)
        assert [c.key for c in active] == ["newest", "newer"]
        guards = await store.stats.events(kind="guard")
        assert [e["data"]["attempt"] for e in guards] == [2, 1], "newest first"
        only = await store.stats.events(conversation_key="newest", kind="llm_outage")
        assert [e["kind"] for e in only] == ["llm_outage"]
        assert len(await store.stats.events(limit=1)) == 1

    async def test_the_store_answers_a_ping(self, store: Store) -> None:
        await store.ping()
        async with store.engine.connect() as connection:
            assert (await connection.execute(select(1))).scalar() == 1

    # -- handed-over questions and operator answers ----------------------------------------

    async def _hand_over(self, store: Store, key: str, question: str, at: float) -> None:
        assert await accept(store, incoming(key, int(at), question, token=f"token-{key}"), at)
        assert await store.conversations.claim(key, "a", now=at + 2, lease_seconds=LEASE)
        result = turn(
            await pending_ids(store, key),
            visitor=question,
            bot="Передаю администратору",
            handed_off=True,
            handed_over_question=question,
        )
        assert await store.conversations.finish_turn(key, "a", result, now=at + 2)

    async def test_a_handoff_keeps_its_question_until_the_operator_answer_is_stored(
        self, store: Store
    ) -> None:
        await self._hand_over(store, "visitor-1", "Можно с аллергией?", T0)

        [waiting] = await store.operator_answers.waiting(since=T0, limit=10)
        assert (waiting.conversation_key, waiting.question) == ("visitor-1", "Можно с аллергией?")
        assert waiting.handed_over_at == T0 + 2

        assert await store.operator_answers.record_answer(waiting, "Да, можно.", T0 + 60, T0 + 61)
        assert not await store.operator_answers.record_answer(waiting, "Ещё раз", T0 + 62, T0 + 63)

        assert await store.operator_answers.waiting(since=T0, limit=10) == []
        [answer] = await store.operator_answers.operator_answers_for("visitor-1")
        assert (answer.question, answer.answer) == ("Можно с аллергией?", "Да, можно.")
        assert (answer.operator_at, answer.harvested_at) == (T0 + 60, T0 + 61)
        assert [a.answer for a in await store.operator_answers.list_answers()] == ["Да, можно."]
        assert await store.operator_answers.operator_answers_for("visitor-2") == []

    async def test_waiting_questions_take_turns_and_old_ones_expire(self, store: Store) -> None:
        await self._hand_over(store, "visitor-1", "Первый вопрос", T0)
        await self._hand_over(store, "visitor-2", "Второй вопрос", T0 + 10)
        first, second = await store.operator_answers.waiting(since=T0, limit=10)
        assert await store.operator_answers.oldest_waiting_at() == T0 + 2

        await store.operator_answers.mark_checked([first.id], T0 + 20)
        assert [w.question for w in await store.operator_answers.waiting(since=T0, limit=1)] == [
            "Второй вопрос"
        ], "the one checked least recently comes first"
        only = await store.operator_answers.waiting(since=T0, limit=10, keys=["visitor-1"])
        assert [w.id for w in only] == [first.id]

        assert await store.operator_answers.expire(before=T0 + 5) == 1
        assert [w.id for w in await store.operator_answers.waiting(since=T0, limit=10)] == [
            second.id
        ]

    async def test_a_sync_cursor_starts_empty_and_keeps_its_latest_position(
        self, store: Store
    ) -> None:
        assert await store.operator_answers.cursor("operator-answers") is None
        await store.operator_answers.move_cursor("operator-answers", T0, T0 + 1)
        await store.operator_answers.move_cursor("operator-answers", T0 + 100, T0 + 101)
        assert await store.operator_answers.cursor("operator-answers") == T0 + 100

    async def test_an_account_call_queues_in_its_own_lane_without_the_dialogue_token(
        self, store: Store
    ) -> None:
        await self._queue(store, [("A", "a1")])
        card = PlannedCall("chat/client/setInfo", {"client": {"clientId": "A"}}, lane="account")
        assert await store.conversations.enqueue_calls(
            "A", "a", "token-A", [card, send("a2")], now=T0
        )

        claimed = await store.outbox.claim_ready(T0, LEASE, 10)
        assert sorted((c.method, c.lane, c.token) for c in claimed) == [
            ("chat/client/setInfo", "account", ""),
            ("customBot/send", "bot", "token-A"),
        ]
        card_call = next(c for c in claimed if c.lane == "account")
        await store.outbox.mark_retry(card_call.id, "HTTP 503", T0 + 100)
        bot_call = next(c for c in claimed if c.lane == "bot")
        await store.outbox.mark_done(bot_call.id, "sent", T0 + 1)

        [next_reply] = await store.outbox.claim_ready(T0 + 2, LEASE, 10)
        assert json_text(next_reply) == "a2", "a failing card update holds back no reply"

    # -- the owner's console -----------------------------------------------------------------

    async def _played(
        self,
        store: Store,
        key: str,
        at: float,
        *,
        text: str = "сколько стоит стрижка?",
        meta: dict[str, Any] | None = None,
        events: list[TurnEvent] | None = None,
        lead: LeadInfo | None = None,
    ) -> None:
        """One visitor message and the bot's reply to it, committed as a turn at `at`."""
        assert await accept(store, incoming(key, number=1, text=text, token=f"t-{key}"), at)
        assert await store.conversations.claim(key, "a", now=at + 1, lease_seconds=LEASE)
        result = turn(
            await pending_ids(store, key),
            visitor=text,
            bot="Ответ бота",
            meta=meta or {"intent": "answer", "answerer": "offline", "latency_ms": 100.0},
            events=events or [],
            lead=lead,
            prompt_tokens=30,
            completion_tokens=10,
            cost=0.25,
        )
        assert await store.conversations.finish_turn(key, "a", result, now=at + 2)

    async def test_the_overview_counts_a_period_and_splits_its_days_by_outcome(
        self, store: Store
    ) -> None:
        day = 86_400.0
        await self._played(store, "old", T0 - 3 * day)  # before the period: not counted
        await self._played(store, "answered", T0 + 10)
        await self._played(
            store,
            "clarified",
            T0 + 20,
            meta={"intent": "clarify", "answerer": "offline", "latency_ms": 300.0},
            events=[TurnEvent(EventKind.CLARIFY, {"question": "коррекция", "options": 2})],
        )
        await self._played(
            store,
            "handed",
            T0 + day + 30,
            meta={"intent": "unknown", "answerer": "offline", "latency_ms": 900.0},
            events=[
                TurnEvent(EventKind.HANDOFF, {"reason": "low_confidence"}),
                TurnEvent(EventKind.UNANSWERED, {"question": "курс биткоина"}),
            ],
        )
        await self._played(
            store,
            "booked",
            T0 + day + 40,
            meta={"intent": "booking", "answerer": "llm", "latency_ms": 500.0},
            events=[TurnEvent(EventKind.HANDOFF, {"reason": "booking"})],
            lead=LeadInfo("Анна", PHONE, "маникюр", None),
        )

        view = await store.overview.period([T0, T0 + day])

        assert view.conversations == 4 and view.visitor_messages == 4
        assert (view.bot_replies, view.answered_replies) == (4, 1)
        assert (view.answered, view.clarified, view.handed_over) == (1, 1, 2)
        assert view.handoffs_by_reason == {"low_confidence": 1, "booking": 1}
        assert view.leads == 1
        assert (view.tokens, view.cost) == (4 * 40, 4 * 0.25)
        assert (view.latency_p50_ms, view.latency_p95_ms) == (500.0, 900.0)
        first, second = view.days
        assert (first.answered, first.clarified, first.handed_over) == (1, 1, 0)
        assert (second.answered, second.clarified, second.handed_over) == (0, 0, 2)

    async def test_conversations_are_found_by_their_markers_and_words(self, store: Store) -> None:
        await self._played(store, "price", T0, text="Сколько стоит стрижка?")
        await self._played(
            store,
            "handed",
            T0 + 10,
            text="Где купить биткоин?",
            events=[TurnEvent(EventKind.HANDOFF, {"reason": "low_confidence"})],
        )
        await self._played(
            store,
            "guarded",
            T0 + 20,
            text="А маникюр?",
            meta={"intent": "answer", "answerer": "llm"},
            events=[TurnEvent(EventKind.GUARD, {"attempt": 1, "problems": "цена"})],
            lead=LeadInfo(None, PHONE, None, None),
        )
        browse = store.browse

        async def keys(**chosen: Any) -> list[str]:
            rows = await browse.page(ConversationFilter(**chosen), offset=0, limit=10)
            return [row.key for row in rows]

        assert await keys() == ["guarded", "handed", "price"], "most recently active first"
        assert await keys(handed_over=True) == ["handed"]
        assert await keys(handed_over=False) == ["guarded", "price"]
        assert await keys(guard=True, lead=True) == ["guarded"]
        assert await keys(answerer="llm") == ["guarded"]
        assert await keys(text="стрижка") == ["price"], "a word inside the message"
        assert await keys(text="биткоин") == ["handed"]
        assert await keys(text="100%_") == [], "LIKE wildcards are searched literally"
        assert await keys(since=T0 + 5) == ["guarded", "handed"]
        assert await browse.count(ConversationFilter(lead=False)) == 2
        total, found = await browse.find(
            ConversationFilter(text="Стрижка", handed_over=False), offset=0, limit=10
        )
        assert (total, [row.key for row in found]) == (1, ["price"]), "capitalised as typed"
        assert await browse.find(ConversationFilter(text="нет такого"), offset=0, limit=10) == (
            0,
            [],
        )
        [row] = await browse.page(ConversationFilter(guard=True), offset=0, limit=10)
        assert (row.has_lead, row.guard, row.handed_over) == (True, True, False)

    async def test_a_lead_starts_new_and_its_status_is_kept(self, store: Store) -> None:
        await self._played(store, "booked", T0, lead=LeadInfo("Анна", PHONE, None, None))
        [lead] = await store.leads.page(offset=0, limit=10)
        assert lead.status == LeadStatus.NEW
        assert await store.leads.set_status(lead.id, LeadStatus.CALLED)
        assert [x.status for x in await store.leads.of_conversation("booked")] == ["called"]
        assert await store.leads.count(LeadStatus.CALLED) == 1
        assert await store.leads.count(LeadStatus.NEW) == 0
        assert not await store.leads.set_status(lead.id + 100, LeadStatus.DONE)

    async def test_the_first_secret_stored_is_the_one_every_caller_gets(self, store: Store) -> None:
        candidates = [bytes([n]) * 32 for n in range(8)]
        kept = await asyncio.gather(
            *(store.console.secret("session", c, T0 + n) for n, c in enumerate(candidates))
        )
        assert len(set(kept)) == 1 and kept[0] in candidates
        assert await store.console.secret("session", b"later" * 8, T0 + 9) == kept[0]
        assert await store.console.secret("other", b"o" * 32, T0) == b"o" * 32

    async def test_a_signed_in_session_lives_until_sign_out_or_expiry(self, store: Store) -> None:
        await store.console.start_session("session-one-" + "a" * 32, T0, lifetime=100)
        await store.console.start_session("session-two-" + "b" * 32, T0, lifetime=100)
        assert await store.console.session_alive("session-one-" + "a" * 32, T0 + 99)
        assert not await store.console.session_alive("session-one-" + "a" * 32, T0 + 100)
        assert not await store.console.session_alive("never-signed-in", T0)

        assert await store.console.end_session("session-one-" + "a" * 32)
        assert not await store.console.session_alive("session-one-" + "a" * 32, T0 + 1)
        assert await store.console.session_alive("session-two-" + "b" * 32, T0 + 1), "others stay"
        assert not await store.console.end_session("session-one-" + "a" * 32)

    async def test_a_session_is_kept_by_digest_and_expired_ones_are_pruned(
        self, store: Store
    ) -> None:
        await store.console.start_session("expiring-" + "c" * 32, T0, lifetime=10)
        await store.console.start_session("fresh-" + "d" * 32, T0 + 20, lifetime=10)
        assert await rows_mentioning(store, "c" * 32) == {}, "no session id in the store"
        assert await rows_mentioning(store, "d" * 32) == {}
        async with store.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT COUNT(*) FROM console_sessions"))).one()
        assert rows[0] == 1, "the expired session went when the next one started"

    # -- the owner's lessons and open questions ---------------------------------------------

    async def _unanswered(
        self, store: Store, key: str, question: str, at: float, **data: Any
    ) -> None:
        await store.conversations.record_event(
            key, "unanswered", {"question": question, "reason": "low_confidence", **data}, at
        )

    async def test_unanswered_events_become_open_questions_once(self, store: Store) -> None:
        await self._unanswered(store, "v1", "Можно с собакой?", T0)
        await store.conversations.record_event(
            "v2",
            "unanswered",
            {"question": "второй", "reason": "unclear_choice", "asked": "Сколько стоит уход?"},
            T0 + 1,
        )
        await store.conversations.record_event("v3", "handoff", {"reason": "booking"}, T0 + 2)
        await store.conversations.record_event("v4", "unanswered", {"question": ""}, T0 + 3)

        assert await store.questions.collect() == 2
        assert await store.questions.collect() == 0, "each event is collected once"
        rows = await store.questions.rows("open")
        assert [(r.conversation_key, r.question, r.kind) for r in rows] == [
            ("v1", "Можно с собакой?", "not_known"),
            ("v2", "Сколько стоит уход?", "unclear"),
        ]
        assert [r.group_id for r in rows] == [None, None], "grouped by the service, later"
        await self._unanswered(store, "v5", "Есть парковка?", T0 + 4)
        assert await store.questions.collect() == 1

    async def test_concurrent_collects_store_each_question_once(self, store: Store) -> None:
        for n in range(20):
            await self._unanswered(store, f"v{n}", f"вопрос {n}", T0 + n)
        await asyncio.gather(*(store.questions.collect() for _ in range(3)))
        assert len(await store.questions.rows("open")) == 20

    async def _dialogue(self, store: Store, key: str) -> tuple[int, int]:
        async with store.engine.begin() as connection:
            ids = []
            for role, text_, at in (
                ("visitor", "Сколько стоит стрижка?", T0),
                ("bot", "Стрижка стоит 100 ₽.", T0 + 1),
            ):
                result = await connection.execute(
                    insert(DialogMessage).values(
                        conversation_key=key, role=role, text=text_, created_at=at
                    )
                )
                ids.append(int(result.inserted_primary_key[0]))
        return ids[0], ids[1]

    async def test_marking_a_bot_answer_wrong_opens_its_question(self, store: Store) -> None:
        visitor_message, bot_message = await self._dialogue(store, "v1")

        assert await store.questions.mark_wrong(bot_message, now=T0 + 5) is MarkOutcome.MARKED
        [row] = await store.questions.rows("open")
        assert (row.question, row.kind, row.bot_answer) == (
            "Сколько стоит стрижка?",
            "wrong",
            "Стрижка стоит 100 ₽.",
        )
        assert row.asked_at == T0
        assert await store.questions.mark_wrong(bot_message, now=T0) is MarkOutcome.ALREADY
        assert await store.questions.mark_wrong(visitor_message, now=T0) is MarkOutcome.NOT_BOT
        assert await store.questions.mark_wrong(10**12, now=T0) is MarkOutcome.NO_MESSAGE
        assert len(await store.questions.rows("open")) == 1, "refusals change nothing"

    async def test_a_visitor_message_is_one_question_however_its_answers_are_marked(
        self, store: Store
    ) -> None:
        await self._played(
            store,
            "handed",
            T0,
            text="Курс биткоина?",
            meta={"intent": "unknown", "answerer": "offline"},
            events=[
                TurnEvent(EventKind.HANDOFF, {"reason": "low_confidence"}),
                TurnEvent(EventKind.UNANSWERED, {"question": "Курс биткоина?"}),
            ],
        )
        await self._played(store, "answered", T0 + 10, text="Сколько стоит стрижка?")
        await store.questions.collect()
        [handed_reply] = [m.id for m in await store.browse.transcript("handed") if m.role == "bot"]
        [answer] = [m.id for m in await store.browse.transcript("answered") if m.role == "bot"]

        marked = await store.questions.mark_wrong(handed_reply, now=T0 + 20)
        assert marked is MarkOutcome.ASKED_ALREADY, "handed over: a question already"
        assert await store.questions.mark_wrong(answer, now=T0 + 20) is MarkOutcome.MARKED
        assert await store.questions.mark_wrong(answer, now=T0 + 30) is MarkOutcome.ALREADY
        assert await store.questions.count("open") == 2

    async def test_an_owners_answer_is_served_as_a_record_and_resolves_questions(
        self, store: Store
    ) -> None:
        await store.knowledge.apply([file_update("faq.csv", [record("faq.csv", 1, "A")])], now=T0)
        await self._unanswered(store, "v1", "Можно с собакой?", T0)
        await self._unanswered(store, "v2", "а с собакой можно?", T0 + 1)
        await store.questions.collect()
        ids = [r.id for r in await store.questions.rows("open")]

        saved = await store.lessons.add_faq(
            "Можно с собакой?",
            "Да, с маленькой.",
            now=T0 + 2,
            phrasings=["Можно с собакой?", "а с собакой можно?", "А С  собакой можно?"],
            resolve=ids,
        )
        assert saved.faq is not None and saved.version == 2
        snapshot = await store.knowledge.load_snapshot()
        assert snapshot.version == 2
        owner = snapshot.records[-1]
        assert (owner.title, owner.answer, owner.source.file) == (
            "Можно с собакой?",
            "Да, с маленькой.",
            OWNER_FAQ_SOURCE,
        )
        assert owner.record_id == saved.faq.record_id
        assert snapshot.phrasings == {owner.record_id: ["а с собакой можно?"]}, (
            "the question itself and repeats are not phrasings"
        )
        assert await store.questions.rows("open") == []
        answered = await store.questions.rows("answered")
        assert {r.resolution for r in answered} == {f"faq:{saved.faq.id}"}

    async def test_files_replaced_whole_keep_the_owners_answers_and_phrasings(
        self, store: Store
    ) -> None:
        kept = record("faq.csv", 1, "Парковка есть")
        await store.knowledge.apply([file_update("faq.csv", [kept])], now=T0)
        await store.lessons.add_faq("Вопрос?", "Ответ.", now=T0)
        await store.lessons.add_phrasings(kept.record_id, ["где машину оставить"], now=T0)

        await store.knowledge.apply([file_update("faq.csv", [kept])], replace_all=True, now=T0)
        snapshot = await store.knowledge.load_snapshot()
        assert [r.source.file for r in snapshot.records] == ["faq.csv", OWNER_FAQ_SOURCE]
        assert snapshot.phrasings == {kept.record_id: ["где машину оставить"]}

    async def test_editing_an_answer_moves_its_phrasings_and_deleting_reopens_questions(
        self, store: Store
    ) -> None:
        await self._unanswered(store, "v1", "Есть парковка?", T0)
        await store.questions.collect()
        [question] = await store.questions.rows("open")
        await store.questions.join_groups({question.id: question.id})
        saved = await store.lessons.add_faq(
            "Есть парковка?", "Нет.", now=T0, phrasings=["где парковаться"], resolve=[question.id]
        )
        assert saved.faq is not None

        edited = await store.lessons.update_faq(saved.faq.id, "Есть парковка?", "Да.", now=T0 + 1)
        assert edited.faq is not None and edited.faq.record_id != saved.faq.record_id
        assert edited.version == saved.version + 1
        phrasings = await store.lessons.list_phrasings()
        assert [(p.record_id, p.text) for p in phrasings] == [
            (edited.faq.record_id, "где парковаться")
        ]
        assert (await store.lessons.update_faq(10**9, "a", "b", now=T0)).faq is None

        deleted = await store.lessons.delete_faq(saved.faq.id, now=T0 + 2)
        assert deleted is not None and deleted.version == edited.version + 1
        assert await store.lessons.list_faq() == []
        assert await store.lessons.list_phrasings() == []
        assert [r.id for r in await store.questions.rows("open")] == [question.id]
        assert [q.id for q in await store.questions.ungrouped(10)] == [question.id], (
            "a reopened question is grouped again"
        )
        assert await store.lessons.delete_faq(saved.faq.id, now=T0) is None

    async def test_linking_and_dismissing_move_only_open_questions(self, store: Store) -> None:
        for n in range(3):
            await self._unanswered(store, f"v{n}", f"вопрос {n}", T0 + n)
        await store.questions.collect()
        first, second, third = (r.id for r in await store.questions.rows("open"))

        saved = await store.lessons.add_phrasings("abc", ["вопрос 0"], now=T0, resolve=[first])
        assert saved.added == 1
        assert (await store.lessons.add_phrasings("abc", ["Вопрос 0"], now=T0)).added == 0
        assert await store.questions.dismiss([first, second], now=T0) == 1, "first is linked"
        assert [r.id for r in await store.questions.rows("linked")] == [first]
        assert [r.resolution for r in await store.questions.rows("linked")] == ["abc"]
        assert [r.id for r in await store.questions.rows("dismissed")] == [second]
        assert [r.id for r in await store.questions.rows("open")] == [third]

        [phrasing] = await store.lessons.list_phrasings("abc")
        version = await store.lessons.delete_phrasing(phrasing.id, now=T0)
        assert version == saved.version + 1
        assert await store.lessons.delete_phrasing(phrasing.id, now=T0) is None

    # -- groups of open questions ---------------------------------------------------------

    async def _questions(self, store: Store, *texts: str) -> list[int]:
        """Open questions asked one second apart, collected; their ids in order."""
        for n, question in enumerate(texts):
            await self._unanswered(store, f"v{n}", question, T0 + n)
        await store.questions.collect()
        return [r.id for r in await store.questions.rows("open")]

    async def test_a_question_is_put_in_a_group_only_while_it_is_in_none(
        self, store: Store
    ) -> None:
        first, second, third = await self._questions(store, "собака?", "с собакой?", "тату?")
        assert [q.id for q in await store.questions.ungrouped(10)] == [first, second, third]

        await store.questions.join_groups({first: first, second: first})
        # Another process grouped the same questions otherwise at the same time: it loses.
        await store.questions.join_groups({second: second, third: third})
        assert [(r.id, r.group_id) for r in await store.questions.rows("open")] == [
            (first, first),
            (second, first),
            (third, third),
        ]
        assert await store.questions.ungrouped(10) == []
        assert await store.questions.leaders("open") == [(first, "собака?"), (third, "тату?")]

    async def test_regrouping_moves_open_questions_only(self, store: Store) -> None:
        first, second, third = await self._questions(store, "собака?", "с собакой?", "тату?")
        await store.questions.join_groups({first: first, second: second, third: third})
        await store.questions.dismiss([third], now=T0)

        await store.questions.regroup({second: first, third: first})
        assert [r.group_id for r in await store.questions.rows("open")] == [first, first]
        assert [r.group_id for r in await store.questions.rows("dismissed")] == [third]

    async def test_a_page_of_groups_is_counted_most_asked_first(self, store: Store) -> None:
        ids = await self._questions(
            store, "тату?", "собака?", "с собакой?", "парковка?", "а с собакой?", "парковка где?"
        )
        tattoo, dog, _, parking, _, _ = ids
        groups = dict(zip(ids, [tattoo, dog, dog, parking, dog, parking], strict=True))
        await store.questions.join_groups(groups)
        await store.questions.dismiss([ids[3]], now=T0 + 10)

        assert await store.questions.group_totals("open") == (3, 5)
        assert await store.questions.group_counts("open", 10, 0) == [
            GroupCount(dog, 3, T0 + 4),
            GroupCount(parking, 1, T0 + 5),
            GroupCount(tattoo, 1, T0),
        ], "most asked first, then most recently asked"
        assert await store.questions.group_counts("open", 1, 1) == [GroupCount(parking, 1, T0 + 5)]
        assert await store.questions.group_counts("dismissed", 10, 0) == [
            GroupCount(parking, 1, T0 + 3)
        ], "a resolved question shows in the group it was in"
        members = await store.questions.members("open", [dog, parking])
        assert [(r.question, r.group_id) for r in members] == [
            ("собака?", dog),
            ("с собакой?", dog),
            ("а с собакой?", dog),
            ("парковка где?", parking),
        ]
        assert await store.questions.leaders("open") == [
            (tattoo, "тату?"),
            (dog, "собака?"),
            (parking, "парковка где?"),
        ], "a group is compared by its first open question"

    async def test_a_regrouping_reads_the_newest_open_questions(self, store: Store) -> None:
        ids = await self._questions(store, *(f"вопрос {n}" for n in range(5)))
        await store.questions.join_groups({ids[4]: ids[3]})
        await store.questions.dismiss([ids[0]], now=T0)
        newest = await store.questions.newest_open(3)
        assert [(q.id, q.question, q.group_id) for q in newest] == [
            (ids[2], "вопрос 2", None),
            (ids[3], "вопрос 3", None),
            (ids[4], "вопрос 4", ids[3]),
        ]
        assert [q.id for q in await store.questions.newest_open(10)] == ids[1:]
