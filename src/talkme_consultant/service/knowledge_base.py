"""The live knowledge base: an index in memory over the store's files, swapped whole on change.

Searches always go to a complete index: a rebuild happens beside the one in use and replaces it
in a single assignment, so a running service never serves a half-built index. The files
(`files`), KNOWLEDGE_DIR (`folder`) and the case file's score (`scoring`) are parts of their own;
a change to the files asks for its rebuild itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from talkme_consultant.knowledge.cache import EmbeddingCache
from talkme_consultant.knowledge.calibration import Calibration
from talkme_consultant.knowledge.confidence import CONFIDENCE_THRESHOLD
from talkme_consultant.knowledge.conflicts import Conflicts, find_conflicts
from talkme_consultant.knowledge.embedders import Embedder
from talkme_consultant.knowledge.index import KnowledgeIndex, build_index
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.service.case_scoring import DEFAULT_PRECISION_TARGET, CaseScoring
from talkme_consultant.service.clock import now
from talkme_consultant.service.knowledge_files import KnowledgeFiles
from talkme_consultant.service.knowledge_folder import BuildLock, KnowledgeFolder, alone
from talkme_consultant.service.parsing import ParseOptions
from talkme_consultant.service.question_vectors import QuestionVectors
from talkme_consultant.store.knowledge import KnowledgeRepository
from talkme_consultant.store.models import KnowledgeState

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
BuildState = Literal["idle", "parsing", "embedding", "failed"]
"""Stage of a (re)build: reading files again, embedding and indexing, or done (idle) or failed."""


@dataclass
class BuildStatus:
    """What the owner sees about the newest (re)build."""

    state: BuildState = "idle"
    started_at: float | None = None
    finished_at: float | None = None
    done: int = 0
    total: int = 0
    error: str | None = None
    file_errors: dict[str, str] = field(default_factory=dict)


class KnowledgeBase:
    """Implements the `Retriever` protocol over whichever index is current."""

    def __init__(
        self,
        repository: KnowledgeRepository,
        cache: EmbeddingCache,
        embedder: Embedder | None,
        *,
        knowledge_dir: Path | None = None,
        parse_options: ParseOptions | None = None,
        default_threshold: float = CONFIDENCE_THRESHOLD,
        precision_target: float = DEFAULT_PRECISION_TARGET,
        build_lock: BuildLock | None = None,
    ) -> None:
        """`build_lock` makes builds and KNOWLEDGE_DIR syncs take turns across processes
        sharing the store (none: this process is alone)."""
        self._repository = repository
        self._build_lock: BuildLock = build_lock or alone
        self._cache = cache
        self._embedder = embedder
        self._index: KnowledgeIndex | None = None
        self._conflicts = Conflicts()
        self._version = -1
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self._scoring_task: asyncio.Task[None] | None = None
        self._wanted: tuple[bool, bool] | None = None  # (force, reparse) of a queued rebuild
        self.status = BuildStatus()
        self.question_vectors = QuestionVectors(embedder, cache) if embedder else None
        """Visitors' (and the case file's) questions embedded once, shared by every part."""
        self.scoring = CaseScoring(
            repository,
            self.question_vectors,
            default_threshold=default_threshold,
            precision_target=precision_target,
        )
        self.files = KnowledgeFiles(repository, parse_options or ParseOptions(), self._changed)
        self.folder = KnowledgeFolder(knowledge_dir, repository, self.files, self._build_lock)

    @property
    def version(self) -> int:
        """The store version the current index was built from (-1 before the first build)."""
        return self._version

    @property
    def record_count(self) -> int:
        """Records in the index being served."""
        return len(self._index) if self._index is not None else 0

    @property
    def answer_threshold(self) -> float:
        """The confidence a hit needs to be answered with: calibrated on the business's cases
        after every rebuild, the conservative default without them."""
        return self.scoring.calibration.threshold

    @property
    def calibration(self) -> Calibration:
        """How the answer threshold was chosen."""
        return self.scoring.calibration

    def latest_evaluation(self, state: KnowledgeState) -> dict[str, Any] | None:
        """The case file's score: this process's own once it has scored the index, else the one
        the process that built last kept in `state` (None when there is no case file)."""
        if self.scoring.evaluation is not None:
            return self.scoring.evaluation
        if not state.evaluation:
            return None
        stored = json.loads(state.evaluation)
        return stored if isinstance(stored, dict) else None

    @property
    def ready(self) -> bool:
        """True once an index is being served."""
        return self._index is not None

    @property
    def embedder(self) -> Embedder | None:
        """The embedder records and queries are embedded with (None: keywords only)."""
        return self._embedder

    @property
    def conflicts(self) -> Conflicts:
        """Records of the served version that disagree, found when its index was built: the
        newest of each is served, its older rivals are not."""
        return self._conflicts

    def record(self, record_id: str) -> Record | None:
        """The served record with this id, if the current index has it."""
        index = self._index
        if index is None:
            return None
        return next((r for r in index.records if r.record_id == record_id), None)

    def records(self) -> tuple[Record, ...]:
        """Every record of the index being served."""
        return self._index.records if self._index is not None else ()

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        """Search the current index (empty before the first build)."""
        index = self._index
        if index is None:
            return []
        return await index.search(query, k)

    # -- building -------------------------------------------------------------------------

    async def refresh(self, *, force: bool = False, progress: Progress | None = None) -> bool:
        """Rebuild the index if the store's version moved; True when a new index is served.

        Builds of several processes take turns (`build_lock`): the first embeds what is new and
        caches it in the store, the others then find every embedding cached.
        """
        async with self._lock:
            state = await self._repository.state()
            if not force and state.version == self._version and self._index is not None:
                return False
            async with self._build_lock():
                index = await self._build(progress)
        # Scoring the case file takes a query embedding per new case: it must not delay serving.
        if self._scoring_task is not None:
            self._scoring_task.cancel()
        self._scoring_task = asyncio.create_task(self._score_quietly(index, self._version))
        return True

    async def _build(self, progress: Progress | None) -> KnowledgeIndex:
        self.status = BuildStatus(state="embedding", started_at=now())
        try:
            snapshot = await self._repository.load_snapshot()
            version, records = snapshot.version, snapshot.records

            def report(done: int, total: int) -> None:
                self.status.done, self.status.total = done, total
                if progress is not None:
                    progress(done, total)

            # The newest word on a price or an hour is the one the bot may say: an older file's
            # rival row stays in the store (and on the knowledge page) but is not searched.
            conflicts = await asyncio.to_thread(find_conflicts, records, snapshot.updated_at)
            superseded = conflicts.superseded
            served = [r for r in records if r.record_id not in superseded]
            index = await build_index(
                served, self._embedder, self._cache, report, snapshot.phrasings
            )
        except Exception as error:
            self.status.state, self.status.error = "failed", type(error).__name__
            self.status.finished_at = now()
            log.exception("knowledge index build failed")
            raise
        self._index, self._conflicts, self._version = index, conflicts, version
        self.status.state, self.status.finished_at = "idle", now()
        log.info(
            "knowledge index v%d serves %d records (%d conflicts, %d older rivals left out)",
            version,
            len(served),
            len(conflicts),
            len(superseded),
        )
        return index

    async def _score_quietly(self, index: KnowledgeIndex, version: int) -> None:
        try:
            await self.scoring.score(index, version)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not score the case file")

    async def wait_evaluated(self) -> None:
        """Wait until the case file of the current version has been scored."""
        if self._scoring_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._scoring_task

    def _changed(self, file_errors: dict[str, str]) -> None:
        """The files changed: show what could not be read and serve the change soon."""
        self.status.file_errors = file_errors
        self.request_refresh()

    def request_refresh(self, *, force: bool = False, reparse: bool = False) -> None:
        """Rebuild in the background. One rebuild runs at a time; a request made while one runs
        is remembered and served right after it, so no change is ever left unserved."""
        wanted = self._wanted
        self._wanted = (force or wanted[0], reparse or wanted[1]) if wanted else (force, reparse)
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._rebuild_while_wanted())

    def start_refresh(self, *, force: bool = False, reparse: bool = False) -> bool:
        """Start a rebuild now; False (and nothing queued) when one is already running."""
        if self.rebuilding:
            return False
        self.request_refresh(force=force, reparse=reparse)
        return True

    async def _rebuild_while_wanted(self) -> None:
        while self._wanted is not None:
            (force, reparse), self._wanted = self._wanted, None
            try:
                if reparse:
                    self.status = BuildStatus(state="parsing", started_at=now())
                    await self.files.reparse_all()
                await self.refresh(force=force)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("knowledge base rebuild failed")

    @property
    def rebuilding(self) -> bool:
        """True while a background rebuild runs."""
        return self._background is not None and not self._background.done()

    async def wait_idle(self) -> None:
        """Wait for a background rebuild to end (tests, shutdown)."""
        if self._background is not None:
            with contextlib.suppress(Exception):
                await self._background

    async def watch(self, interval: float) -> None:
        """Poll KNOWLEDGE_DIR and the store's version; rebuild when either moved (until
        cancelled). The version moves when any process sharing the store changed the files or
        the lessons (an upload, a deletion, a lesson, its own KNOWLEDGE_DIR sync, the CLI's
        `kb ingest` and `kb teach`), so every process serves it soon."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.folder.sync_if_changed()
                moved = (await self._repository.state()).version != self._version
                if moved and not self.rebuilding:
                    self.request_refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not pick up KNOWLEDGE_DIR changes")

    async def close(self) -> None:
        """Stop background work (rebuilds finish; a scoring in progress is dropped)."""
        await self.wait_idle()
        if self._scoring_task is not None:
            self._scoring_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._scoring_task
