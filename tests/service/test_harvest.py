"""The sweep for operators' answers: windows of at most 14 days from a cursor kept in the store.

A real SQLite store and the simulator's account API over real HTTP; the dialogue-by-dialogue
reading is switched off (`per_round=0`) so only the sweep can find the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from talkme_consultant.service.harvest import (
    SWEEP_CURSOR,
    HarvestSettings,
    OperatorAnswerHarvester,
)
from talkme_consultant.store.store import Store
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.client import TalkMeClient, TalkMeError
from talkme_consultant.talkme.simulator import (
    DEFAULT_ACCOUNT_KEY,
    RunningSimulator,
    running_simulator,
)
from tests.store.store_spec import accept, incoming, pending_ids, turn

KEY = "visitor-1"
NOW = datetime.now(UTC).replace(microsecond=0)
SETTINGS = HarvestSettings(per_round=0, max_wait=timedelta(days=30))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator() as running:
        yield running


@pytest.fixture
async def account(sim: RunningSimulator) -> AsyncIterator[AccountClient]:
    async with TalkMeClient(sim.api_url, timeout=2.0) as client:
        yield AccountClient(client, DEFAULT_ACCOUNT_KEY)


async def hand_over(store: Store, question: str, at: datetime) -> None:
    moment = at.timestamp()
    assert await accept(store, incoming(KEY, 1, question), moment - 5)
    assert await store.conversations.claim(KEY, "a", now=moment - 1, lease_seconds=30)
    result = turn(
        await pending_ids(store, KEY),
        visitor=question,
        bot="Передаю администратору",
        handed_off=True,
        handed_over_question=question,
    )
    assert await store.conversations.finish_turn(KEY, "a", result, now=moment)


async def test_a_three_week_gap_is_read_in_windows_of_at_most_fourteen_days(
    store: Store, sim: RunningSimulator, account: AccountClient
) -> None:
    handed_over = NOW - timedelta(days=20)
    await hand_over(store, "Можно ли прийти с собакой?", handed_over)
    sim.state.account.add_message(KEY, "operator", "Да, с маленькой можно.", at=handed_over)
    harvester = OperatorAnswerHarvester(store.operator_answers, account, SETTINGS, wall=lambda: NOW)

    report = await harvester.run_round()

    assert report.answers == 1
    [answer] = await store.operator_answers.operator_answers_for(KEY)
    assert (answer.question, answer.answer) == (
        "Можно ли прийти с собакой?",
        "Да, с маленькой можно.",
    )
    ranges = [c.body["dateRange"] for c in sim.state.account.calls("chat/message/getList")]
    assert len(ranges) == 2
    assert all(
        datetime.fromisoformat(r["stop"]) - datetime.fromisoformat(r["start"]) <= timedelta(days=14)
        for r in ranges
    )
    assert await store.operator_answers.cursor(SWEEP_CURSOR) == NOW.timestamp()


async def test_a_failed_window_is_read_again_from_the_same_cursor(
    store: Store, sim: RunningSimulator, account: AccountClient
) -> None:
    handed_over = NOW - timedelta(days=3)
    await hand_over(store, "Есть ли у вас парковка для велосипедов?", handed_over)
    harvester = OperatorAnswerHarvester(store.operator_answers, account, SETTINGS, wall=lambda: NOW)
    sim.state.account.set_mode("down")

    with pytest.raises(TalkMeError):
        await harvester.run_round()
    assert await store.operator_answers.cursor(SWEEP_CURSOR) == handed_over.timestamp()

    sim.state.account.add_message(KEY, "operator", "Да, у входа.", at=NOW - timedelta(days=1))
    sim.state.account.set_mode("ok")
    report = await harvester.run_round()

    assert report.answers == 1
    assert [a.answer for a in await store.operator_answers.list_answers()] == ["Да, у входа."]
    assert await store.operator_answers.waiting(since=0, limit=10) == []
