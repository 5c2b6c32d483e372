"""PDF files: the text layer page by page, each chunk citing its page."""

from __future__ import annotations

from pathlib import Path

from talkme_consultant.knowledge.loaders.errors import LoaderError
from talkme_consultant.knowledge.loaders.limits import ParseLimits
from talkme_consultant.knowledge.loaders.prose import Block, chunk_blocks, plain_blocks
from talkme_consultant.knowledge.records import Record


def load_pdf(path: Path, name: str, limits: ParseLimits | None = None) -> list[Record]:
    """Read the text layer; scanned PDFs (no text) and password-protected ones are errors."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    limits = limits or ParseLimits()
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoaderError(name, "the PDF is password-protected")
        count = len(reader.pages)
        if count > limits.max_pdf_pages:
            raise LoaderError(
                name, f"has {count:,} pages, more than the {limits.max_pdf_pages:,}-page limit"
            )
        pages = list(reader.pages)
    except LoaderError:
        raise
    except (PdfReadError, ValueError, OSError, KeyError) as exc:
        raise LoaderError(name, f"not a readable PDF ({exc})") from exc
    blocks: list[Block] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # pypdf raises many kinds on damaged content streams
            raise LoaderError(name, f"page {number} cannot be read ({exc})") from exc
        blocks.extend(plain_blocks(_join_lines(text), page=number))
    if not blocks:
        raise LoaderError(name, "the PDF has no text layer (a scan needs OCR first)")
    return chunk_blocks(blocks, name)


def _join_lines(text: str) -> str:
    """PDF text comes line by line; keep paragraph breaks, rejoin hyphenated words."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if out and out[-1].endswith("-") and line[:1].islower():
            out[-1] = out[-1][:-1] + line.lstrip()
        else:
            out.append(line)
    return "\n".join(out)
