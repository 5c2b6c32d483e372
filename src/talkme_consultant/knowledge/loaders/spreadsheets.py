"""Excel workbooks: .xlsx through openpyxl, legacy .xls through xlrd. Every sheet is read."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any

from talkme_consultant.knowledge.loaders.errors import LoaderError
from talkme_consultant.knowledge.loaders.limits import ParseLimits
from talkme_consultant.knowledge.loaders.tables import (
    Grid,
    format_datetime,
    format_number,
    grid_records,
)
from talkme_consultant.knowledge.records import Record

_DECIMALS_RE = re.compile(r"0[.,](0+)")


def _decimals(number_format: str | None) -> int | None:
    """Decimal places a cell's number format shows ("#,##0.00" → 2), None for "General"."""
    if not number_format:
        return None
    match = _DECIMALS_RE.search(number_format)
    return len(match.group(1)) if match else None


def _format_xlsx_value(value: Any, number_format: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, int | float):
        return format_number(float(value), _decimals(number_format))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return format_datetime(value)
    return str(value).strip()


def load_xlsx(path: Path, name: str, limits: ParseLimits | None = None) -> list[Record]:
    """Read every sheet of an .xlsx workbook, one record per data row."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    limits = limits or ParseLimits()
    try:
        # Not read-only: merged cell ranges are only available on full worksheets.
        workbook = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise LoaderError(name, f"not a readable Excel .xlsx workbook ({exc})") from exc
    records: list[Record] = []
    try:
        for sheet in workbook.worksheets:
            grid = _xlsx_grid(sheet, name, limits)
            records.extend(grid_records(grid, name, sheet=sheet.title))
    finally:
        workbook.close()
    return records


def _xlsx_grid(sheet: Any, name: str, limits: ParseLimits) -> Grid:
    values: dict[tuple[int, int], str] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is not None:
                values[(cell.row, cell.column)] = _format_xlsx_value(cell.value, cell.number_format)
    ranges = [(m.min_row, m.max_row, m.min_col, m.max_col) for m in sheet.merged_cells.ranges]
    _check_merged_area(ranges, name, limits)
    copies: set[tuple[int, int]] = set()
    for merged in sheet.merged_cells.ranges:
        top_left = values.get((merged.min_row, merged.min_col), "")
        for r in range(merged.min_row, merged.max_row + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                values[(r, c)] = top_left
                if c != merged.min_col:
                    copies.add((r, c - 1))
    return _to_grid(values, copies)


def _to_grid(values: dict[tuple[int, int], str], copies: set[tuple[int, int]]) -> Grid:
    """Turn 1-based (row, column) values into a grid; `copies` columns become 0-based."""
    if not values:
        return Grid(rows=[])
    width = max(c for _, c in values)
    row_numbers = sorted({r for r, _ in values})
    rows = [(r, [values.get((r, c), "") for c in range(1, width + 1)]) for r in row_numbers]
    return Grid(rows=rows, copies=copies)


def _check_merged_area(
    ranges: list[tuple[int, int, int, int]], name: str, limits: ParseLimits
) -> None:
    """Every cell of a merged range becomes a grid cell: refuse areas beyond the cap first."""
    area = sum((r_hi - r_lo + 1) * (c_hi - c_lo + 1) for r_lo, r_hi, c_lo, c_hi in ranges)
    if area > limits.max_merged_cells:
        raise LoaderError(
            name,
            f"merged cell ranges cover {area:,} cells, beyond the "
            f"{limits.max_merged_cells:,}-cell limit",
        )


def load_xls(path: Path, name: str, limits: ParseLimits | None = None) -> list[Record]:
    """Read every sheet of a legacy .xls workbook (BIFF) through xlrd."""
    import xlrd

    limits = limits or ParseLimits()
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True)
    except Exception as exc:  # xlrd raises plain Exceptions and its own XLRDError alike
        raise LoaderError(name, f"not a readable Excel .xls workbook ({exc})") from exc
    records: list[Record] = []
    # xlrd ranges are half-open; the check takes inclusive bounds.
    _check_merged_area(
        [
            (r_lo, r_hi - 1, c_lo, c_hi - 1)
            for sheet in book.sheets()
            for r_lo, r_hi, c_lo, c_hi in sheet.merged_cells
        ],
        name,
        limits,
    )
    cells = sum(sheet.nrows * sheet.ncols for sheet in book.sheets())
    if cells > limits.max_cells:
        raise LoaderError(name, f"has more than {limits.max_cells:,} cells, beyond the limit")
    for sheet in book.sheets():
        values: dict[tuple[int, int], str] = {}
        for r in range(sheet.nrows):
            for c in range(sheet.ncols):
                text = _format_xls_cell(sheet.cell(r, c), book.datemode)
                if text:
                    values[(r + 1, c + 1)] = text
        copies: set[tuple[int, int]] = set()
        for row_lo, row_hi, col_lo, col_hi in sheet.merged_cells:
            top_left = values.get((row_lo + 1, col_lo + 1), "")
            for r in range(row_lo, row_hi):
                for c in range(col_lo, col_hi):
                    values[(r + 1, c + 1)] = top_left
                    if c != col_lo:
                        copies.add((r + 1, c))
        records.extend(grid_records(_to_grid(values, copies), name, sheet=sheet.name))
    return records


def _format_xls_cell(cell: Any, datemode: int) -> str:
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    if cell.ctype == xlrd.XL_CELL_DATE:
        return format_datetime(xlrd.xldate_as_datetime(cell.value, datemode))
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "да" if cell.value else "нет"
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        return format_number(float(cell.value))
    return str(cell.value).strip()
