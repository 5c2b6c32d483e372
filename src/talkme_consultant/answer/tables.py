"""Price-list rows in a person's words, and which rows a broad question is about.

A table row is a record with `fields` (column → value). People do not read "Цена, руб.: 1800";
they read "1 800 ₽". The unit comes from the column name ("Цена, руб." → ₽, "Длительность, мин"
→ мин), so this works for any business's price list, not only the sample salon's. Only whole
numbers (and ranges of them) are reformatted; any other value ("от 3000 руб.", "скидка 15%") is
quoted as written, because a wrong paraphrase of a price is worse than a stiff one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.knowledge.text import normalize, stem, tokenize, words

# Values longer than this are descriptions, said after the name and the figures.
LONG_VALUE = 60
# A broad question lists at most this many rows.
LIST_MAX = 6
# Rows listed for a broad question must be at least this confident (the top hit needs more).
LIST_ROW_FLOOR = 0.02

_NUMBER = r"\d{1,3}(?:[ \u00a0]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_PLAIN_NUMBER = re.compile(rf"^\s*({_NUMBER})\s*$")
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*[-–—]\s*({_NUMBER})\s*$")
# A number with its unit already in the cell: "60 мин", "1500 руб.", "2 ч".
_NUMBER_WITH_UNIT = re.compile(rf"^\s*({_NUMBER})\s*([^\W\d_]{{1,6}}\.?|₽|\$|€)\s*$")
# The unit written in a column name: "Цена, руб.", "Длительность (мин)", "Объём, мл".
_NAME_UNIT = re.compile(r"^(?P<name>[^,(]+?)\s*(?:,\s*(?P<comma>.+?)|\((?P<paren>[^)]+)\))\s*$")
_CURRENCIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:руб\w*\.?|р\.?|₽|rub|rur)$"), "₽"),
    (re.compile(r"^(?:\$|usd|долл\w*\.?)$"), "$"),
    (re.compile(r"^(?:€|eur|евро)$"), "€"),
)
_UNITS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:мин\w*\.?|min\w*)$"), "мин"),
    (re.compile(r"^(?:ч\.?|час\w*|h|hours?)$"), "ч"),
    (re.compile(r"^(?:дн\w*\.?|день|days?)$"), "дн."),
)
_PRICE_NAMES = ("цена", "стоимост", "прайс", "price", "cost", "тариф")
_CATEGORY_NAMES = ("категор", "раздел", "группа", "category", "section")
# Longer text after the comma in a column name is a remark, not a unit.
_UNIT_CHARS = 12
_WITH = frozenset({"с", "со"})
_WITHOUT = frozenset({"без"})
_DESCRIPTION_NAMES = ("описан", "подробн", "состав", "description", "details")


@dataclass(frozen=True)
class RowParts:
    """A row split by role: its name, its figures with units, other short values, long text."""

    title: str
    figures: list[str]
    extras: list[str]
    descriptions: list[str]


def format_amount(text: str) -> str:
    """A number as people write it in Russian: "1800" → "1 800", "2500.5" → "2 500,5".

    Trailing zero kopecks are dropped ("1800.00" → "1 800"); anything that is not a plain number
    is returned unchanged.
    """
    match = _PLAIN_NUMBER.match(text)
    if not match:
        return text.strip()
    digits = re.sub(r"[ \u00a0]", "", match.group(1)).replace(",", ".")
    whole, _, fraction = digits.partition(".")
    fraction = fraction.rstrip("0")
    grouped = f"{int(whole):,}".replace(",", " ")
    return f"{grouped},{fraction}" if fraction else grouped


def column_unit(column: str) -> str | None:
    """The unit a column's numbers are in, read from its name; None when it names none.

    A price column without a unit ("Цена", "Стоимость") is taken to be in roubles: that is what
    a Russian price list means by a bare number.
    """
    name = normalize(column)
    match = _NAME_UNIT.match(name)
    if match:
        unit = re.sub(r"\s*/\s*", "/", (match.group("comma") or match.group("paren") or "").strip())
        if unit and len(unit) <= _UNIT_CHARS and not re.search(r"[\s\d]", unit):
            return "/".join(_unit_sign(part) for part in unit.split("/"))
        # "Цена, включая НДС": not a unit, and a guess could change what the price means.
        return None
    if any(word in name for word in _PRICE_NAMES):
        return "₽"
    return None


def _unit_sign(unit: str) -> str:
    """The usual short form of a unit ("руб." → "₽", "минут" → "мин"); others as written."""
    folded = normalize(unit)
    for pattern, sign in (*_CURRENCIES, *_UNITS):
        if pattern.match(folded):
            return sign
    return unit  # "мл", "шт.", "мес.": said as written


def format_value(column: str, value: str) -> str | None:
    """A number or a range of numbers with its column's unit ("1 800 ₽", "60 мин"), else None."""
    if with_unit := _NUMBER_WITH_UNIT.match(value):
        return f"{format_amount(with_unit.group(1))} {_unit_sign(with_unit.group(2))}"
    unit = column_unit(column)
    if unit is None:
        return None
    if _PLAIN_NUMBER.match(value):
        return f"{format_amount(value)} {unit}"
    if rng := _RANGE.match(value):
        return f"{format_amount(rng.group(1))}–{format_amount(rng.group(2))} {unit}"
    return None


