"""KNOWLEDGE_DIR: the folder whose files the store follows (added, changed and removed files)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from talkme_consultant.helpers.kinds import FileOrigin
from talkme_consultant.knowledge.loaders import SUPPORTED_SUFFIXES
from talkme_consultant.service.case_scoring import CASES_FILENAME
from talkme_consultant.service.knowledge_files import KnowledgeFiles
from talkme_consultant.store.knowledge import FileUpdate, KnowledgeRepository

log = logging.getLogger(__name__)

BuildLock = Callable[[], contextlib.AbstractAsyncContextManager[None]]
"""Opens a lock that spans the processes sharing the store, held while one of them builds."""


@contextlib.asynccontextmanager
async def alone() -> AsyncIterator[None]:
    """The build lock of a process that shares its store with nobody."""
    yield


class KnowledgeFolder:
    """Brings KNOWLEDGE_DIR into the store when it changed (a cheap fingerprint decides)."""

    def __init__(
        self,
        folder: Path | None,
        repository: KnowledgeRepository,
        files: KnowledgeFiles,
        build_lock: BuildLock = alone,
    ) -> None:
        self._folder = folder
        self._repository = repository
        self._files = files
        self._build_lock = build_lock
        # The fingerprint this process last brought into the store (or found there): the folder
        # is synced, under the build lock, only when it differs.
        self._synced_fingerprint: str | None = None

    def fingerprint(self) -> str | None:
        """A cheap fingerprint of KNOWLEDGE_DIR (names, sizes, mtimes) to notice changes."""
        folder = self._folder
        if folder is None or not folder.is_dir():
            return None
        digest = hashlib.sha256()
        for path in sorted(_dir_files(folder)):
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    @property
    def changed(self) -> bool:
        """True when the folder differs from what this process last synced."""
        return self.fingerprint() != self._synced_fingerprint

    async def sync(self) -> bool:
        """Store KNOWLEDGE_DIR if it changed since last time; True when the store changed."""
        folder = self._folder
        fingerprint = self.fingerprint()
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
        limit = self._files.max_file_bytes
        for path in sorted(_dir_files(folder)):
            present.add(path.name)
            if path.stat().st_size > limit:
                # Never read whole into this process; the owner sees why in the status.
                too_large.append(path.name)
                continue
            content = await asyncio.to_thread(path.read_bytes)
            known = stored.get(path.name)
            if known is None or known.sha256 != hashlib.sha256(content).hexdigest():
                changed.append((path.name, content))
        gone = [
            name
            for name, info in stored.items()
            if info.origin == FileOrigin.DIR and name not in present
        ]
        if not changed and not gone and not too_large:
            await self._repository.set_dir_fingerprint(fingerprint)
            self._synced_fingerprint = fingerprint
            return False
        updates = await self._files.parse(changed, origin=FileOrigin.DIR)
        updates += [
            FileUpdate(
                name=name,
                content=b"",
                sha256="",
                origin=FileOrigin.DIR,
                records=[],
                error=f"larger than the {limit}-byte limit for one file (UPLOAD_MAX_BYTES)",
            )
            for name in too_large
        ]
        report = await self._files.store(updates, dir_fingerprint=fingerprint, remove=gone)
        self._synced_fingerprint = fingerprint
        log.info(
            "KNOWLEDGE_DIR changed: %d file(s) updated, %d removed, %d unreadable",
            len(changed),
            len(gone),
            len(report.errors),
        )
        return True

    async def sync_if_changed(self) -> None:
        """Sync under the build lock when the folder looks changed (a watcher's tick)."""
        if self.changed:
            async with self._build_lock():
                await self.sync()


def _dir_files(folder: Path) -> list[Path]:
    return [
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith((".", "~$"))
        and (path.suffix.lower() in SUPPORTED_SUFFIXES or path.name == CASES_FILENAME)
    ]
