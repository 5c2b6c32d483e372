"""Wiring: builds the store, knowledge base, answerers, engine and background loops from settings.

The web app's lifespan and the CLI both go through `Runtime`, so what `chat` talks to is the
same engine that answers TalkMe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

from talkme_consultant.answer.base import Answerer
from talkme_consultant.answer.basics import ProfileBasics
from talkme_consultant.answer.llm import LLMAnswerer
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.config import Settings
from talkme_consultant.dialog.costs import parse_prices
from talkme_consultant.dialog.engine import DialogEngine, EngineOptions, FinishCodes
from talkme_consultant.helpers.kinds import CallStatus
from talkme_consultant.helpers.private_files import ensure_private_dir
from talkme_consultant.knowledge.embedders import Embedder, LocalE5Embedder, OpenAIEmbedder
from talkme_consultant.knowledge.loaders import ParseLimits
from talkme_consultant.profile import BusinessProfile, load_profile
from talkme_consultant.service.availability import OperatorPresence
from talkme_consultant.service.dispatcher import (
    OutboxDispatcher,
    RetryPolicy,
    Sender,
    routed_sender,
    talkme_sender,
)
from talkme_consultant.service.harvest import HarvestSettings, OperatorAnswerHarvester
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import Lessons
from talkme_consultant.service.metrics import Metrics
from talkme_consultant.service.open_questions import OpenQuestions
from talkme_consultant.service.parsing import ParseOptions
from talkme_consultant.service.turns import TurnRunner, TurnSettings
from talkme_consultant.store.leases import process_owner
from talkme_consultant.store.locks import LOCK_KNOWLEDGE
from talkme_consultant.store.notifications import (
    INBOX_CHANNEL,
    ChangeListener,
    supports_notifications,
)
from talkme_consultant.store.outbox import LANE_ACCOUNT
from talkme_consultant.store.store import Store
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.client import TalkMeClient

log = logging.getLogger(__name__)

DIR_POLL_SECONDS = 2.0
# Client-card updates are retried this often, at most this far apart (about two hours).
ACCOUNT_ATTEMPTS = 30
ACCOUNT_BACKOFF_MAX = 300.0
# With wake-ups from the webhook (same process) or NOTIFY, polling is only a safety net.
FALLBACK_POLL_SECONDS = 1.0

ProcessRole = Literal["all", "web", "worker"]
"""What a process runs: everything (`serve`), HTTP only (`serve --no-workers`), or turns and the
outbox without HTTP (`worker`). Every role watches KNOWLEDGE_DIR and follows the index version."""


def build_embedder(settings: Settings) -> Embedder | None:
    """The embedder chosen by EMBEDDER: local e5 (default), an OpenAI-compatible API, or none."""
    kind = settings.embedder.strip().lower()
    if kind in ("none", "off", ""):
        return None
    if kind == "openai":
        if not settings.embeddings_base_url:
            raise ValueError("EMBEDDER=openai needs EMBEDDINGS_BASE_URL")
        key = settings.embeddings_api_key or settings.openai_api_key
        return OpenAIEmbedder(
            base_url=settings.embeddings_base_url,
            model=settings.embeddings_model,
            api_key=key.get_secret_value() if key else None,
        )
    if kind == "local":
        return LocalE5Embedder()
    raise ValueError(f"EMBEDDER must be local, openai or none, not {settings.embedder!r}")


def parse_options(settings: Settings) -> ParseOptions:
    """How far reading one knowledge file may go (the PARSE_* settings)."""
    return ParseOptions(
        memory_mb=settings.parse_memory_mb,
        timeout_seconds=settings.parse_timeout_seconds,
        max_file_bytes=settings.upload_max_bytes,
        limits=ParseLimits(
            max_cells=settings.parse_max_cells,
            max_merged_cells=settings.parse_max_merged_cells,
            max_pdf_pages=settings.parse_max_pdf_pages,
            max_unzipped_bytes=settings.parse_max_unzipped_bytes,
            max_compression_ratio=settings.parse_max_compression_ratio,
        ),
    )


@dataclass
class Components:
    """What the engine is made of (rebuilt when the profile changes)."""

    phrases: Phrases
    offline: OfflineAnswerer
    primary: Answerer
    engine: DialogEngine


class Runtime:
    """Owns every long-lived object and background task of one service instance."""

    def __init__(
        self, settings: Settings, store: Store, knowledge: KnowledgeBase, profile: BusinessProfile
    ) -> None:
        self.settings = settings
        self.store = store
        self.knowledge = knowledge
        self.profile = profile
        self.metrics = Metrics()
        # Leases are held per process, so no other process ever mistakes them for its own.
        self.owner = process_owner(settings.instance_name)
        self.components = self._build_components()
        self.lessons = Lessons(store.lessons, knowledge)
        self.questions = OpenQuestions(store.questions, self.lessons, knowledge)
        self._http: httpx.AsyncClient | None = None
        self._account_http: httpx.AsyncClient | None = None
        self.account: AccountClient | None = None
        self.presence: OperatorPresence | None = None
        self.harvester: OperatorAnswerHarvester | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.dispatcher: OutboxDispatcher | None = None
        self.turns: TurnRunner | None = None
        self.listener: ChangeListener | None = None

    @classmethod
    async def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Connect the store (migrating it unless `migrate` is False), pick up KNOWLEDGE_DIR,
        and load the knowledge index."""
        profile = load_profile(settings.profile_path)
        # DATA_DIR holds the database and the admin token: readable by the service's user only.
        ensure_private_dir(settings.data_dir)
        store = await Store.open(
            settings.resolved_database_url,
            migrate_schema=migrate,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        knowledge = KnowledgeBase(
            store.knowledge,
            store.embedding_cache,
            build_embedder(settings),
            knowledge_dir=settings.knowledge_dir,
            parse_options=parse_options(settings),
            default_threshold=settings.confidence_threshold,
            precision_target=settings.answer_precision_target,
            build_lock=lambda: store.exclusive(LOCK_KNOWLEDGE),
        )
        runtime = cls(settings, store, knowledge, profile)
        try:
            try:
                # Instances starting together read the folder once: the first stores it, the
                # others find its fingerprint unchanged.
                async with store.exclusive(LOCK_KNOWLEDGE):
                    await knowledge.sync_dir()
            except Exception:
                # Unreadable files only get their own error; this is the folder itself failing
                # (gone, unreadable). The service starts on what the store already holds.
                log.exception("could not pick up KNOWLEDGE_DIR at start-up")
            log.info("loading the knowledge base (the first start embeds every record)")
            await knowledge.refresh(progress=_embedding_progress())
            # The first answers already use the threshold calibrated on the business's cases.
            await knowledge.wait_evaluated()
        except BaseException:
            await store.close()
            raise
        return runtime

    def _build_components(self) -> Components:
        settings = self.settings
        profile = self.profile
        phrases = profile.messages
        offline = OfflineAnswerer(
            self.knowledge,
            phrases,
            threshold=lambda: self.knowledge.answer_threshold,
            basics=ProfileBasics(profile),
        )
        primary: Answerer = offline
        if settings.llm_enabled:
            primary = LLMAnswerer.from_settings(settings, self.knowledge, profile)
        options = EngineOptions(
            finish_codes=FinishCodes(
                operator=settings.finish_code_operator,
                success=settings.finish_code_success,
                irrelevant=settings.finish_code_irrelevant,
                offline=settings.finish_code_offline,
            ),
            max_message_chars=settings.max_message_chars,
            max_turn_chars=settings.max_turn_chars,
            history_token_budget=settings.history_token_budget,
            daily_tokens=settings.conversation_daily_tokens,
            profile_facts=profile.facts_text(),
            prices=parse_prices(settings.llm_prices),
        )
        engine = DialogEngine(primary, offline, phrases, options)
        return Components(phrases=phrases, offline=offline, primary=primary, engine=engine)

    def message_stored(self) -> None:
        """A webhook stored a new message: wake this process's turns (other processes hear of
        it through the store, see `store/inbox_postgres.py`)."""
        if self.turns is not None:
            self.turns.notify()

    @property
    def engine(self) -> DialogEngine:
        """The dialog engine in use."""
        return self.components.engine

    async def start_background(self, role: ProcessRole = "all") -> None:
        """Start what `role` runs: the KNOWLEDGE_DIR and index-version watcher always; the turn
        workers, the outbox dispatcher and (on PostgreSQL) the wake-up listener unless `web`."""
        watcher = asyncio.create_task(self.knowledge.watch_dir(DIR_POLL_SECONDS), name="kb-watch")
        self._tasks = [watcher]
        if role != "web":
            await self._start_workers(role)

    async def _start_workers(self, role: ProcessRole) -> None:
        settings = self.settings
        # Whatever this installation's earlier processes held when they were stopped (or
        # killed) is orphaned now; this process holds its own leases under a fresh owner.
        name = settings.instance_name
        released = await self.store.conversations.release_installation(
            name, except_owner=self.owner
        )
        released += await self.store.outbox.release_installation(name, except_owner=self.owner)
        if released:
            log.info("took back %d lease(s) held before the restart", released)
        sender: Sender
        if settings.talkme_test_mode:
            sender = _record_only
            done_status = CallStatus.RECORDED
        else:
            self._http = httpx.AsyncClient(
                timeout=settings.talkme_timeout_seconds,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
            sender = talkme_sender(TalkMeClient.from_settings(settings, http=self._http))
            done_status = CallStatus.SENT
        self._open_account()
        if not settings.talkme_test_mode:
            sender = routed_sender(sender, self.account)
        self.dispatcher = OutboxDispatcher(
            self.store.outbox,
            sender,
            RetryPolicy(
                max_attempts=settings.outbox_max_attempts,
                base_seconds=settings.outbox_backoff_base_seconds,
                max_seconds=settings.outbox_backoff_max_seconds,
            ),
            owner=self.owner,
            done_status=done_status,
            # A client card is no visitor waiting: its update outlasts an account API outage of
            # a couple of hours rather than the reply's few minutes.
            lane_policies={
                LANE_ACCOUNT: RetryPolicy(
                    max_attempts=max(settings.outbox_max_attempts, ACCOUNT_ATTEMPTS),
                    base_seconds=settings.outbox_backoff_base_seconds,
                    max_seconds=max(settings.outbox_backoff_max_seconds, ACCOUNT_BACKOFF_MAX),
                )
            },
            # An attempt lasts at most the TalkMe timeout; a longer lease only delays recovery.
            lease_seconds=settings.talkme_timeout_seconds * 2 + 5,
        )
        dispatcher = self.dispatcher
        url = settings.resolved_database_url
        notified = supports_notifications(url)
        # A worker of its own hears of new messages only through the database: by NOTIFY where
        # there is one, else by polling often (SQLite shared by a web and a worker process).
        poll = FALLBACK_POLL_SECONDS if role == "all" or notified else settings.worker_poll_seconds
        self.turns = TurnRunner(
            self.store.conversations,
            lambda: self.components.engine,
            TurnSettings(
                workers=settings.workers,
                lease_seconds=settings.lease_seconds,
                typing_ttl=settings.typing_ttl_seconds,
                max_turn_chars=settings.max_turn_chars,
                timezone=self.profile.zone(),
                max_attempts=settings.turn_max_attempts,
                retry_base_seconds=settings.turn_retry_base_seconds,
                poll_seconds=poll,
            ),
            owner=self.owner,
            on_calls_queued=dispatcher.wakeup.set,
            on_turn_done=self.metrics.observe_turn,
            presence=self.presence.now if self.presence is not None else None,
            account_calls=self.account is not None,
        )
        self._tasks += [
            asyncio.create_task(self.turns.run(), name="turns"),
            asyncio.create_task(dispatcher.run(), name="outbox"),
        ]
        if self.harvester is not None:
            self._tasks.append(asyncio.create_task(self.harvester.run(), name="harvest"))

        if notified:
            self.listener = ChangeListener(url, {INBOX_CHANNEL: self.turns.notify})
            self._tasks.append(asyncio.create_task(self.listener.run(), name="wakeups"))

    def _open_account(self) -> None:
        """The account API client, operator presence and answer harvest, when a key is set."""
        settings = self.settings
        key = settings.account_api_key
        if key is None:
            return
        self._account_http = httpx.AsyncClient(timeout=settings.talkme_timeout_seconds)
        talkme = TalkMeClient(
            settings.talkme_account_api_url,
            http=self._account_http,
            timeout=settings.talkme_timeout_seconds,
        )
        self.account = AccountClient(talkme, key)
        self.presence = OperatorPresence(
            self.account,
            lambda: self.profile,
            cache_seconds=settings.operators_cache_seconds,
            timeout_seconds=settings.operators_timeout_seconds,
        )
        self.harvester = OperatorAnswerHarvester(
            self.store.operator_answers,
            self.account,
            HarvestSettings(interval_seconds=settings.harvest_interval_seconds),
        )

    async def close(self) -> None:
        """Stop background work and release connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.knowledge.close()
        if self._http is not None:
            await self._http.aclose()
        if self._account_http is not None:
            await self._account_http.aclose()
        await self.store.close()


def _embedding_progress() -> Callable[[int, int], None]:
    """A progress callback that logs each tenth of the embedding work, once."""
    logged: set[int] = set()

    def report(done: int, total: int) -> None:
        if total <= 0:
            return
        tenth = done * 10 // total
        if tenth not in logged:
            logged.add(tenth)
            log.info("embedding the knowledge base: %d of %d done", done, total)

    return report


async def _record_only(method: str, token: str, body: dict[str, object]) -> None:
    """Test mode: nothing goes to TalkMe; the outbox row, marked "recorded", is the record."""
    log.debug("test mode: recorded %s without sending", method)
