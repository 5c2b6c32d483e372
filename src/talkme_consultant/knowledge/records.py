"""A knowledge record: the unit that retrieval finds and answers cite."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

OWNER_FAQ_SOURCE = "owner-faq"
"""The source name of the owner's answers: no uploaded file can have it (it has no suffix)."""


class Source(BaseModel):
    """Where a record came from, precise enough for a person to find it again."""

    model_config = ConfigDict(frozen=True)

    file: str
    sheet: str | None = None
    row: int | None = None
    page: int | None = None
    heading: str | None = None


class Record(BaseModel):
    """One searchable piece of knowledge.

    `title` is the short field that names the record (an FAQ question, a service name, a heading);
    `answer` is what a bot may say back verbatim (the FAQ answer, or the whole row); `text` is the
    full record as shown to people and models.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    title: str | None = None
    answer: str | None = None
    source: Source
    fields: dict[str, str] = Field(default_factory=dict)

    @property
    def by_owner(self) -> bool:
        """Whether the owner wrote this answer in the console (a lesson), not a file."""
        return self.source.file == OWNER_FAQ_SOURCE

    @property
    def content_hash(self) -> str:
        """Stable hash of what the record says (used as the embedding cache key)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def record_id(self) -> str:
        """Stable id: the same text from the same place keeps its id across re-ingestion."""
        key = "\x1f".join(
            [
                self.source.file,
                self.source.sheet or "",
                str(self.source.row or ""),
                str(self.source.page or ""),
                self.source.heading or "",
                self.text,
            ]
        )
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
