"""What a question asks about a service — its price, how long it takes, what it includes — and
that one fact said from a price-list row.

«А сколько длится?» after «Сколько стоит педикюр с покрытием?» asks the duration of the row
already answered: the reply is that row's duration, not a new search. The columns are found by
what they hold, as `tables.py` finds them (a price column by its name, a duration by its unit or
name, a description by its length or name), so any business's price list works.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from talkme_consultant.answer.tables import ask_line, column_unit, format_value, row_parts
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.text import normalize


class Attribute(StrEnum):
    """What is asked about a service."""

    PRICE = "price"
    DURATION = "duration"
    INCLUDED = "included"  # what it includes, what it is


# Whole words (or phrases) of a normalised message that ask each attribute. «Держится» (how
# long the effect lasts) is none of them: a price list has no such column, so such a question
# is searched. Hours of work («время работы», «до скольки») are the profile's (`basics.py`),
# read before this.
_ASKS: tuple[tuple[Attribute, re.Pattern[str]], ...] = (
    (
        Attribute.PRICE,
        re.compile(
            r"\b(?:сколько стои\w*|стоит|стоят|стоимост\w*|цен[аыуе]|ценой|ценник\w*|почем|"
            r"прайс\w*|по деньгам|по цене|руб\w*)\b"
        ),
    ),
    (
        Attribute.DURATION,
        re.compile(
            r"\b(?:длит\w*|длительност\w*|продолжительност\w*|долго|по времени|"
            r"сколько времени|сколько минут|сколько часов|займ[её]т|занима\w*)\b"
        ),
    ),
    (
        Attribute.INCLUDED,
        re.compile(
            r"\b(?:вход\w*|включ\w*|состав\w*|что это|что такое|это что|подробн\w*|описани\w*|"
            r"что делают|что за процедур\w*|что за услуг\w*)\b"
        ),
    ),
)
# A figure of each kind in a record's prose («стоит 990 рублей», «займёт около 60 минут»).
_STATED: dict[Attribute, re.Pattern[str]] = {
    Attribute.PRICE: re.compile(r"\d[\d\s]*(?:руб|₽|р\.)|бесплатн\w*|стоимост\w*|\bстоит\b"),
    Attribute.DURATION: re.compile(r"\d+\s*(?:мин|час|ч\b)|\bчас\w*\b"),
}
_DURATION_NAMES = ("длительн", "продолжительн", "время", "duration", "time")
_DURATION_UNITS = frozenset({"мин", "ч"})
_DESCRIPTION_NAMES = ("описан", "подробн", "состав", "примечан", "что входит", "description")


def attributes_asked(text: str) -> list[Attribute]:
    """The attributes a message asks, in the order of `Attribute` (none for «а педикюр?»)."""
    folded = normalize(text)
    return [attribute for attribute, asks in _ASKS if asks.search(folded)]


def _figure(record: Record, attribute: Attribute) -> str | None:
    """The row's figure for a price or a duration, with its unit («4 000 ₽», «110 мин»)."""
    for column, raw in record.fields.items():
        value = raw.strip()
        name = normalize(column)
        if attribute is Attribute.PRICE:
            wanted = column_unit(column) == "₽" or "цена" in name or "стоимост" in name
        else:
            wanted = column_unit(column) in _DURATION_UNITS or any(
                word in name for word in _DURATION_NAMES
            )
        if wanted and value:
            return format_value(column, value) or value
    return None


def _included(record: Record) -> str | None:
    """What the row says it includes: its description, or a short note column."""
    parts = row_parts(record)
    if parts.descriptions:
        return " ".join(parts.descriptions)
    for column, raw in record.fields.items():
        if any(word in normalize(column) for word in _DESCRIPTION_NAMES) and raw.strip():
            return raw.strip()
    return None


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():
        return text  # «ZOOM», «КТ»: an abbreviation keeps its capitals
    return text[:1].lower() + text[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def states(record: Record, attribute: Attribute) -> bool:
    """Whether a record that is not a price-list row says its price or its duration: «а
    сколько стоит?» after «Делаете гравировку?» is answered by «…стоит 990 рублей» again."""
    stated = _STATED.get(attribute)
    return stated is not None and stated.search(normalize(record.answer or record.text)) is not None


def attribute_sentence(record: Record, attribute: Attribute) -> str | None:
    """One row's answer to one attribute, or None when the row does not hold it.

    «Педикюр с покрытием гель-лак длится 110 мин.», «… стоит 4 000 ₽.», «В услугу «…» входит:
    полный аппаратный педикюр и однотонное покрытие ногтей.»
    """
    title = row_parts(record).title
    if attribute is Attribute.INCLUDED:
        included = _included(record)
        return f"«{title}»: {_lower_first(_sentence(included))}" if included else None
    figure = _figure(record, attribute)
    if figure is None:
        return None
    verb = "стоит" if attribute is Attribute.PRICE else "длится"
    return f"{title} {verb} {figure}."


def attribute_lines(records: Sequence[Record], attribute: Attribute) -> str | None:
    """Several listed rows' answers to a price or duration question, numbered as the list was
    («1) Педикюр без покрытия — 75 мин») and closed as a list is; None unless every row holds
    the attribute."""
    if attribute is Attribute.INCLUDED:
        return None
    lines = []
    for number, record in enumerate(records, 1):
        figure = _figure(record, attribute)
        if figure is None:
            return None
        lines.append(f"{number}) {row_parts(record).title} — {figure}")
    head = "По стоимости:" if attribute is Attribute.PRICE else "По времени:"
    return "\n".join([head, *lines, ask_line(records[0])])
