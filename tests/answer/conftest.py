"""Fixtures for the answerer tests: a scripted model server, a small in-memory knowledge base."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The scripted server lives in tests/support and is shared with other suites; make `tests.*`
# importable however pytest was started (the tests tree has no __init__ files).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.answer.llm_helpers import MemoryRetriever, salon_profile, salon_records  # noqa: E402
from tests.support.openai_server import ScriptedOpenAIServer  # noqa: E402

from talkme_consultant.answer.llm import LLMAnswerer  # noqa: E402
from talkme_consultant.answer.llm_chat import RetryPolicy  # noqa: E402
from talkme_consultant.answer.prompts import PromptLoader  # noqa: E402
from talkme_consultant.profile import BusinessProfile  # noqa: E402


@pytest.fixture(scope="session")
def _running_server() -> Iterator[ScriptedOpenAIServer]:
    # One uvicorn for the whole session (it runs in its own thread and loop); each test resets it.
    server = ScriptedOpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def llm_server(_running_server: ScriptedOpenAIServer) -> Iterator[ScriptedOpenAIServer]:
    """A scripted OpenAI-compatible server with JSON-schema mode, fresh for this test.

    Fails the test if a request arrived with nothing scripted for it.
    """
    _running_server.reset()
    yield _running_server
    unscripted = len(_running_server.unscripted)
    _running_server.reset()
    assert not unscripted, f"the scripted server got {unscripted} unscripted request(s)"


@pytest.fixture
def retriever() -> MemoryRetriever:
    """A keyword retriever over a few salon records."""
    return MemoryRetriever(salon_records())


@pytest.fixture
def profile() -> BusinessProfile:
    """A small business profile."""
    return salon_profile()


AnswererFactory = Callable[..., LLMAnswerer]


@pytest.fixture
def make_answerer(
    llm_server: ScriptedOpenAIServer, retriever: MemoryRetriever, profile: BusinessProfile
) -> AnswererFactory:
    """Build an answerer talking to `llm_server`; keyword arguments override the defaults."""

    def make(
        server: ScriptedOpenAIServer | None = None, timeout: float = 5.0, **kwargs: Any
    ) -> LLMAnswerer:
        kwargs.setdefault("retry", RetryPolicy(max_retries=2, backoff_seconds=0.0))
        return LLMAnswerer(
            (server or llm_server).client(timeout=timeout),
            "test-model",
            kwargs.pop("retriever", retriever),
            kwargs.pop("profile", profile),
            PromptLoader(),
            **kwargs,
        )

    return make
