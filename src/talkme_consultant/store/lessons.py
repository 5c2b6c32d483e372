"""The owner's lessons in the store: own answers and extra phrasings of records.

Every change moves the knowledge base's version in the same commit, and resolves the open
questions it answers in that commit too, so the index and the owner's list never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from talkme_consultant.helpers.cleaning import fold_wording
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.knowledge import move_version, read_version
from talkme_consultant.store.models import OpenQuestion, OwnerFaq, RecordPhrasing
from talkme_consultant.store.owner_records import owner_faq_record

MAX_WORDING_CHARS = 1000
"""The longest question of an owner's answer or taught phrasing: the service refuses a longer
question and cuts a longer phrasing to this."""


@dataclass(frozen=True)
class FaqEntry:
    """An owner's answer as stored, with the id of the record it is served as."""

    id: int
    question: str
    answer: str
    record_id: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class PhrasingEntry:
    """A taught phrasing and the record it points to."""

    id: int
    record_id: str
    text: str
    created_at: float


@dataclass(frozen=True)
class Saved:
    """What a change left: the entry (if any) and the knowledge base's new version."""

    version: int
    faq: FaqEntry | None = None
    added: int = 0


def faq_resolution(faq_id: int) -> str:
    """How an open question answered by an owner's answer names it."""
    return f"faq:{faq_id}"


def faq_id_of(resolution: str) -> int | None:
    """The owner's answer a resolution names (see `faq_resolution`); None for a record id."""
    prefix, _, number = resolution.partition(":")
    return int(number) if prefix == "faq" and number.isdigit() else None


def _entry(row: OwnerFaq) -> FaqEntry:
    record = owner_faq_record(row.id, row.question, row.answer)
    return FaqEntry(
        row.id, row.question, row.answer, record.record_id, row.created_at, row.updated_at
    )


class LessonsRepository:
    """Stores the owner's answers and the phrasings taught for records."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def list_faq(self) -> list[FaqEntry]:
        """Every owner's answer, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.execute(select(OwnerFaq).order_by(OwnerFaq.id))
            return [_entry(row) for row in rows.scalars()]

    async def get_faq(self, faq_id: int) -> FaqEntry | None:
        """One owner's answer."""
        async with self._sessions.read() as session:
            row = await session.get(OwnerFaq, faq_id)
            return _entry(row) if row is not None else None

    async def add_faq(
        self,
        question: str,
        answer: str,
        *,
        now: float,
        phrasings: Sequence[str] = (),
        resolve: Sequence[int] = (),
    ) -> Saved:
        """Store a new answer, the visitors' other wordings of its question as its phrasings,
        and mark the open questions `resolve` answered by it."""
        async with self._sessions.write() as session:
            row = OwnerFaq(question=question, answer=answer, created_at=now, updated_at=now)
            session.add(row)
            await session.flush()
            entry = _entry(row)
            await _add_phrasings(session, entry.record_id, phrasings, now, skip=[question])
            await _resolve(session, resolve, "answered", faq_resolution(row.id), now)
            return Saved(await move_version(session, now), entry)

    async def update_faq(self, faq_id: int, question: str, answer: str, *, now: float) -> Saved:
        """Change an answer; its phrasings follow it to the record's new id. `faq` is None
        (and nothing changes) when there is no answer under `faq_id`."""
        async with self._sessions.write() as session:
            row = await session.get(OwnerFaq, faq_id)
            if row is None:
                return Saved(version=-1)
            old = _entry(row).record_id
            row.question, row.answer, row.updated_at = question, answer, now
            await session.flush()
            entry = _entry(row)
            await session.execute(
                update(RecordPhrasing)
                .where(RecordPhrasing.record_id == old)
                .values(record_id=entry.record_id)
            )
            return Saved(await move_version(session, now), entry)

    async def delete_faq(self, faq_id: int, *, now: float) -> Saved | None:
        """Remove an answer and its phrasings; the questions it answered are open again, to be
        grouped anew: their old group may have an open twin by now. None when there is no
        answer under `faq_id`."""
        async with self._sessions.write() as session:
            row = await session.get(OwnerFaq, faq_id)
            if row is None:
                return None
            entry = _entry(row)
            await session.delete(row)
            await session.execute(
                delete(RecordPhrasing).where(RecordPhrasing.record_id == entry.record_id)
            )
            await session.execute(
                update(OpenQuestion)
                .where(OpenQuestion.resolution == faq_resolution(faq_id))
                .values(status="open", resolution=None, resolved_at=None, group_id=None)
            )
            return Saved(await move_version(session, now), entry)

    async def add_phrasings(
        self, record_id: str, texts: Sequence[str], *, now: float, resolve: Sequence[int] = ()
    ) -> Saved:
        """Teach wordings for a record (ones it already has are skipped) and mark the open
        questions `resolve` linked to it."""
        async with self._sessions.write() as session:
            added = await _add_phrasings(session, record_id, texts, now)
            await _resolve(session, resolve, "linked", record_id, now)
            # Nothing new to index: the version (and so the index) stays as it is.
            version = await move_version(session, now) if added else await read_version(session)
            return Saved(version, added=added)

    async def list_phrasings(self, record_id: str | None = None) -> list[PhrasingEntry]:
        """Taught phrasings (of one record, or all), oldest first."""
        async with self._sessions.read() as session:
            query = select(RecordPhrasing).order_by(RecordPhrasing.id)
            if record_id is not None:
                query = query.where(RecordPhrasing.record_id == record_id)
            rows = await session.execute(query)
            return [PhrasingEntry(r.id, r.record_id, r.text, r.created_at) for r in rows.scalars()]

    async def delete_phrasing(self, phrasing_id: int, *, now: float) -> int | None:
        """Forget one taught phrasing; the new version, or None when there is none by that id."""
        async with self._sessions.write() as session:
            row = await session.get(RecordPhrasing, phrasing_id)
            if row is None:
                return None
            await session.delete(row)
            return await move_version(session, now)


async def _add_phrasings(
    session: AsyncSession,
    record_id: str,
    texts: Sequence[str],
    now: float,
    *,
    skip: Sequence[str] = (),
) -> int:
    existing = await session.execute(
        select(RecordPhrasing.text).where(RecordPhrasing.record_id == record_id)
    )
    seen = {fold_wording(t) for t in existing.scalars()} | {fold_wording(t) for t in skip}
    added = 0
    for text in texts:
        folded = fold_wording(text)
        if not folded or folded in seen:
            continue
        seen.add(folded)
        session.add(RecordPhrasing(record_id=record_id, text=text.strip(), created_at=now))
        added += 1
    return added


async def _resolve(
    session: AsyncSession, ids: Sequence[int], status: str, resolution: str, now: float
) -> None:
    if not ids:
        return
    await session.execute(
        update(OpenQuestion)
        .where(OpenQuestion.id.in_(list(ids)), OpenQuestion.status == "open")
        .values(status=status, resolution=resolution, resolved_at=now)
    )
