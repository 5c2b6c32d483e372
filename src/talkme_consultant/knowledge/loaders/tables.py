"""Tables to records: header detection, cell formatting, title and answer columns.

Every loader that reads rows (xlsx, xls, csv, docx and html tables) hands a grid of cell strings
here, so all of them detect headers and build "Column: value" records the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.text import clean_display, normalize

_TITLE_NAMES = (
    "вопрос",
    "question",
    "услуга",
    "service",
    "наименование",
    "название",
    "name",
    "тема",
    "topic",
    "title",
    "товар",
    "product",
    "заголовок",
)
_ANSWER_NAMES = ("ответ", "answer", "reply")
_NUMBER_RE = re.compile(r"^[-+]?[\d\s\u00a0]+(?:[.,]\d+)?\s*(?:%|₽|руб\.?|р\.?)?$", re.IGNORECASE)
# Header detection looks this far down for the first header-like row (title rows sit above it).
HEADER_SEARCH_ROWS = 10
MAX_HEADER_CELL = 60


@dataclass
class Grid:
    """A table as people see it: cell text by 1-based row number.

    `copies` holds (row index, column) of cells that only repeat a horizontally merged cell's
    value, so the value is written once per record.
    """

    rows: list[tuple[int, list[str]]]
    copies: set[tuple[int, int]] = field(default_factory=set)


def format_number(value: float, decimals: int | None = None) -> str:
    """A number as a person writes it: 1500 (not 1500.0), 1500.5, never scientific notation."""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if float(value).is_integer() and decimals in (None, 0):
        return str(int(value))
    if decimals is not None:
        return f"{value:.{decimals}f}"
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"


def format_datetime(value: dt.datetime | dt.date | dt.time) -> str:
    """Dates as dd.mm.yyyy, with HH:MM when a time of day is set."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return value.strftime("%H:%M")


def _looks_like_number(text: str) -> bool:
    return bool(_NUMBER_RE.match(text))


def _is_header_like(cells: Sequence[str], width: int) -> bool:
    filled = [c for c in cells if c]
    if len(filled) < 2 or len(set(filled)) < 2:
        return False
    if len(filled) * 2 < min(width, 4):
        return False
    return all(len(c) <= MAX_HEADER_CELL and not _looks_like_number(c) for c in filled)


def find_header(rows: Sequence[tuple[int, Sequence[str]]]) -> int | None:
    """Position in `rows` (non-empty rows) of the header row, or None when there is none.

    Rows above the header with a single distinct value (a title, a merged banner, a date line)
    are skipped; the first row with at least two distinct short non-numeric cells covering a
    good part of the table's width is the header.
    """
    width = max((len(cells) for _, cells in rows), default=0)
    for position, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if _is_header_like(cells, width):
            return position
        if len({c for c in cells if c}) >= 2:
            # A first multi-value row that is not header-like is data: there is no header.
            return None
    return None


def _unique_names(header: Sequence[str], width: int) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for col in range(width):
        name = header[col].strip() if col < len(header) else ""
        name = name or f"Столбец {col + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _column_named(names: Sequence[str], wanted: Sequence[str]) -> int | None:
    for stem in wanted:
        for col, name in enumerate(names):
            if stem in normalize(name):
                return col
    return None


@dataclass(frozen=True)
class Columns:
    """Column names and which column is the title and which is the answer."""

    names: list[str]
    title: int | None
    answer: int | None


def choose_columns(names: list[str], data: Sequence[Sequence[str]]) -> Columns:
    """Find the title column (question/service/name..., else the first text column) and answer."""
    answer = _column_named(names, _ANSWER_NAMES)
    title = _column_named(names, _TITLE_NAMES)
    if title is None:
        for col in range(len(names)):
            if col == answer:
                continue
            values = [row[col] for row in data if col < len(row) and row[col]]
            if values and sum(not _looks_like_number(v) for v in values) * 2 > len(values):
                title = col
                break
    return Columns(names=names, title=title, answer=answer)


def grid_records(
    grid: Grid,
    file: str,
    sheet: str | None = None,
    heading: str | None = None,
) -> list[Record]:
    """One record per non-empty data row of `grid`.

    A row whose only value sits in its first cell, in a table at least three columns wide, is a
    section line of a price list ("Маникюр" above the manicure services): it is not a record but
    names the section of the rows below it, which carry it in `source.heading` and their text.
    """
    rows: list[tuple[int, list[str]]] = []
    for number, raw in grid.rows:
        cells = [clean_display(c) for c in raw]
        if any(cells):
            rows.append((number, cells))
    if not rows:
        return []
    width = max(len(cells) for _, cells in rows)
    header_at = find_header(rows)
    if header_at is None:
        names = _unique_names([], width)
        data_rows = rows
    else:
        names = _unique_names(rows[header_at][1], width)
        data_rows = rows[header_at + 1 :]
    columns = choose_columns(names, [cells for _, cells in data_rows])
    records: list[Record] = []
    section: str | None = None
    for number, cells in data_rows:
        filled = [(col, value) for col, value in enumerate(cells) if value]
        distinct = {value for _, value in filled}
        if width >= 3 and len(distinct) == 1 and filled[0][0] == 0:
            section = filled[0][1]
            continue
        record = _row_record(number, cells, columns, grid.copies, file, sheet, heading, section)
        if record is not None:
            records.append(record)
    return records


def _row_record(
    number: int,
    cells: Sequence[str],
    columns: Columns,
    copies: set[tuple[int, int]],
    file: str,
    sheet: str | None,
    heading: str | None,
    section: str | None,
) -> Record | None:
    fields: dict[str, str] = {}
    lines: list[str] = []
    if section:
        lines.append(f"Раздел: {section}")
    for col, value in enumerate(cells):
        if not value or (number, col) in copies:
            continue
        name = columns.names[col]
        fields[name] = value
        lines.append(f"{name}: {value}")
    if not fields:
        return None
    text = "\n".join(lines)
    title = _cell(cells, columns.title)
    answer = _cell(cells, columns.answer) or text
    path = " / ".join(p for p in (heading, section) if p) or None
    return Record(
        text=text,
        title=title,
        answer=answer,
        source=Source(file=file, sheet=sheet, row=number, heading=path),
        fields=fields,
    )


def _cell(cells: Sequence[str], col: int | None) -> str | None:
    if col is None or col >= len(cells):
        return None
    return cells[col] or None
