"""The knowledge base in the store: files, records, version and the embedding cache."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from talkme_consultant.helpers.kinds import FileOrigin
from talkme_consultant.knowledge.records import Record
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import (
    CachedEmbedding,
    KnowledgeFile,
    KnowledgeRecord,
    KnowledgeState,
)
from talkme_consultant.store.owner_records import owner_records, phrasings_by_record
from talkme_consultant.store.upsert import insert_for, lock_row

_CHUNK = 500


@dataclass(frozen=True)
class FileInfo:
    """A knowledge file's metadata (without its bytes)."""

    name: str
    size: int
    sha256: str
    origin: str
    updated_at: float
    records_count: int
    error: str | None


@dataclass(frozen=True)
class FileUpdate:
    """A file to store, with the records parsed from it (or the reason it could not be read)."""

    name: str
    content: bytes
    sha256: str
    origin: FileOrigin
    records: Sequence[Record]
    error: str | None = None
    updated_at: float | None = None
    """When the file changed; None: now. A file read again keeps its time, so the newest
    upload stays the newest (see `knowledge.conflicts`)."""


@dataclass(frozen=True)
class Snapshot:
    """One consistent view of what the index is built from."""

    version: int
    records: list[Record]
    phrasings: dict[str, list[str]]
    updated_at: dict[str, float]
    """Record id → when its source last changed: its file's upload, or the owner's edit."""


_INFO_COLUMNS = (
    KnowledgeFile.name,
    KnowledgeFile.size,
    KnowledgeFile.sha256,
    KnowledgeFile.origin,
    KnowledgeFile.updated_at,
    KnowledgeFile.records_count,
    KnowledgeFile.error,
)


class KnowledgeRepository:
    """Stores knowledge files and records; every change moves the version in the same commit."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def list_files(self) -> list[FileInfo]:
        """Every stored file, by name."""
        async with self._sessions.read() as session:
            rows = await session.execute(select(*_INFO_COLUMNS).order_by(KnowledgeFile.name))
            return [FileInfo(*row) for row in rows]

    async def get_file(self, name: str) -> KnowledgeFile | None:
        """One file with its content."""
        async with self._sessions.read() as session:
            return await session.get(KnowledgeFile, name)

    async def has_file(self, name: str) -> bool:
        """Whether a file of this name is stored (its content is not read)."""
        async with self._sessions.read() as session:
            found = await session.scalar(
                select(KnowledgeFile.name).where(KnowledgeFile.name == name)
            )
        return found is not None

    async def state(self) -> KnowledgeState:
        """The current version row (created on first use)."""
        async with self._sessions.write() as session:
            return await _state(session)

    async def stored_version(self) -> int:
        """The version in the store, read without writing (0 before anything was stored)."""
        async with self._sessions.read() as session:
            version = await session.scalar(
                select(KnowledgeState.version).where(KnowledgeState.id == 1)
            )
            return int(version or 0)

    async def apply(
        self,
        updates: Sequence[FileUpdate],
        *,
        remove: Sequence[str] = (),
        replace_all: bool = False,
        now: float,
        dir_fingerprint: str | None = None,
    ) -> int:
        """Write files and their records atomically; returns the new version."""
        async with self._sessions.write() as session:
            state = await _state(session, lock=True)
            # Read before the UPDATE below: the ORM refreshes `state` with the stored value.
            new_version = state.version + 1
            if replace_all:
                await session.execute(delete(KnowledgeRecord))
                await session.execute(delete(KnowledgeFile))
            names = [u.name for u in updates] + list(remove)
            if names and not replace_all:
                await session.execute(
                    delete(KnowledgeRecord).where(KnowledgeRecord.file_name.in_(names))
                )
                await session.execute(delete(KnowledgeFile).where(KnowledgeFile.name.in_(names)))
            for item in updates:
                session.add(
                    KnowledgeFile(
                        name=item.name,
                        content=item.content,
                        sha256=item.sha256,
                        size=len(item.content),
                        origin=item.origin,
                        updated_at=now if item.updated_at is None else item.updated_at,
                        records_count=len(item.records),
                        error=item.error,
                    )
                )
            await session.flush()
            rows = [
                {"file_name": item.name, "position": position, "data": record.model_dump_json()}
                for item in updates
                for position, record in enumerate(item.records)
            ]
            for start in range(0, len(rows), _CHUNK):
                await session.execute(
                    insert_for(session, KnowledgeRecord), rows[start : start + _CHUNK]
                )
            values: dict[str, Any] = {"version": new_version, "updated_at": now}
            if dir_fingerprint is not None:
                values["dir_fingerprint"] = dir_fingerprint
            await session.execute(
                update(KnowledgeState).where(KnowledgeState.id == 1).values(**values)
            )
            return new_version

    async def set_dir_fingerprint(self, fingerprint: str) -> None:
        """Remember which state of KNOWLEDGE_DIR has been ingested."""
        async with self._sessions.write() as session:
            await _state(session, lock=True)
            await session.execute(
                update(KnowledgeState)
                .where(KnowledgeState.id == 1)
                .values(dir_fingerprint=fingerprint)
            )

    async def set_evaluation(self, evaluation: dict[str, Any]) -> None:
        """Keep the latest regression score of the business's own questions."""
        async with self._sessions.write() as session:
            await _state(session, lock=True)
            await session.execute(
                update(KnowledgeState)
                .where(KnowledgeState.id == 1)
                .values(evaluation=json.dumps(evaluation, ensure_ascii=False))
            )

    async def load_records(self) -> tuple[int, list[Record]]:
        """The version and every record, in file and position order, from one snapshot."""
        snapshot = await self.load_snapshot()
        return snapshot.version, snapshot.records

    async def load_snapshot(self) -> Snapshot:
        """Everything the index is built from, read in one transaction: the files' records,
        then the owner's answers (as records), the phrasings taught for records, and when each
        record's source last changed."""
        async with self._sessions.write() as session:
            state = await _state(session)
            times = await session.execute(select(KnowledgeFile.name, KnowledgeFile.updated_at))
            file_times = {name: changed for name, changed in times}
            rows = await session.execute(
                select(KnowledgeRecord.file_name, KnowledgeRecord.data).order_by(
                    KnowledgeRecord.file_name, KnowledgeRecord.position
                )
            )
            records: list[Record] = []
            updated_at: dict[str, float] = {}
            for file_name, data in rows:
                record = Record.model_validate_json(data)
                records.append(record)
                updated_at[record.record_id] = file_times.get(file_name, 0.0)
            for record, changed in await owner_records(session):
                records.append(record)
                updated_at[record.record_id] = changed
            phrasings = await phrasings_by_record(session)
            return Snapshot(state.version, records, phrasings, updated_at)

    async def browse_records(
        self, text: str | None, *, offset: int, limit: int
    ) -> tuple[int, list[tuple[int, Record]]]:
        """Records whose text holds `text` (as typed, lower-case or capitalised), in file order,
        with their row ids, and how many match in all."""
        query = select(KnowledgeRecord.id, KnowledgeRecord.data)
        counting = select(func.count()).select_from(KnowledgeRecord)
        if text:
            variants = dict.fromkeys([text, text.lower(), text.capitalize()])
            escaped = [
                v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for v in variants
            ]
            matches = or_(*[KnowledgeRecord.data.ilike(f"%{v}%", escape="\\") for v in escaped])
            query, counting = query.where(matches), counting.where(matches)
        async with self._sessions.read() as session:
            total = int(await session.scalar(counting) or 0)
            rows = await session.execute(
                query.order_by(KnowledgeRecord.file_name, KnowledgeRecord.position)
                .offset(offset)
                .limit(limit)
            )
            return total, [(row_id, Record.model_validate_json(data)) for row_id, data in rows]

    async def get_record(self, row_id: int) -> Record | None:
        """One record by its row id."""
        async with self._sessions.read() as session:
            data = await session.scalar(
                select(KnowledgeRecord.data).where(KnowledgeRecord.id == row_id)
            )
            return Record.model_validate_json(data) if data is not None else None

    async def count_records(self) -> int:
        """How many records the knowledge base holds."""
        async with self._sessions.read() as session:
            return int(await session.scalar(select(func.count()).select_from(KnowledgeRecord)) or 0)


