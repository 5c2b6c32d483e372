"""The search contract shared by the index, the answerers and the evaluation."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from talkme_consultant.knowledge.records import Record


class Hit(BaseModel):
    """A record found for a query.

    `score` is the fused ranking score (only comparable within one query); `confidence` is a
    calibrated probability-like value in [0, 1] that the record answers the query, comparable
    across queries, so answerers can threshold on it.
    """

    record_id: str
    record: Record
    score: float
    confidence: float = Field(ge=0, le=1)
    # The question's words that name a thing (a service, a product) and that this record never
    # mentions, as the visitor wrote them: evidence that it answers something else.
    missing: list[str] = Field(default_factory=list)


class Retriever(Protocol):
    """Anything that can search the knowledge base."""

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        """Return up to `k` hits, best first."""
        ...


class RecordLookup(Protocol):
    """Anything that holds the served records by id (the live knowledge base)."""

    def record(self, record_id: str) -> Record | None:
        """The served record with this id, or None when it is gone."""
        ...
