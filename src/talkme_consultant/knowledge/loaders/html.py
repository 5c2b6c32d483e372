"""HTML pages: headings and text blocks; scripts, styles and navigation dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from talkme_consultant.knowledge.loaders.prose import Block, HeadingTracker, chunk_blocks
from talkme_consultant.knowledge.loaders.tables import Grid, grid_records
from talkme_consultant.knowledge.loaders.textfiles import read_text
from talkme_consultant.knowledge.records import Record

_DROP = ["script", "style", "nav", "noscript", "template", "svg", "iframe", "form"]
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_BLOCKS = {"p", "li", "pre", "blockquote", "dt", "dd", "figcaption", "address", "summary"}


def load_html(path: Path, name: str) -> list[Record]:
    """Prose chunks under the page's headings, plus one record per table row."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(read_text(path, name), "html.parser")
    for tag in soup(_DROP):
        tag.decompose()
    root = soup.body or soup
    tracker = HeadingTracker()
    blocks: list[Block] = []
    records: list[Record] = []
    for element in root.find_all([*_HEADINGS, *_BLOCKS, "table"]):
        if element.find_parent(["table", *_BLOCKS]) is not None:
            continue  # already taken with its enclosing block or table
        if element.name in _HEADINGS:
            text = element.get_text(" ", strip=True)
            if text:
                tracker.push(_HEADINGS[element.name], text)
        elif element.name == "table":
            heading = " / ".join(tracker.path) or None
            records.extend(grid_records(_table_grid(element), name, None, heading))
        else:
            text = element.get_text(" ", strip=True)
            if text:
                blocks.append(Block(tracker.path, text))
    if not blocks and not records:
        text = root.get_text("\n", strip=True)
        blocks = [Block((), line) for line in text.split("\n") if line.strip()]
    return chunk_blocks(blocks, name) + records


def _table_grid(table: Any) -> Grid:
    rows: list[tuple[int, list[str]]] = []
    for number, tr in enumerate(table.find_all("tr"), start=1):
        cells = [cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])]
        rows.append((number, cells))
    return Grid(rows=rows)
