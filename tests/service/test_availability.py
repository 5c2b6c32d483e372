"""Operator presence before a turn: asked of the account API, remembered briefly, bounded in
time; and the call-back time read from the profile's hours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from talkme_consultant.config import SAMPLE_PROFILE_PATH
from talkme_consultant.profile import BusinessProfile, load_profile
from talkme_consultant.service.availability import OperatorPresence, callback_time
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.client import TalkMeClient
from talkme_consultant.talkme.simulator import (
    DEFAULT_ACCOUNT_KEY,
    RunningSimulator,
    running_simulator,
)

MOSCOW = ZoneInfo("Europe/Moscow")
PROFILE = load_profile(SAMPLE_PROFILE_PATH)


def at(text: str) -> datetime:
    """A Moscow wall-clock time; 2026-11-30 is a Monday."""
    return datetime.fromisoformat(text).replace(tzinfo=MOSCOW)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-30 07:30", "сегодня после 9:00"),  # Monday before opening
        ("2026-11-30 12:00", "сегодня, до 21:00"),  # open now
        ("2026-11-30 22:15", "завтра после 9:00"),  # Monday night
        ("2026-12-04 23:00", "завтра после 10:00"),  # Friday night: Saturday opens at ten
    ],
)
def test_the_call_back_time_comes_from_the_profiles_hours(moment: str, expected: str) -> None:
    assert callback_time(PROFILE, at(moment)) == expected


def test_a_day_off_is_skipped_to_the_next_working_day() -> None:
    profile = PROFILE.model_copy(
        update={
            "branches": [
                b.model_copy(
                    update={"hours": {"weekdays": "с 9:00 до 18:00", "weekends": "выходной"}}
                )
                for b in PROFILE.branches
            ]
        }
    )
    assert callback_time(profile, at("2026-12-05 12:00")) == "в понедельник после 9:00"


def test_without_hours_there_is_no_promise_of_a_time() -> None:
    profile = BusinessProfile(name="Без часов")
    assert callback_time(profile, datetime.now(UTC)) is None


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator() as running:
        yield running


class Clock:
    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


async def test_presence_is_remembered_for_the_cache_period_then_asked_again(
    sim: RunningSimulator,
) -> None:
    clock = Clock()
    async with TalkMeClient(sim.api_url, timeout=2.0) as client:
        presence = OperatorPresence(
            AccountClient(client, DEFAULT_ACCOUNT_KEY),
            lambda: PROFILE,
            cache_seconds=30,
            timeout_seconds=1,
            clock=clock,
        )
        first = await presence.now()
        sim.state.account.set_operator(1, online=True)
        clock.value = 29
        cached = await presence.now()
        clock.value = 31
        fresh = await presence.now()

    assert first is not None and not first.online
    assert first.callback_time
    assert cached is not None and not cached.online, "within 30 s the answer is remembered"
    assert fresh is not None and fresh.online
    assert len(sim.state.account.calls("chat/operator/getList")) == 2


async def test_a_stalled_api_gives_unknown_presence_within_the_bound(
    sim: RunningSimulator,
) -> None:
    sim.state.account.set_mode("slow", delay=30)
    async with TalkMeClient(sim.api_url, timeout=10.0) as client:
        presence = OperatorPresence(
            AccountClient(client, DEFAULT_ACCOUNT_KEY),
            lambda: PROFILE,
            cache_seconds=30,
            timeout_seconds=0.3,
        )
        assert await presence.now() is None
        assert await presence.now() is None, "the failure is remembered too"

    assert len(sim.state.account.calls("chat/operator/getList")) == 1
