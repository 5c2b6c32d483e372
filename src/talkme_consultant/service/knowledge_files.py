"""The knowledge base's files: reading them safely, storing them in one commit, deleting them;
one implementation for the admin API, the console, the CLI and KNOWLEDGE_DIR.

An owner's upload is all or nothing: every file is read first (in a limited child process), and
if any cannot be read nothing is stored. Every change moves the store's version and then calls
`on_change` (the live index's rebuild request), so no caller has to remember to rebuild.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from talkme_consultant.helpers.kinds import FileOrigin
from talkme_consultant.service.case_scoring import CASES_FILENAME
from talkme_consultant.service.clock import now
from talkme_consultant.service.parsing import ParseOptions, parse_isolated
from talkme_consultant.store.knowledge import FileInfo, FileUpdate, KnowledgeRepository
from talkme_consultant.store.models import KnowledgeFile, KnowledgeState

PARALLEL_READERS = 2


@dataclass(frozen=True)
class IngestReport:
    """The outcome of adding files."""

    version: int
    files: dict[str, int]  # file → records parsed from it
    errors: dict[str, str]  # file → why it could not be read


@dataclass(frozen=True)
class Unreadable:
    """An upload refused because some files could not be read; nothing was stored."""

    errors: dict[str, str]  # file → why it could not be read


class KnowledgeFiles:
    """Reads, stores and deletes the files the knowledge base is made of."""

    def __init__(
        self,
        repository: KnowledgeRepository,
        parse_options: ParseOptions,
        on_change: Callable[[dict[str, str]], None],
    ) -> None:
        """`on_change(errors)` is told of every stored change with the files that could not
        be read in it (file → why)."""
        self._repository = repository
        self._parse_options = parse_options
        self._on_change = on_change
        # Each reader may use PARSE_MEMORY_MB: an upload and a folder sync at once is the most
        # this service lets file reading take from the machine.
        self._readers = asyncio.Semaphore(PARALLEL_READERS)

    @property
    def max_file_bytes(self) -> int:
        """The largest file that is read at all."""
        return self._parse_options.max_file_bytes

    async def parse(
        self, files: Sequence[tuple[str, bytes]], *, origin: FileOrigin
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

    async def store(
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
        self._on_change(errors)
        return IngestReport(
            version=version, files={u.name: len(u.records) for u in updates}, errors=errors
        )

    async def add(
        self,
        files: Sequence[tuple[str, bytes]],
        *,
        origin: FileOrigin,
        replace_all: bool = False,
    ) -> IngestReport:
        """Parse and store files (a file that fails to parse is stored with its error and no
        records, leaving the rest of the knowledge base untouched)."""
        updates = await self.parse(files, origin=origin)
        return await self.store(updates, replace_all=replace_all)

    async def upload(self, files: Sequence[tuple[str, bytes]]) -> IngestReport | Unreadable:
        """Store an owner's upload: every file, or none of them when any cannot be read (the
        owner fixes it and sends the set again)."""
        updates = await self.parse(files, origin=FileOrigin.UPLOAD)
        errors = {u.name: u.error for u in updates if u.error}
        if errors:
            return Unreadable(errors)
        return await self.store(updates)

    async def list_files(self) -> list[FileInfo]:
        """Every stored file, by name, without its bytes."""
        return await self._repository.list_files()

    async def get_file(self, name: str) -> KnowledgeFile | None:
        """One stored file with its bytes; None when there is none under `name`."""
        return await self._repository.get_file(name)

    async def stored_state(self) -> KnowledgeState:
        """The store's version row: the newest version, when it moved, the last stored score."""
        return await self._repository.state()

    async def delete_file(self, name: str) -> int | None:
        """Remove a file and its records; returns the new version, None when there is no such
        file (then nothing changed)."""
        if not await self._repository.has_file(name):
            return None
        version = await self._repository.apply([], remove=[name], now=now())
        self._on_change({})
        return version

    async def delete_all(self) -> tuple[int, int]:
        """Empty the knowledge base; returns how many files there were and the new version."""
        count = len(await self._repository.list_files())
        version = await self._repository.apply([], replace_all=True, now=now())
        self._on_change({})
        return count, version

    async def reparse_all(self) -> IngestReport:
        """Parse every stored file again (after a loader upgrade) and store the new records.

        Each file keeps the time it was uploaded or changed: reading it again changes nothing
        in it, and which of two disagreeing files is the newest must not change either."""
        by_origin: dict[FileOrigin, list[tuple[str, bytes]]] = {}
        changed_at: dict[str, float] = {}
        for info in await self._repository.list_files():
            stored = await self._repository.get_file(info.name)
            if stored is not None:
                by_origin.setdefault(FileOrigin(info.origin), []).append(
                    (stored.name, stored.content)
                )
                changed_at[info.name] = info.updated_at
        report = IngestReport(version=(await self._repository.state()).version, files={}, errors={})
        for origin, files in by_origin.items():
            updates = await self.parse(files, origin=origin)
            part = await self.store(
                [replace(u, updated_at=changed_at.get(u.name)) for u in updates]
            )
            report = IngestReport(
                version=part.version,
                files={**report.files, **part.files},
                errors={**report.errors, **part.errors},
            )
        return report
