"""Wiring: builds the store, knowledge base, answerers and engine from settings, and starts what a
process role runs (the worker role's parts are built in `service/workers.py`).

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

from talkme_consultant.answer.base import Answerer
from talkme_consultant.answer.intents import reads_whole
from talkme_consultant.answer.llm import LLMAnswerer
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.answer.profile_basics import ProfileBasics
from talkme_consultant.config import Settings
from talkme_consultant.dialog.costs import parse_prices
from talkme_consultant.dialog.engine import DialogEngine, EngineOptions
from talkme_consultant.dialog.replies import FinishCodes
from talkme_consultant.helpers.private_files import ensure_private_dir
from talkme_consultant.knowledge.embedders import Embedder, LocalE5Embedder, OpenAIEmbedder
from talkme_consultant.knowledge.loaders import ParseLimits
from talkme_consultant.profile import BusinessProfile, load_profile
from talkme_consultant.service.booking_setup import booking_turns, build_calendar
from talkme_consultant.service.clock import now
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import Lessons
from talkme_consultant.service.metrics import Metrics
from talkme_consultant.service.open_questions import OpenQuestions
from talkme_consultant.service.parsing import ParseOptions
from talkme_consultant.service.workers import Workers
from talkme_consultant.store.inbox import IncomingMessage
from talkme_consultant.store.leases import process_owner
from talkme_consultant.store.locks import LOCK_KNOWLEDGE
from talkme_consultant.store.store import Store

log = logging.getLogger(__name__)

DIR_POLL_SECONDS = 2.0
# A burst of messages never delays a turn by more than this many debounce windows.
MAX_WAIT_WINDOWS = 4

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
    """Owns every long-lived object of one service instance, each built complete in `open`.

    What only runs in some processes is started by `start_background`: the KNOWLEDGE_DIR
    watcher in every role, the `Workers` (turns, outbox, wake-ups) unless the role is `web`.
    """

    def __init__(
        self, settings: Settings, store: Store, knowledge: KnowledgeBase, profile: BusinessProfile
    ) -> None:
        self.settings = settings
        self.store = store
        self.knowledge = knowledge
        self.profile = profile
        self.metrics = Metrics()
        # Built once: its circuit breaker must outlive a profile change.
        self.calendar = build_calendar(settings, profile)
        # Leases are held per process, so no other process ever mistakes them for its own.
        self.owner = process_owner(settings.instance_name)
        self._components = self._build_components()
        self.lessons = Lessons(store.lessons, knowledge)
        self.questions = OpenQuestions(store.questions, self.lessons, knowledge)
        self._watcher: asyncio.Task[None] | None = None
        # None in a process that serves HTTP only: its turns run in `worker` processes.
        self._workers: Workers | None = None

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
                    await knowledge.folder.sync()
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
            records=self.knowledge,
        )
        primary: Answerer = offline
        if settings.llm_enabled:
            primary = LLMAnswerer.from_settings(
                settings, self.knowledge, profile, records=self.knowledge
            )
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
        booking = booking_turns(self.calendar, self.store.bookings, settings, profile)
        engine = DialogEngine(primary, offline, phrases, options, booking=booking)
        return Components(phrases=phrases, offline=offline, primary=primary, engine=engine)

    @property
    def engine(self) -> DialogEngine:
        """The dialog engine in use."""
        return self._components.engine

    @property
    def answerer_name(self) -> str:
        """The answerer turns try first: "llm" or "offline"."""
        return self._components.primary.name

    async def receive_message(self, message: IncomingMessage) -> bool:
        """Store a visitor's message durably (deduplicated) and wake this process's turns;
        False when it was a duplicate. Other processes hear of it through the store (see
        `store/inbox_postgres.py`)."""
        window = self.settings.debounce_seconds
        debounce = window
        if not message.is_attachment and reads_whole(message.text):
            # The question is here: wait only for a quick correction or addition. A message
            # that goes on («и педикюр») stored while the turn still waits pushes it back by
            # the whole window; one typed after the answer has gone gets an answer of its own.
            debounce = min(window, self.settings.debounce_question_seconds)
        workers = self._workers
        with workers.storing() if workers is not None else contextlib.nullcontext():
            accepted = await self.store.inbox.accept(
                message, now=now(), debounce=debounce, max_wait=window * MAX_WAIT_WINDOWS
            )
        if accepted and workers is not None:
            workers.message_stored()
        return accepted

    async def start_background(self, role: ProcessRole = "all") -> None:
        """Start what `role` runs: the KNOWLEDGE_DIR and index-version watcher always; the turn
        workers, the outbox dispatcher and (on PostgreSQL) the wake-up listener unless `web`."""
        self._watcher = asyncio.create_task(self.knowledge.watch(DIR_POLL_SECONDS), name="kb-watch")
        if role == "web":
            return
        self._workers = await Workers.start(
            self.settings,
            self.store,
            owner=self.owner,
            engine=lambda: self._components.engine,
            profile=lambda: self.profile,
            on_turn_done=self.metrics.observe_turn,
            webhooks_here=role == "all",
        )

    async def close(self) -> None:
        """Stop background work and release connections."""
        await self.questions.close()
        if self._workers is not None:
            await self._workers.stop()
            self._workers = None
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self.knowledge.close()
        if self.calendar is not None:
            await self.calendar.aclose()
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
