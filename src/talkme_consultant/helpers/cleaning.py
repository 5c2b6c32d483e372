"""Text that can be stored and sent: no NUL, no lone surrogates, no invisible control characters.

Visitors paste from everywhere and models occasionally emit broken Unicode. PostgreSQL refuses
NUL in text, a lone surrogate cannot be encoded as UTF-8 at all, and control characters only
confuse the people who read the dialogue later. Cleaning happens where text enters the system
(the webhook, the model's reply), so everything downstream can trust its strings.
"""

from __future__ import annotations

import re

# C0 controls except tab, newline and carriage return; DEL and the C1 block; lone surrogates.
_UNWANTED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without NUL, lone surrogates and control characters (tabs and newlines stay)."""
    return _UNWANTED.sub("", text)


def has_unstorable(text: str) -> bool:
    """True when `text` holds a character no store can keep: NUL or a lone surrogate."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def fold_wording(text: str) -> str:
    """`text` as wordings are compared: case folded, «ё» as «е», whitespace collapsed. Two
    questions that differ only so are one wording (a taught phrasing is kept once, a visitor's
    question finds its lesson)."""
    return " ".join(text.casefold().replace("ё", "е").split())
