"""Russian plural forms for counts the console shows: «1 вопрос», «3 вопроса», «5 вопросов».

One rule for every count on every page, registered as the Jinja filters `plural` (the count and
its word) and `plural_word` (the word alone, for a tile whose number stands apart).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any


def plural_word(count: int, one: str, few: str, many: str) -> str:
    """The form of a noun phrase that agrees with `count`: `one` after 1, 21, 101…, `few` after
    2-4, 22-24…, `many` after 0, 5-20, 25-30, 111-114…"""
    tens = abs(count) % 100
    units = tens % 10
    if units == 1 and tens != 11:
        return one
    if 2 <= units <= 4 and not 12 <= tens <= 14:
        return few
    return many


def plural(count: int, one: str, few: str, many: str) -> str:
    """The count and its agreeing word: «21 вопрос», «112 вопросов»."""
    return f"{count} {plural_word(count, one, few, many)}"


def register(filters: MutableMapping[str, Callable[..., Any]]) -> None:
    """Add the `plural` and `plural_word` filters to a Jinja environment's filters."""
    filters["plural"] = plural
    filters["plural_word"] = plural_word
