"""Prose to records: blocks under headings, chunked to a size limit with a little overlap."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.text import clean_display

# About a screen of text: long enough to hold a complete answer, short enough that the
# embedding (512 tokens at most) still sees all of it.
CHUNK_CHARS = 1000
# Carried from the end of one chunk into the next so a sentence cut at the border stays findable.
OVERLAP_CHARS = 150
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+")
_MD_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    """A paragraph (or list item, table line...) with the headings it sits under."""

    headings: tuple[str, ...]
    text: str
    page: int | None = None


class HeadingTracker:
    """Keeps the current heading path as headings of various levels arrive."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def push(self, level: int, title: str) -> None:
        """A heading of `level` (1 = top) closes every open heading at that level or deeper."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, clean_display(title)))

    @property
    def path(self) -> tuple[str, ...]:
        """The open headings, outermost first."""
        return tuple(title for _, title in self._stack)


def markdown_blocks(text: str) -> list[Block]:
    """Split Markdown into paragraphs under `#` headings (blank lines separate paragraphs)."""
    tracker = HeadingTracker()
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block(tracker.path, clean_display(" ".join(paragraph))))
            paragraph.clear()

    in_fence = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
            continue
        match = None if in_fence else _MD_HEADING_RE.match(line)
        if match:
            flush()
            tracker.push(len(match.group(1)), match.group(2))
        elif not line.strip():
            flush()
        elif line.lstrip().startswith(("- ", "* ", "+ ")) or re.match(r"^\s*\d+[.)]\s", line):
            flush()
            paragraph.append(line.strip())
        else:
            paragraph.append(line.strip())
    flush()
    return [b for b in blocks if b.text]


def plain_blocks(text: str, page: int | None = None) -> list[Block]:
    """Split plain text into paragraphs at blank lines."""
    parts = re.split(r"\n\s*\n", text)
    return [Block((), clean_display(p), page) for p in parts if clean_display(p)]


def _split_long(text: str, limit: int) -> list[str]:
    """Cut an over-long paragraph at sentence ends (at spaces if a sentence is itself too long)."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END_RE.split(text):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def _tail(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    start = text.find(" ", len(text) - chars)
    return text[start + 1 :] if start >= 0 else text[-chars:]


def chunk_blocks(
    blocks: Iterable[Block], file: str, limit: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS
) -> list[Record]:
    """Join consecutive blocks under the same headings (and page) into chunks of ≤ `limit` chars.

    Each chunk's text starts with its heading path, so both search sides see what the section is
    about; a new chunk of a continuing section starts with the last ~`overlap` chars of the
    previous one.
    """
    records: list[Record] = []
    group: list[Block] = []
    for block in blocks:
        if group and (group[-1].headings, group[-1].page) != (block.headings, block.page):
            records.extend(_chunk_group(group, file, limit, overlap))
            group = []
        group.append(block)
    if group:
        records.extend(_chunk_group(group, file, limit, overlap))
    return records


def _chunk_group(group: Sequence[Block], file: str, limit: int, overlap: int) -> list[Record]:
    headings, page = group[0].headings, group[0].page
    heading = " / ".join(headings) or None
    pieces: list[str] = []
    for block in group:
        pieces.extend([block.text] if len(block.text) <= limit else _split_long(block.text, limit))
    bodies: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 1 + len(piece) > limit:
            bodies.append(current)
            carried = _tail(current, overlap)
            current = carried + " " + piece if len(carried) + 1 + len(piece) <= limit else piece
        else:
            current = f"{current}\n{piece}" if current else piece
    if current:
        bodies.append(current)
    records: list[Record] = []
    for body in bodies:
        text = f"{heading}\n{body}" if heading else body
        records.append(
            Record(
                text=text,
                title=headings[-1] if headings else None,
                answer=body,
                source=Source(file=file, page=page, heading=heading),
            )
        )
    return records
