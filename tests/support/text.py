"""Text read back from a console page, compared as a person reads it.

The console keeps a price on one line with no-break spaces («2 800 ₽» with U+00A0,
`web/console/text_view.py`); a spec comparing what a page shows with what the bot said compares
the words, so it turns those spaces back into ordinary ones first.
"""

from __future__ import annotations

NO_BREAK_SPACE = "\u00a0"


def plain(text: str) -> str:
    """`text` with every no-break space an ordinary space."""
    return text.replace(NO_BREAK_SPACE, " ")
