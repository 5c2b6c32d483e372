"""The owner's lessons as the index sees them: answers as records, phrasings by record id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from talkme_consultant.knowledge.records import OWNER_FAQ_SOURCE, Record, Source
from talkme_consultant.store.models import OwnerFaq, RecordPhrasing

__all__ = ["OWNER_FAQ_SOURCE", "owner_faq_record", "owner_records", "phrasings_by_record"]

QUESTION_FIELD = "Вопрос"
ANSWER_FIELD = "Ответ"


def owner_faq_record(faq_id: int, question: str, answer: str) -> Record:
    """The record an owner's answer is served as, shaped like a row of an FAQ table."""
    return Record(
        text=f"{QUESTION_FIELD}: {question}\n{ANSWER_FIELD}: {answer}",
        title=question,
        answer=answer,
        source=Source(file=OWNER_FAQ_SOURCE, row=faq_id),
        fields={QUESTION_FIELD: question, ANSWER_FIELD: answer},
    )


async def owner_records(session: AsyncSession) -> list[tuple[Record, float]]:
    """Every owner's answer as a record with when it was last changed, oldest first."""
    rows = await session.execute(select(OwnerFaq).order_by(OwnerFaq.id))
    return [(owner_faq_record(f.id, f.question, f.answer), f.updated_at) for f in rows.scalars()]


async def phrasings_by_record(session: AsyncSession) -> dict[str, list[str]]:
    """Taught phrasings grouped by the record id they point to, oldest first."""
    rows = await session.execute(
        select(RecordPhrasing.record_id, RecordPhrasing.text).order_by(RecordPhrasing.id)
    )
    found: dict[str, list[str]] = {}
    for record_id, text in rows:
        found.setdefault(record_id, []).append(text)
    return found
