"""What the console's downloads hold, written alike as CSV and as .xlsx.

A table has Russian headers and typed cells: a date is a `datetime` in the business's time zone,
a yes/no is a `bool`, a missing value is None. Each writer shows them as a Russian spreadsheet
expects them (`csv_export.py`, `xlsx_export.py`), so both files say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

Cell = str | int | float | bool | datetime | None

# How a date reads in the CSV and is formatted in the .xlsx: «04.12.2026 14:05».
DATE_FORMAT = "%d.%m.%Y %H:%M"
XLSX_DATE_FORMAT = "DD.MM.YYYY HH:MM"


@dataclass(frozen=True)
class Table:
    """One download: its file name without the extension, the sheet's title, the header row
    and the rows, each as long as the header."""

    name: str
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def yes_no(value: bool) -> str:
    """A yes/no cell in the owner's words."""
    return "да" if value else "нет"