def _is_category(column: str) -> bool:
    name = normalize(column)
    return any(word in name for word in _CATEGORY_NAMES)


def _is_price(column: str) -> bool:
    name = normalize(column)
    return any(word in name for word in _PRICE_NAMES)


def row_parts(record: Record) -> RowParts:
    """Split a table row into its title, figures, other short values and descriptions.

    The category column is left out: the visitor asked about the row, and "Категория: Маникюр"
    next to "Маникюр без покрытия" only repeats it.
    """
    title = (record.title or next(iter(record.fields.values()), "")).strip()
    figures: list[str] = []
    extras: list[str] = []
    descriptions: list[str] = []
    for column, raw in record.fields.items():
        value = raw.strip()
        if not value or value == title or _is_category(column):
            continue
        figure = format_value(column, value)
        if figure is not None:
            figures.append(figure)
        elif len(value) > LONG_VALUE or any(w in normalize(column) for w in _DESCRIPTION_NAMES):
            descriptions.append(value)
        elif _is_price(column):
            figures.append(value)  # "от 3000 руб.", "скидка 15%": quoted as written
        else:
            extras.append(f"{column[:1].lower()}{column[1:]}: {value}")
    return RowParts(title=title, figures=figures, extras=extras, descriptions=descriptions)


def row_sentence(record: Record) -> str:
    """A specific row in a sentence or two: name, figures, then its description.

    "Маникюр с покрытием гель-лак — 2 900 ₽, 100 мин. Комбинированный маникюр, …"
    """
    parts = row_parts(record)
    head = ", ".join([*parts.figures, *parts.extras])
    first = f"{parts.title} — {head}" if head else parts.title
    sentences = [_end_sentence(first), *(_end_sentence(text) for text in parts.descriptions)]
    return " ".join(sentences)


def row_line(record: Record) -> str:
    """A row as one line of a list: its name and figures ("Массаж спины — 2 800 ₽, 30 мин")."""
    parts = row_parts(record)
    shown = parts.figures or parts.extras
    return f"{parts.title} — {', '.join(shown)}" if shown else parts.title


def _end_sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


# --- broad or specific -----------------------------------------------------------------------


def _title_stems(record: Record) -> set[str]:
    title = record.title or next(iter(record.fields.values()), "")
    return set(tokenize(title, keep_stopwords=True))


def _same_table(a: Record, b: Record) -> bool:
    return (a.source.file, a.source.sheet, a.source.heading) == (
        b.source.file,
        b.source.sheet,
        b.source.heading,
    )


