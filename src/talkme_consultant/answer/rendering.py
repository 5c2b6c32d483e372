"""What the bot says for a record found: the FAQ answer, a price-list row in a sentence or two,
or the record's own text."""

from __future__ import annotations

from talkme_consultant.answer.tables import row_sentence
from talkme_consultant.knowledge.records import Record


def render_record(record: Record) -> str:
    """What the bot says for a record: the FAQ answer, a table row in a sentence or two, or the
    text itself."""
    if record.answer and record.answer.strip() and record.answer.strip() != record.text.strip():
        return record.answer.strip()
    if record.fields:
        return row_sentence(record)
    return record.text.strip()
