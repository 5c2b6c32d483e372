"""The peers every end-to-end spec talks to: TalkMe's simulator and a scripted language model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from talkme_consultant.talkme.simulator import RunningSimulator, running_simulator
from tests.support.openai_server import ScriptedOpenAIServer, scripted_openai_server


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    """The TalkMe simulator on a free port, as the service's TalkMe."""
    async with running_simulator() as simulator:
        yield simulator


@pytest.fixture
async def llm() -> AsyncIterator[ScriptedOpenAIServer]:
    """An OpenAI-compatible server whose answers each test scripts (`llm.handler`)."""
    async with scripted_openai_server(strict=False) as server:
        yield server