async def move_version(session: AsyncSession, now: float) -> int:
    """Move the knowledge base's version inside the caller's commit; returns the new version."""
    state = await _state(session, lock=True)
    new_version = state.version + 1
    await session.execute(
        update(KnowledgeState)
        .where(KnowledgeState.id == 1)
        .values(version=new_version, updated_at=now)
    )
    return new_version


async def read_version(session: AsyncSession) -> int:
    """The knowledge base's version as the caller's transaction sees it."""
    return int((await _state(session)).version)


async def _state(session: AsyncSession, *, lock: bool = False) -> KnowledgeState:
    query = select(KnowledgeState).where(KnowledgeState.id == 1)
    state = await lock_row(session, query) if lock else await session.scalar(query)
    if state is None:
        await session.execute(
            insert_for(session, KnowledgeState)
            .values(id=1, version=0, updated_at=0.0)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        # Re-read under the same lock the first read would have taken, so concurrent first
        # writers queue here instead of all starting from version 0.
        state = await lock_row(session, query) if lock else await session.scalar(query)
    assert state is not None
    return state


class SqlEmbeddingCache:
    """`knowledge.EmbeddingCache` backed by the store, so restarts keep the embeddings."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `hashes`."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        async with self._sessions.read() as session:
            for start in range(0, len(unique), _CHUNK):
                rows = await session.execute(
                    select(CachedEmbedding.content_hash, CachedEmbedding.vector).where(
                        CachedEmbedding.model == model,
                        CachedEmbedding.content_hash.in_(unique[start : start + _CHUNK]),
                    )
                )
                for content_hash, vector in rows:
                    found[content_hash] = np.frombuffer(vector, dtype=np.float32)
        return found

    async def put_many(self, model: str, items: Mapping[str, np.ndarray]) -> None:
        """Store vectors; existing ones are kept."""
        rows = [
            {
                "model": model,
                "content_hash": content_hash,
                "vector": np.asarray(vector, dtype=np.float32).tobytes(),
            }
            for content_hash, vector in items.items()
        ]
        async with self._sessions.write() as session:
            for start in range(0, len(rows), _CHUNK):
                await session.execute(
                    insert_for(session, CachedEmbedding).on_conflict_do_nothing(
                        index_elements=["model", "content_hash"]
                    ),
                    rows[start : start + _CHUNK],
                )
