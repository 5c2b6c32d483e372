"""Knowledge-base files to records: spreadsheets, CSV, Word, PDF, Markdown, text and HTML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from talkme_consultant.knowledge.loaders.csvfiles import load_csv
from talkme_consultant.knowledge.loaders.documents import load_docx
from talkme_consultant.knowledge.loaders.errors import LoaderError
from talkme_consultant.knowledge.loaders.html import load_html
from talkme_consultant.knowledge.loaders.limits import ParseLimits, check_archive
from talkme_consultant.knowledge.loaders.pdf import load_pdf
from talkme_consultant.knowledge.loaders.prose import chunk_blocks, markdown_blocks, plain_blocks
from talkme_consultant.knowledge.loaders.spreadsheets import load_xls, load_xlsx
from talkme_consultant.knowledge.loaders.textfiles import read_text
from talkme_consultant.knowledge.records import Record

__all__ = ["SUPPORTED_SUFFIXES", "LoaderError", "ParseLimits", "load_file"]


Loader = Callable[[Path, str, ParseLimits], list[Record]]


def _load_markdown(path: Path, name: str, _: ParseLimits) -> list[Record]:
    return chunk_blocks(markdown_blocks(read_text(path, name)), name)


def _load_text(path: Path, name: str, _: ParseLimits) -> list[Record]:
    return chunk_blocks(plain_blocks(read_text(path, name)), name)


def _load_csv(path: Path, name: str, _: ParseLimits) -> list[Record]:
    return load_csv(path, name)


def _load_html(path: Path, name: str, _: ParseLimits) -> list[Record]:
    return load_html(path, name)


_LOADERS: dict[str, Loader] = {
    ".xlsx": load_xlsx,
    ".xlsm": load_xlsx,
    ".xls": load_xls,
    ".csv": _load_csv,
    ".tsv": _load_csv,
    ".docx": load_docx,
    ".pdf": load_pdf,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
}
# Zip archives of XML: their declared sizes and parts are checked before a parser opens them.
_ARCHIVE_SUFFIXES = frozenset({".xlsx", ".xlsm", ".docx"})

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)


def load_file(
    path: Path, name: str | None = None, limits: ParseLimits | None = None
) -> list[Record]:
    """Read one knowledge-base file into records.

    `name` is the file name cited in every record's source (default: `path.name`), so an
    uploaded file stored under a temporary path still cites the name its owner knows.
    Raises `LoaderError` (naming the file and the reason) for unsupported, empty or unreadable
    files, for files beyond `limits` (cells, merged area, pages, unzipped size, XML entities),
    and for files that yield no text at all. Memory and time are bounded by the caller: see
    `talkme_consultant.service.parsing`, which runs this in a limited child process.
    """
    limits = limits or ParseLimits()
    name = name or path.name
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise LoaderError(name, f"unsupported file type '{suffix or '(none)'}' (use {supported})")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoaderError(name, f"cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise LoaderError(name, "the file is empty")
    if suffix in _ARCHIVE_SUFFIXES:
        check_archive(path, name, limits)
    records = loader(path, name, limits)
    if not records:
        raise LoaderError(name, "no text found in the file")
    return records
