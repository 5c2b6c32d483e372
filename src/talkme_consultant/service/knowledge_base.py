"""The live knowledge base: files in the store, an index in memory, swapped whole on change.

Searches always go to a complete index: a rebuild happens beside the one in use and replaces it
in a single assignment, so a running service never serves a half-built index.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from talkme_consultant.knowledge.cache import EmbeddingCache
from talkme_consultant.knowledge.calibration import Calibration, calibrate
from talkme_consultant.knowledge.confidence import CONFIDENCE_THRESHOLD
from talkme_consultant.knowledge.embedders import Embedder
from talkme_consultant.knowledge.evaluation import CaseFileError, evaluate, load_cases
from talkme_consultant.knowledge.index import KnowledgeIndex, build_index
from talkme_consultant.knowledge.loaders import SUPPORTED_SUFFIXES
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.service.clock import now
from talkme_consultant.service.parsing import ParseOptions, parse_isolated
from talkme_consultant.store.knowledge import FileUpdate, KnowledgeRepository

log = logging.getLogger(__name__)

CASES_FILENAME = "cases.jsonl"
DEFAULT_PRECISION_TARGET = 0.9
PARALLEL_READERS = 2
Progress = Callable[[int, int], None]
BuildLock = Callable[[], contextlib.AbstractAsyncContextManager[None]]
"""Opens a lock that spans the processes sharing the store, held while one of them builds."""
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


@dataclass(frozen=True)
class IngestReport:
    """The outcome of adding files."""

    version: int
    files: dict[str, int]  # file → records parsed from it
    errors: dict[str, str]  # file → why it could not be read


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
        self._build_lock: BuildLock = build_lock or _alone
        # The KNOWLEDGE_DIR fingerprint this process last brought into the store (or found
        # there): the folder is synced, under the build lock, only when it differs.
        self._synced_fingerprint: str | None = None
        self._parse_options = parse_options or ParseOptions()
        # Each reader may use PARSE_MEMORY_MB: an upload and a folder sync at once is the most
        # this service lets file reading take from the machine.
        self._readers = asyncio.Semaphore(PARALLEL_READERS)
        self._cache = cache
        self._embedder = embedder
        self._knowledge_dir = knowledge_dir
        self._index: KnowledgeIndex | None = None
        self._version = -1
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self._evaluation_task: asyncio.Task[None] | None = None
        self._wanted: tuple[bool, bool] | None = None  # (force, reparse) of a queued rebuild
        self.status = BuildStatus()
        self.evaluation: dict[str, Any] | None = None
        self._default_threshold = default_threshold
        self._precision_target = precision_target
        self.calibration = Calibration(
            threshold=default_threshold, source="default", target=precision_target
        )

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
        return self.calibration.threshold

    @property
    def ready(self) -> bool:
        """True once an index is being served."""
        return self._index is not None

    @property
    def embedder(self) -> Embedder | None:
        """The embedder records and queries are embedded with (None: keywords only)."""
        return self._embedder

    @property
    def cache(self) -> EmbeddingCache:
        """The embedding cache the index is built through."""
        return self._cache

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
                await self._build(progress)
        # Scoring the case file takes a query embedding per case: it must not delay serving.
        if self._evaluation_task is not None:
            self._evaluation_task.cancel()
        self._evaluation_task = asyncio.create_task(self._evaluate_quietly())
        return True

    async def _build(self, progress: Progress | None) -> None:
        self.status = BuildStatus(state="embedding", started_at=now())
        try:
            snapshot = await self._repository.load_snapshot()
            version, records = snapshot.version, snapshot.records

            def report(done: int, total: int) -> None:
                self.status.done, self.status.total = done, total
                if progress is not None:
                    progress(done, total)

            index = await build_index(
                records, self._embedder, self._cache, report, snapshot.phrasings
            )
        except Exception as error:
            self.status.state, self.status.error = "failed", type(error).__name__
            self.status.finished_at = now()
            log.exception("knowledge index build failed")
            raise
        self._index, self._version = index, version
        self.status.state, self.status.finished_at = "idle", now()
        log.info("knowledge index v%d serves %d records", version, len(records))

    async def _evaluate_quietly(self) -> None:
        try:
            await self._evaluate()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not score the case file")

    async def wait_evaluated(self) -> None:
        """Wait until the case file of the current version has been scored."""
        if self._evaluation_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._evaluation_task

    async def _evaluate(self) -> None:
        """Score the business's own regression questions, when it has a case file."""
        stored = await self._repository.get_file(CASES_FILENAME)
        default = calibrate([], target=self._precision_target, default=self._default_threshold)
        if stored is None:
            self.evaluation = None
            self.calibration = default
            return
        try:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / CASES_FILENAME
                path.write_bytes(stored.content)
                cases = load_cases(path)
            report = await evaluate(self, cases)
        except CaseFileError as error:
            self.evaluation = {"error": str(error), "at": now()}
            self.calibration = default
        else:
            self.calibration = calibrate(
                report.first_hits, target=self._precision_target, default=self._default_threshold
            )
            self.evaluation = {
                "cases": report.total,
                "recall_at_1": round(report.recall_at_1, 4),
                "recall_at_5": round(report.recall_at_5, 4),
                "mrr_at_10": round(report.mrr_at_10, 4),
                "misses": [asdict(m) for m in report.misses[:50]],
                "version": self._version,
                "at": now(),
            }
        await self._repository.set_evaluation(self.evaluation)

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
                    await self.reparse_all()
                await self.refresh(force=force)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("knowledge base rebuild failed")

    async def reparse_all(self) -> IngestReport:
        """Parse every stored file again (after a loader upgrade) and store the new records."""
        self.status = BuildStatus(state="parsing", started_at=now())
        by_origin: dict[str, list[tuple[str, bytes]]] = {}
        for info in await self._repository.list_files():
            stored = await self._repository.get_file(info.name)
            if stored is not None:
                by_origin.setdefault(info.origin, []).append((stored.name, stored.content))
        report = IngestReport(version=self._version, files={}, errors={})
        for origin, files in by_origin.items():
            part = await self.add_files(files, origin=origin)
            report = IngestReport(
                version=part.version,
                files={**report.files, **part.files},
                errors={**report.errors, **part.errors},
            )
        return report

    @property
    def rebuilding(self) -> bool:
        """True while a background rebuild runs."""
        return self._background is not None and not self._background.done()

    async def wait_idle(self) -> None:
        """Wait for a background rebuild to end (tests, shutdown)."""
        if self._background is not None:
            with contextlib.suppress(Exception):
                await self._background

    async def close(self) -> None:
        """Stop background work (rebuilds finish; an evaluation in progress is dropped)."""
        await self.wait_idle()
        if self._evaluation_task is not None:
            self._evaluation_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._evaluation_task

    # -- changing the files ---------------------------------------------------------------

    async def parse_files(
        self, files: Sequence[tuple[str, bytes]], *, origin: str
    ) -> list[FileUpdate]:
        """Parse files in a limited child process; an unreadable one carries its error (in plain
        words) and no records. Nothing a file does while being read can stop this process."""
        readable = [(name, content) for name, content in files if name != CASES_FILENAME]
        async with self._readers:
            parsed = iter(await parse_isolated(readable, self._parse_options))
        updates: list[FileUpdate] = []
        for name, content in files:
            # The case file is for scoring, not for answering: it is stored, never parsed here.
            records, error = next(parsed) if name != CASES_FILENAME else ([], None)
            if error is None and not records and name != CASES_FILENAME:
                error = "no text found in the file"
            updates.append(
                FileUpdate(
                    name=name,
                    content=content,
                    sha256=hashlib.sha256(content).hexdigest(),
                    origin=origin,
                    records=records,
                    error=error,
                )
            )
        return updates

    async def store_files(
        self,
        updates: Sequence[FileUpdate],
        *,
        replace_all: bool = False,
        dir_fingerprint: str | None = None,
        remove: Sequence[str] = (),
    ) -> IngestReport:
        """Store parsed files (and removals) in one commit; returns the new version."""
        version = await self._repository.apply(
            updates,
            remove=remove,
            replace_all=replace_all,
            now=now(),
            dir_fingerprint=dir_fingerprint,
        )
        errors = {u.name: u.error for u in updates if u.error}
        self.status.file_errors = errors
        return IngestReport(
            version=version, files={u.name: len(u.records) for u in updates}, errors=errors
        )

    async def add_files(
        self,
        files: Sequence[tuple[str, bytes]],
        *,
        origin: str,
        replace_all: bool = False,
        dir_fingerprint: str | None = None,
        remove: Sequence[str] = (),
    ) -> IngestReport:
        """Parse and store files (a file that fails to parse is stored with its error and no
        records, leaving the rest of the knowledge base untouched)."""
        updates = await self.parse_files(files, origin=origin)
        return await self.store_files(
            updates, replace_all=replace_all, dir_fingerprint=dir_fingerprint, remove=remove
        )

    async def delete_files(self, names: Sequence[str] | None) -> int:
        """Delete some files (None: all); returns the new version."""
        if names is None:
            return await self._repository.apply([], replace_all=True, now=now())
        return await self._repository.apply([], remove=names, now=now())

    # -- KNOWLEDGE_DIR ---------------------------------------------------------------------

    def dir_fingerprint(self) -> str | None:
        """A cheap fingerprint of KNOWLEDGE_DIR (names, sizes, mtimes) to notice changes."""
        folder = self._knowledge_dir
        if folder is None or not folder.is_dir():
            return None
        digest = hashlib.sha256()
        for path in sorted(_dir_files(folder)):
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    async def sync_dir(self) -> bool:
        """Ingest KNOWLEDGE_DIR if it changed since last time; True when the store changed."""
        folder = self._knowledge_dir
        fingerprint = self.dir_fingerprint()
        if folder is None or fingerprint is None:
            return False
        state = await self._repository.state()
        if state.dir_fingerprint == fingerprint:
            self._synced_fingerprint = fingerprint
            return False
        stored = {info.name: info for info in await self._repository.list_files()}
        changed: list[tuple[str, bytes]] = []
        present: set[str] = set()
        too_large: list[str] = []
        for path in sorted(_dir_files(folder)):
            present.add(path.name)
            if path.stat().st_size > self._parse_options.max_file_bytes:
                # Never read whole into this process; the owner sees why in the status.
                too_large.append(path.name)
                continue
            content = await asyncio.to_thread(path.read_bytes)
            known = stored.get(path.name)
            if known is None or known.sha256 != hashlib.sha256(content).hexdigest():
                changed.append((path.name, content))
        gone = [
            name for name, info in stored.items() if info.origin == "dir" and name not in present
        ]
        if not changed and not gone and not too_large:
            await self._repository.set_dir_fingerprint(fingerprint)
            self._synced_fingerprint = fingerprint
            return False
        limit = self._parse_options.max_file_bytes
        updates = await self.parse_files(changed, origin="dir")
        updates += [
            FileUpdate(
                name=name,
                content=b"",
                sha256="",
                origin="dir",
                records=[],
                error=f"larger than the {limit}-byte limit for one file (UPLOAD_MAX_BYTES)",
            )
            for name in too_large
        ]
        report = await self.store_files(updates, dir_fingerprint=fingerprint, remove=gone)
        self._synced_fingerprint = fingerprint
        log.info(
            "KNOWLEDGE_DIR changed: %d file(s) updated, %d removed, %d unreadable",
            len(changed),
            len(gone),
            len(report.errors),
        )
        return True

    async def watch_dir(self, interval: float) -> None:
        """Poll KNOWLEDGE_DIR and the store's version; rebuild when either moved (until
        cancelled). The version moves when any process sharing the store changed the files or
        the lessons (an upload, a deletion, a lesson, its own KNOWLEDGE_DIR sync, the CLI's
        `kb ingest` and `kb teach`), so every process serves it soon."""
        while True:
            await asyncio.sleep(interval)
            try:
                changed = False
                if self.dir_fingerprint() != self._synced_fingerprint:
                    async with self._build_lock():
                        changed = await self.sync_dir()
                moved = (await self._repository.state()).version != self._version
                if changed or (moved and not self.rebuilding):
                    self.request_refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not pick up KNOWLEDGE_DIR changes")


@contextlib.asynccontextmanager
async def _alone() -> AsyncIterator[None]:
    yield


def _dir_files(folder: Path) -> list[Path]:
    return [
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith((".", "~$"))
        and (path.suffix.lower() in SUPPORTED_SUFFIXES or path.name == CASES_FILENAME)
    ]
