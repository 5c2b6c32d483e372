"""Fixtures for the talkme room: a simulator served over real HTTP and a client for it."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from talkme_testdata import CAPTURED_WEBHOOK

from talkme_consultant.talkme.client import TalkMeClient
from talkme_consultant.talkme.simulator import RunningSimulator, running_simulator


@pytest.fixture
def captured_webhook() -> dict[str, Any]:
    """A fresh copy of the webhook body captured from real TalkMe traffic."""
    return copy.deepcopy(CAPTURED_WEBHOOK)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    """The TalkMe simulator, served by uvicorn on a free port."""
    async with running_simulator() as running:
        yield running


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[TalkMeClient]:
    """A TalkMe client pointed at the simulator, with a short timeout so timeouts test fast."""
    async with TalkMeClient(sim.api_url, timeout=0.5) as talkme:
        yield talkme