def _same_category(top: Record, other: Record) -> bool:
    return all(
        other.fields.get(column, "") == value
        for column, value in top.fields.items()
        if _is_category(column)
    )


def _after(text: str, prepositions: frozenset[str]) -> set[str]:
    """Stems of the words right after any of `prepositions` in `text`."""
    tokens = words(normalize(text))
    return {stem(nxt) for word, nxt in itertools.pairwise(tokens) if word in prepositions}


def _opposite(query: str, record: Record) -> bool:
    """The visitor asked "с покрытием" (with) and this row is "без покрытия" (without)."""
    return bool(_after(query, _WITH) & _after(record.title or "", _WITHOUT))


# «Какие массажи есть?», «виды стрижек», «список услуг»: the visitor asks which ones there are
# (the singular «какой» asks of one thing as often: «какой у вас адрес?»).
_LIST_ASKED = re.compile(r"\b(?:каки[ехм]|виды|видов|список|перечень)\b")


def asks_for_a_list(query: str) -> bool:
    """Whether the visitor asks which ones there are, not about one of them."""
    return bool(_LIST_ASKED.search(normalize(query)))


def broad_rows(hits: Sequence[Hit], query: str, *, floor: float) -> list[Hit]:
    """The rows a broad question is about, best first; empty when the question is specific.

    The question is broad when the words it shares with the best row's name are shared by other
    rows of the same table and category too ("маникюр" is in every manicure's name), and
    specific when it names what sets the best row apart ("маникюр с покрытием гель-лак", "мужская
    стрижка"). The best row must be at least `floor` confident, so an unrelated question does not
    get a list; the floor may sit below the threshold for a single answer, because every listed
    row carries the visitor's own words in its name.
    """
    if not hits or not query.strip():
        return []
    top = hits[0]
    if not top.record.fields or top.confidence < floor:
        return []
    top_stems = _title_stems(top.record)
    if not set(tokenize(query)) & top_stems:
        return []  # found by meaning alone, or by a preposition: nothing names the kind of row
    # Prepositions count here: "маникюр без покрытия" must not list "маникюр с покрытием".
    shared = set(tokenize(query, keep_stopwords=True)) & top_stems
    rows = [
        hit
        for hit in hits
        if hit.record.fields
        and hit.confidence >= LIST_ROW_FLOOR
        and not _opposite(query, hit.record)
        and _same_table(top.record, hit.record)
        and _same_category(top.record, hit.record)
        and shared <= _title_stems(hit.record)
    ]
    return rows[:LIST_MAX] if len(rows) >= 2 else []


def list_reply(rows: Sequence[Hit]) -> str:
    """The reply to a broad question: a short numbered list of the rows and how to ask about one.

    The rows are numbered so that «второе» or «2» in the next message picks one (the engine
    keeps the listed rows in the message's meta, see `dialog/choice.py`).
    """
    lines = "\n".join(f"{number}) {row_line(hit.record)}" for number, hit in enumerate(rows, 1))
    return f"Вот что у нас есть:\n{lines}\n{ask_line(rows[0].record)}"


def missing_list_reply(asked: str, rows: Sequence[Hit]) -> str:
    """The reply when the rows found are neighbours of what was asked, not it: say first that
    it is not in the list, then offer the rows, and a person for anything else."""
    lines = "\n".join(f"{number}) {row_line(hit.record)}" for number, hit in enumerate(rows, 1))
    return (
        f"«{asked}» в нашем прайсе не нашлось. Из похожего есть:\n{lines}\n"
        "Если подходит что-то из этого, напишите номер. Если нет — передам ваш вопрос "
        "администратору."
    )


def ask_line(record: Record) -> str:
    """How to ask about one row of a list: by its number or its name."""
    title_column = next(
        (column for column, value in record.fields.items() if value == record.title), ""
    )
    if normalize(title_column).startswith("услуг"):
        return "Напишите номер или название услуги — расскажу подробнее."
    return "Напишите номер или название — расскажу подробнее."
