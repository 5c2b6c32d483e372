"""Word documents (.docx): headings, paragraphs and tables, in document order."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from talkme_consultant.knowledge.loaders.errors import LoaderError
from talkme_consultant.knowledge.loaders.limits import ParseLimits
from talkme_consultant.knowledge.loaders.prose import Block, HeadingTracker, chunk_blocks
from talkme_consultant.knowledge.loaders.tables import Grid, grid_records
from talkme_consultant.knowledge.records import Record

_HEADING_STYLE_RE = re.compile(r"^(?:heading|заголовок)\s*(\d)", re.IGNORECASE)


def _heading_level(paragraph: Any) -> int | None:
    style = getattr(paragraph.style, "name", "") or ""
    if style.lower() == "title":
        return 1
    match = _HEADING_STYLE_RE.match(style)
    return int(match.group(1)) if match else None


def load_docx(path: Path, name: str, limits: ParseLimits | None = None) -> list[Record]:
    """Prose chunks under their headings, plus one record per table row (header = first row)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    limits = limits or ParseLimits()
    budget = _CellBudget(name, limits.max_cells)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoaderError(name, f"not a readable Word .docx document ({exc})") from exc
    tracker = HeadingTracker()
    blocks: list[Block] = []
    records: list[Record] = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            text = paragraph.text.strip()
            if not text:
                continue
            level = _heading_level(paragraph)
            if level is not None:
                tracker.push(level, text)
            else:
                blocks.append(Block(tracker.path, text))
        elif tag == "tbl":
            heading = " / ".join(tracker.path) or None
            records.extend(
                grid_records(_table_grid(Table(element, document), budget), name, None, heading)
            )
    return chunk_blocks(blocks, name) + records


class _CellBudget:
    """Counts table cells across the document; a merged cell counts once per column it spans."""

    def __init__(self, name: str, limit: int) -> None:
        self._name, self._limit, self._used = name, limit, 0

    def take(self) -> None:
        self._used += 1
        if self._used > self._limit:
            raise LoaderError(self._name, f"has more than {self._limit:,} table cells")


def _table_grid(table: Any, budget: _CellBudget) -> Grid:
    rows: list[tuple[int, list[str]]] = []
    copies: set[tuple[int, int]] = set()
    for number, row in enumerate(table.rows, start=1):
        cells: list[str] = []
        previous = None
        for col, cell in enumerate(row.cells):
            budget.take()
            # A horizontally merged cell is returned once per grid column it spans.
            if previous is not None and cell._tc is previous:
                copies.add((number, col))
            previous = cell._tc
            cells.append(cell.text.strip())
        rows.append((number, cells))
    return Grid(rows=rows, copies=copies)
