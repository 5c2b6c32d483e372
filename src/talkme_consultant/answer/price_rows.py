"""Price-list rows among the hits: which hold figures, which hold the figure asked, and which
are near enough to the best one to be offered beside it."""

from __future__ import annotations

from talkme_consultant.answer.attributes import (
    Attribute,
    attribute_sentence,
    attributes_asked,
    states,
)
from talkme_consultant.answer.tables import LIST_MAX, row_parts
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit

# Without the question's words at hand, the rows of the best row's table are offered when it is
# at least this confident, and only those within `_OPTIONS_SPREAD` of it (also the most a row
# offered beside a best row that misses a word asked may trail it).
_OPTIONS_FLOOR = 0.3
_OPTIONS_SPREAD = 0.25
# A question asking a price or a duration, whose best record does not hold it, is answered by a
# price-list row that does, speaks of everything asked and is at least this confident
# («абонемент на маникюр сколько стоит»: the FAQ on season tickets first, the ticket's row
# second at 0.36; «сколько длится маникюр с покрытием»: how long the polish lasts first).
_FIGURE_ROW_FLOOR = 0.2
_FIGURE_ROW_RANKS = 4


def has_figures(record: Record) -> bool:
    """Whether a table row carries figures (a price-list row), not only words (an FAQ row)."""
    return bool(record.fields) and bool(row_parts(record).figures)


def holds(record: Record, attribute: Attribute) -> bool:
    """Whether a record says the attribute: a row's figure, or a price or time in its prose."""
    if has_figures(record):
        return attribute_sentence(record, attribute) is not None
    return states(record, attribute)


def figure_row_first(hits: list[Hit], query: str) -> list[Hit]:
    """The hits with a price-list row that holds the asked price or duration first, when the
    best record does not hold it; the row takes the best record's confidence, as the search
    found the question's subject with it. Otherwise the hits as they are."""
    if len(hits) < 2 or hits[0].missing:
        return hits
    asked = [a for a in attributes_asked(query) if a in (Attribute.PRICE, Attribute.DURATION)]
    if not asked or any(holds(hits[0].record, attribute) for attribute in asked):
        return hits
    for index, hit in enumerate(hits[1:_FIGURE_ROW_RANKS], start=1):
        if (
            hit.confidence >= _FIGURE_ROW_FLOOR
            and not hit.missing
            and has_figures(hit.record)
            and all(holds(hit.record, attribute) for attribute in asked)
        ):
            row = hit.model_copy(update={"confidence": hits[0].confidence})
            return [row, *hits[:index], *hits[index + 1 :]]
    return hits


def close_rows(hits: list[Hit], threshold: float) -> list[Hit]:
    """Rows of the top hit's table that are nearly as good as it, when none is confident alone.

    Used when the question's words are not at hand (a fallback after a failed model draft)."""
    if not hits or hits[0].confidence >= threshold or hits[0].confidence < _OPTIONS_FLOOR:
        return []
    top = hits[0]
    if not top.record.fields:
        return []
    same_table = [
        hit
        for hit in hits
        if hit.record.fields
        and hit.record.source.file == top.record.source.file
        and hit.record.source.sheet == top.record.source.sheet
        and top.confidence - hit.confidence <= _OPTIONS_SPREAD
    ]
    return same_table[:LIST_MAX] if len(same_table) >= 2 else []


def close_rows_of(hits: list[Hit]) -> list[Hit]:
    """Other price rows of the top hit's table near it, to offer beside it (at most two)."""
    top = hits[0]
    return [
        hit
        for hit in hits[1:]
        if has_figures(hit.record)
        and hit.record.source.file == top.record.source.file
        and top.confidence - hit.confidence <= _OPTIONS_SPREAD
    ][:2]
