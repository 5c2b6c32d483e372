"""Splitting long replies into TalkMe-sized messages without cutting words or paragraphs."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_message(text: str, limit: int = 4000) -> list[str]:
    """Split at paragraph boundaries; a paragraph longer than `limit` splits at sentences, and a
    sentence longer than that at spaces. Pieces are never cut inside a word (a single word longer
    than `limit` is the only exception, since it cannot be sent otherwise)."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for paragraph in _units(text, limit):
        separator = "\n\n" if current else ""
        if len(current) + len(separator) + len(paragraph) <= limit:
            current += separator + paragraph
        else:
            if current:
                pieces.append(current)
            current = paragraph
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, limit: int) -> list[str]:
    """Paragraphs, with over-long ones broken into sentence and word runs that fit."""
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= limit:
            units.append(paragraph)
            continue
        units.extend(_pack(_SENTENCE_END.split(paragraph), limit, " "))
    return units


def _pack(parts: list[str], limit: int, joiner: str) -> list[str]:
    packed: list[str] = []
    current = ""
    for part in parts:
        if len(part) > limit:
            if current:
                packed.append(current)
                current = ""
            if joiner == " " and " " in part:
                packed.extend(_pack(part.split(" "), limit, " "))
            else:
                packed.extend(part[i : i + limit] for i in range(0, len(part), limit))
            continue
        candidate = f"{current}{joiner}{part}" if current else part
        if len(candidate) <= limit:
            current = candidate
        else:
            packed.append(current)
            current = part
    if current:
        packed.append(current)
    return packed
