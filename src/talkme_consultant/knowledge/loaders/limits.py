"""How much a knowledge file may make a loader do, and the checks that run before any parser.

Office files are zip archives of XML. A few kilobytes can declare gigabytes once unzipped, an
XML entity can expand a billion times, and one merged range can name every cell of a sheet. These
checks read only what the archive declares (and stream its XML once), so a hostile file is
refused before openpyxl or python-docx ever allocate anything for it.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from talkme_consultant.knowledge.loaders.errors import LoaderError

# Office documents never need a DTD; one in any part is how entity bombs arrive.
_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_WORKSHEET_RE = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
_CELL_RE = re.compile(r"^([A-Z]{1,3})?(\d{1,7})?$")
_CHUNK = 1 << 16
_SHEET_ROWS = 1_048_576
_SHEET_COLUMNS = 16_384
# A few compressed bytes of a tiny part prove nothing; the ratio is judged above this size.
_RATIO_FLOOR_BYTES = 1 << 20


@dataclass(frozen=True)
class ParseLimits:
    """Caps on what one file may cost to read (see the PARSE_* settings)."""

    max_cells: int = 1_000_000
    max_merged_cells: int = 1_000_000
    max_pdf_pages: int = 2_000
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: int = 200


def check_archive(path: Path, name: str, limits: ParseLimits) -> None:
    """Refuse an Office archive whose declared size, compression ratio or XML is dangerous.

    Only the central directory is trusted for sizes: Python's zipfile stops at the declared size
    and fails the CRC if a member holds more, so a lie there cannot grow past the cap.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(member.file_size for member in members)
            if total > limits.max_unzipped_bytes:
                raise LoaderError(
                    name,
                    f"unpacks to {_megabytes(total)}, more than the "
                    f"{_megabytes(limits.max_unzipped_bytes)} limit",
                )
            for member in members:
                _check_ratio(member, name, limits)
            for member in members:
                if member.filename.lower().endswith(_XML_SUFFIXES):
                    with archive.open(member) as stream:
                        _refuse_dtd(stream, member.filename, name)
            if name.lower().endswith((".xlsx", ".xlsm")):
                _check_worksheets(archive, name, limits)
    except LoaderError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as exc:
        raise LoaderError(
            name, f"not a readable {_kind(name)}: the archive is damaged ({exc})"
        ) from exc


def _check_ratio(member: zipfile.ZipInfo, name: str, limits: ParseLimits) -> None:
    if member.file_size <= _RATIO_FLOOR_BYTES:
        return
    ratio = member.file_size / max(member.compress_size, 1)
    if ratio > limits.max_compression_ratio:
        raise LoaderError(
            name,
            f"part {member.filename} is compressed {ratio:.0f} times, more than the "
            f"{limits.max_compression_ratio}x limit (a zip bomb, not a document)",
        )


def _refuse_dtd(stream: IO[bytes], part: str, name: str) -> None:
    tail = b""
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        window = tail + chunk
        if any(marker in window for marker in _DTD_MARKERS):
            raise LoaderError(
                name,
                f"part {part} declares a DTD or XML entities, which Office files never need "
                "(refused: entity expansion can exhaust memory)",
            )
        tail = window[-32:]


def _check_worksheets(archive: zipfile.ZipFile, name: str, limits: ParseLimits) -> None:
    """Count cells and the area of merged ranges before openpyxl materialises either."""
    cells = 0
    merged = 0
    for member in archive.infolist():
        if not _WORKSHEET_RE.match(member.filename):
            continue
        with archive.open(member) as stream:
            for tag, ref in _cells_and_merges(stream, name):
                if tag == "mergeCell":
                    merged += _range_area(ref)
                    if merged > limits.max_merged_cells:
                        raise LoaderError(
                            name,
                            f"merged cell ranges cover {merged:,} cells or more, beyond the "
                            f"{limits.max_merged_cells:,}-cell limit",
                        )
                else:
                    cells += 1
                    if cells > limits.max_cells:
                        raise LoaderError(
                            name, f"has more than {limits.max_cells:,} cells, beyond the limit"
                        )


def _cells_and_merges(stream: IO[bytes], name: str) -> Iterator[tuple[str, str]]:
    """("c", "") per cell and ("mergeCell", ref) per merged range, streaming the sheet XML.

    The DTD check has already run, so expat sees no entity declarations; every element is
    cleared as soon as it ends, so memory stays flat however long the sheet is.
    """
    try:
        for _, element in ElementTree.iterparse(stream, events=("end",)):
            local = element.tag.rpartition("}")[2]
            if local == "c":
                yield "c", ""
            elif local == "mergeCell":
                yield "mergeCell", element.get("ref", "")
            element.clear()
    except ElementTree.ParseError as exc:
        raise LoaderError(name, f"the XML inside the workbook is broken ({exc})") from exc


def _range_area(ref: str) -> int:
    """Cells in a range such as "A3:XFD1048576" (a malformed one counts as one cell)."""
    first, _, last = ref.upper().partition(":")
    start, end = _cell(first, end=False), _cell(last or first, end=True)
    if start is None or end is None:
        return 1
    rows = abs(end[0] - start[0]) + 1
    cols = abs(end[1] - start[1]) + 1
    return rows * cols


def _cell(ref: str, *, end: bool) -> tuple[int, int] | None:
    """(row, column) of a reference; a whole-column ("A:B") or whole-row ("3:5") reference
    reaches the first or the last row or column of a sheet."""
    match = _CELL_RE.match(ref.replace("$", ""))
    if match is None or not any(match.groups()):
        return None
    letters, digits = match.groups()
    column = 0
    for letter in letters or "":
        column = column * 26 + ord(letter) - 64
    if not letters:
        column = _SHEET_COLUMNS if end else 1
    row = int(digits) if digits else (_SHEET_ROWS if end else 1)
    return row, column


def _kind(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return "Word .docx document" if suffix == ".docx" else f"Excel {suffix} workbook"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"
