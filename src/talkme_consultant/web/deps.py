"""What the routes are given: the web role's long-lived objects, as FastAPI dependencies.

The app's lifespan builds one `WebState` and keeps it on `app.state`; this module is the only one
that reads it there. A route names what it uses in its signature (`files: FilesDep`), as in
FastAPI's full-stack template. None of these take parameters of their own, so they add nothing to
the OpenAPI description; they are async so that FastAPI calls them on the event loop rather than
in a worker thread.

| dependency | gives |
| --- | --- |
| `RuntimeDep` | the `Runtime` (for the engine and the answerer's name) |
| `SettingsDep`, `ProfileDep` | the settings, the business profile |
| `StoreDep` | the store's repositories (reads for the owner's views) |
| `KnowledgeDep`, `FilesDep` | the knowledge base being served; the owner's file operations |
| `QuestionsDep`, `LessonsDep` | open questions; the owner's answers and taught phrasings |
| `MetricsDep` | this instance's counters |
| `AdminTokenDep`, `ConsoleDep` | the admin token; the console's templates, key and throttle |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.applications import Starlette

from talkme_consultant.config import Settings
from talkme_consultant.profile import BusinessProfile
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.knowledge_files import KnowledgeFiles
from talkme_consultant.service.lessons import Lessons
from talkme_consultant.service.metrics import Metrics
from talkme_consultant.service.open_questions import OpenQuestions
from talkme_consultant.service.runtime import Runtime
from talkme_consultant.store.store import Store
from talkme_consultant.web.console.state import ConsoleState

T = TypeVar("T")


@dataclass(frozen=True)
class WebState:
    """The web role's container, complete once the lifespan has built it: the runtime, the admin
    token (from ADMIN_TOKEN or DATA_DIR) and the console's state derived from that token."""

    runtime: Runtime
    admin_token: str
    console: ConsoleState


def web_state_of(app: Starlette) -> WebState:
    """The state the lifespan built for `app`."""
    state: WebState = app.state.web
    return state


def web_state(request: Request) -> WebState:
    """The state of the app serving `request` (for helpers that are not routes)."""
    return web_state_of(request.app)


def _part(part: Callable[[WebState], T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency giving one part of the web state (FastAPI sees only its `request`)."""

    async def dependency(request: Request) -> T:
        return part(web_state(request))

    return dependency


RuntimeDep = Annotated[Runtime, Depends(_part(lambda web: web.runtime))]
SettingsDep = Annotated[Settings, Depends(_part(lambda web: web.runtime.settings))]
ProfileDep = Annotated[BusinessProfile, Depends(_part(lambda web: web.runtime.profile))]
StoreDep = Annotated[Store, Depends(_part(lambda web: web.runtime.store))]
KnowledgeDep = Annotated[KnowledgeBase, Depends(_part(lambda web: web.runtime.knowledge))]
FilesDep = Annotated[KnowledgeFiles, Depends(_part(lambda web: web.runtime.knowledge.files))]
QuestionsDep = Annotated[OpenQuestions, Depends(_part(lambda web: web.runtime.questions))]
LessonsDep = Annotated[Lessons, Depends(_part(lambda web: web.runtime.lessons))]
MetricsDep = Annotated[Metrics, Depends(_part(lambda web: web.runtime.metrics))]
AdminTokenDep = Annotated[str, Depends(_part(lambda web: web.admin_token))]
ConsoleDep = Annotated[ConsoleState, Depends(_part(lambda web: web.console))]
