"""The records a dialogue has spoken of, read again when the visitor asks more of them («а сколько
длится?» after a price): by id from the live knowledge, so no search can put another first."""

from __future__ import annotations

from talkme_consultant.answer.attributes import attribute_lines, attribute_sentence, states
from talkme_consultant.answer.base import ClarifyOption, Draft, Intent
from talkme_consultant.answer.followup import Reading
from talkme_consultant.answer.price_rows import has_figures
from talkme_consultant.answer.rendering import render_record
from talkme_consultant.knowledge.search import Hit, RecordLookup, Retriever


class SpokenRows:
    """Reads the dialogue's records by id; without a lookup (tests), by searching their titles."""

    def __init__(self, retriever: Retriever, records: RecordLookup | None) -> None:
        self._retriever = retriever
        self._records = records

    async def draft(self, reading: Reading, answerer: str) -> Draft | None:
        """The attribute asked, said from the records the dialogue is about: a row's own figure,
        each listed row's, or an answer that already says it again; None when a record is gone
        or does not hold it (the question is then searched)."""
        attribute = reading.attribute
        found = [await self.row(option) for option in reading.rows]
        hits = [hit for hit in found if hit is not None]
        if attribute is None or not hits or len(hits) != len(reading.rows):
            return None
        records = [hit.record for hit in hits]
        if len(hits) > 1:
            text = attribute_lines(records, attribute)
        elif has_figures(records[0]):
            text = attribute_sentence(records[0], attribute)
        else:
            text = render_record(records[0]) if states(records[0], attribute) else None
        if text is None:
            return None
        return Draft(
            text=text,
            intent=Intent.ANSWER,
            reason=f"{attribute.value} of the records spoken of",
            used_records=hits,
            listed=list(reading.rows) if len(hits) > 1 else [],
            answerer=answerer,
        )

    async def row(self, option: ClarifyOption) -> Hit | None:
        """A record the dialogue spoke of, as it is served now: by id, with no search."""
        if self._records is None:
            hits = await self._retriever.search(option.title, k=8)
            return next((hit for hit in hits if hit.record_id == option.record_id), None)
        return known_hit(self._records, option)


def known_hit(records: RecordLookup, option: ClarifyOption) -> Hit | None:
    """A record the dialogue spoke of, read by id as it is served now; None when it is gone.
    Not found by a search, its certainty is the dialogue's, not a retrieval score."""
    record = records.record(option.record_id)
    if record is None:
        return None
    return Hit(record_id=option.record_id, record=record, score=0.0, confidence=1.0)
