"""Taught phrasings on the knowledge page: every wording the owner linked to a record or saved
with an answer, listed under its record, each removable."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse

from talkme_consultant.knowledge.records import Record
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.store.lessons import LessonsRepository, PhrasingEntry
from talkme_consultant.web.console.base import SignedInWithCsrf
from talkme_consultant.web.deps import LessonsDep

router = APIRouter(prefix="/console/knowledge/phrasings", include_in_schema=False)

BACK = "/console/knowledge#phrasings"


@dataclass(frozen=True)
class TaughtRecord:
    """A record and the wordings it is found by besides its own text."""

    record_id: str
    title: str
    by_owner: bool
    served: bool
    phrasings: list[PhrasingEntry]


async def taught_records(
    lessons: LessonsRepository, knowledge: KnowledgeBase
) -> list[TaughtRecord]:
    """Records with taught phrasings, in the order they were first taught."""
    by_record: dict[str, list[PhrasingEntry]] = {}
    for phrasing in await lessons.list_phrasings():
        by_record.setdefault(phrasing.record_id, []).append(phrasing)
    if not by_record:
        return []
    # An owner's answer is named from the store: the index may not have served it yet.
    owners = {f.record_id: f.question for f in await lessons.list_faq()}
    served = {r.record_id: r for r in knowledge.records() if r.record_id in by_record}
    return [
        _taught(record_id, owners.get(record_id), served.get(record_id), phrasings)
        for record_id, phrasings in by_record.items()
    ]


def _taught(
    record_id: str,
    owner_question: str | None,
    record: Record | None,
    phrasings: list[PhrasingEntry],
) -> TaughtRecord:
    if owner_question is not None:
        return TaughtRecord(record_id, owner_question, True, True, phrasings)
    if record is None:
        # The record left the knowledge base (its file was replaced): its phrasings wait, unused.
        return TaughtRecord(record_id, "Запись больше не в базе", False, False, phrasings)
    title = record.title or " ".join(record.text.split())[:120]
    return TaughtRecord(record_id, title, record.by_owner, True, phrasings)


@router.post("/{phrasing_id}/delete")
async def delete(lessons: LessonsDep, phrasing_id: int, _: SignedInWithCsrf) -> RedirectResponse:
    """Forget one wording: the record is no longer found by it (within seconds)."""
    if not await lessons.forget_phrasing(phrasing_id):
        raise HTTPException(status_code=404, detail="Этой формулировки уже нет — её удалили.")
    return RedirectResponse(BACK, status_code=303)
