"""CSV (and TSV) files: encoding detection, delimiter sniffing, one record per row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from talkme_consultant.knowledge.loaders.errors import LoaderError
from talkme_consultant.knowledge.loaders.tables import Grid, grid_records
from talkme_consultant.knowledge.loaders.textfiles import read_text
from talkme_consultant.knowledge.records import Record

_DELIMITERS = ",;\t"


def sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; and tab that splits the sample's lines most consistently."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        pass
    lines = [line for line in sample.splitlines() if line.strip()][:20]
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        # The delimiter appears on every line about as often; prefer the most frequent one.
        if counts and min(counts) > 0 and min(counts) > best_count:
            best, best_count = delimiter, min(counts)
    return best


def load_csv(path: Path, name: str) -> list[Record]:
    """Read a CSV/TSV file as one table."""
    text = read_text(path, name)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(text[:20000])
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise LoaderError(name, f"not a readable CSV file ({exc})") from exc
    grid = Grid(rows=[(number, cells) for number, cells in enumerate(rows, start=1)])
    return grid_records(grid, name)
