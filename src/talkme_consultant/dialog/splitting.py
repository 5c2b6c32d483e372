"""Splitting long replies into TalkMe-sized messages without cutting words or paragraphs."""

from __future__ import annotations

import re

# From the coarsest boundary to the finest, each with the separator that rejoins its pieces.
_LEVELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\n[ \t]*\n\s*"), "\n\n"),  # paragraphs
    (re.compile(r"[ \t]*\n\s*"), "\n"),  # lines (price lists are one item per line)
    (re.compile(r"(?<=[.!?…])[ \t]+"), " "),  # sentences
    (re.compile(r"\s+"), " "),  # words
)


def split_message(text: str, limit: int = 4000) -> list[str]:
    """Split `text` into pieces of at most `limit` characters at the coarsest boundary that
    works: paragraphs, then lines, then sentences, then words. Pieces keep their order and
    never start or end with whitespace; only a single word longer than `limit` is cut, since it
    cannot be sent otherwise."""
    text = text.strip()
    if not text:
        return []
    return _split(text, limit, 0)


def _split(text: str, limit: int, level: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level == len(_LEVELS):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    pattern, joiner = _LEVELS[level]
    pieces: list[str] = []
    current = ""
    for part in (p.strip() for p in pattern.split(text)):
        if not part:
            continue
        if len(part) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.extend(_split(part, limit, level + 1))
            continue
        candidate = f"{current}{joiner}{part}" if current else part
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = part
    if current:
        pieces.append(current)
    return pieces
