"""The console's downloads as .xlsx: dates a spreadsheet can sort and count, text kept as text.

A date is an Excel date-time cell holding the business's local time (Excel keeps no time zone),
shown «ДД.ММ.ГГГГ ЧЧ:ММ»; yes/no is «да»/«нет». openpyxl takes a string that begins with `=` for
a formula and writes it as one, so every text cell is marked as a string: a visitor named
`=HYPERLINK(…)` stays their name, exactly as written. The sheet is written row by row
(openpyxl's write-only mode), so a long export does not hold a cell object per value.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from talkme_consultant.web.export_table import XLSX_DATE_FORMAT, Cell, Table, yes_no

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Column widths in characters: wide enough for a date, never wider than a screen's share.
MIN_WIDTH = 10
MAX_WIDTH = 60
DATE_WIDTH = 17


def _cell(sheet: WriteOnlyWorksheet, value: Cell) -> WriteOnlyCell:
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
        cell.number_format = XLSX_DATE_FORMAT
        return cell
    if isinstance(value, bool):
        value = yes_no(value)
    cell = WriteOnlyCell(sheet, value="" if value is None else value)
    if isinstance(value, str):
        # Text is text: without this a leading «=» would be written as a formula.
        cell.data_type = "s"
    return cell


def _width(header: str, column: list[Cell]) -> float:
    if any(isinstance(value, datetime) for value in column):
        return DATE_WIDTH
    longest = max((len(str(value)) for value in column if value is not None), default=0)
    return min(MAX_WIDTH, max(MIN_WIDTH, len(header), longest) + 2)


def xlsx_bytes(table: Table) -> bytes:
    """The table as an .xlsx file: one sheet, a frozen header row and a row per record."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.title)
    for index, header in enumerate(table.headers):
        column = [row[index] for row in table.rows]
        sheet.column_dimensions[get_column_letter(index + 1)].width = _width(header, column)
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, header) for header in table.headers])
    for row in table.rows:
        sheet.append([_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def xlsx_response(table: Table) -> Response:
    """An .xlsx download. openpyxl spends about a tenth of a millisecond per cell, seconds for a
    long export, so the file is written in a worker thread while the event loop goes on
    answering webhooks."""
    content = await asyncio.to_thread(xlsx_bytes, table)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{table.name}.xlsx"'},
    )
