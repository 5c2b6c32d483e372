"""The owner's operations on knowledge files, one implementation for the admin API and the console.

An upload is all or nothing: every file is read first (in a limited child process), and if any
cannot be read nothing is stored, so the owner fixes the file and sends the set again. Every
change asks the knowledge base for a rebuild in the background.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from talkme_consultant.service.knowledge_base import IngestReport, KnowledgeBase
from talkme_consultant.store.knowledge import FileInfo, KnowledgeRepository
from talkme_consultant.store.models import KnowledgeFile, KnowledgeState

UPLOAD_ORIGIN = "upload"


@dataclass(frozen=True)
class Unreadable:
    """An upload refused because some files could not be read; nothing was stored."""

    errors: dict[str, str]  # file → why it could not be read


class KnowledgeFiles:
    """Lists, uploads and deletes knowledge files, and reads the knowledge base's stored state."""

    def __init__(self, knowledge: KnowledgeBase, repository: KnowledgeRepository) -> None:
        self._knowledge = knowledge
        self._repository = repository

    async def list_files(self) -> list[FileInfo]:
        """Every stored file, by name, without its bytes."""
        return await self._repository.list_files()

    async def get_file(self, name: str) -> KnowledgeFile | None:
        """One stored file with its bytes; None when there is none under `name`."""
        return await self._repository.get_file(name)

    async def upload(self, files: Sequence[tuple[str, bytes]]) -> IngestReport | Unreadable:
        """Store every file, or none of them when any cannot be read."""
        parsed = await self._knowledge.parse_files(files, origin=UPLOAD_ORIGIN)
        errors = {update.name: update.error for update in parsed if update.error}
        if errors:
            return Unreadable(errors)
        report = await self._knowledge.store_files(parsed)
        self._knowledge.request_refresh()
        return report

    async def delete_file(self, name: str) -> int | None:
        """Remove a file and its records; returns the new version, None when there is no such
        file (then nothing changed)."""
        if await self._repository.get_file(name) is None:
            return None
        version = await self._knowledge.delete_files([name])
        self._knowledge.request_refresh()
        return version

    async def delete_all(self) -> tuple[int, int]:
        """Empty the knowledge base; returns how many files there were and the new version."""
        count = len(await self._repository.list_files())
        version = await self._knowledge.delete_files(None)
        self._knowledge.request_refresh()
        return count, version

    async def stored_state(self) -> KnowledgeState:
        """The store's version row: the newest version, when it moved, the last stored score."""
        return await self._repository.state()

    def evaluation(self, state: KnowledgeState) -> dict[str, Any] | None:
        """The case file's score: this process's own once it has scored the index, else the one
        the process that built last kept in `state` (None when there is no case file)."""
        if self._knowledge.evaluation is not None:
            return self._knowledge.evaluation
        if not state.evaluation:
            return None
        stored = json.loads(state.evaluation)
        return stored if isinstance(stored, dict) else None
