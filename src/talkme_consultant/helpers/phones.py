"""Phone numbers in free text: find them and bring them to one form.

Visitors type Russian numbers every way there is ("8 916 123-45-67", "+7(916)1234567",
"9161234567", "8-800-555-35-35"); leads and the grounding guard need one comparable form,
`+7XXXXXXXXXX`. Numbers written with an explicit foreign country code ("+44 20 7946 0958") keep
their digits as `+<digits>`. Pure functions, no imports from the rest of the app.
"""

from __future__ import annotations

import re

# Russian area / mobile codes start with 3, 4, 8 or 9; a bare ten-digit number starting with
# anything else is far more likely a sum, an order number or a date than a phone.
_RU_CODE_FIRST_DIGITS = frozenset("3489")

# A Russian number: optional country prefix (+7, 7 or 8), a three-digit code (maybe in
# parentheses), then seven digits with at most one separator between any two of them.
_RU_PHONE = re.compile(
    r"""
    (?<![\w+])                      # not glued to a word, a digit or another '+'
    (?:(?:\+\s?7|8|7)[\s\-.]*)?     # country prefix
    \(?\s?\d{3}\s?\)?[\s\-.]*        # area / mobile code
    \d(?:[\s\-.]?\d){6}             # subscriber number
    (?![\w])
    """,
    re.VERBOSE,
)

# Any number written with an explicit international prefix: "+44 20 7946 0958".
_INTL_PHONE = re.compile(r"(?<![\w+])\+\s?\d(?:[\s\-.()]{0,2}\d){7,14}(?!\w)")


# Any digit the patterns' `\d` takes, other scripts' included, so no number is missed.
_ANY_DIGIT = re.compile(r"\d")
_FEWEST_PHONE_DIGITS = 8


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def normalize_phone(raw: str) -> str | None:
    """Bring one phone number to `+7XXXXXXXXXX` (Russian) or `+<digits>` (explicit foreign code).

    Returns None when `raw` does not look like a whole phone number.
    """
    digits = _digits(raw)
    explicit_plus = raw.strip().startswith("+")
    if len(digits) == 11 and digits[0] in "78":
        if digits[0] == "8" and explicit_plus:
            return None  # "+8..." is not a Russian number written with the trunk prefix
        return "+7" + digits[1:]
    if len(digits) == 10 and not explicit_plus and digits[0] in _RU_CODE_FIRST_DIGITS:
        return "+7" + digits
    if explicit_plus and 8 <= len(digits) <= 15 and not digits.startswith("7"):
        return "+" + digits
    return None


def extract_phones(text: str) -> list[str]:
    """Every phone number in `text`, normalised (see `normalize_phone`), in order, no repeats."""
    result: list[str] = []
    for _, _, phone in phone_spans(text):
        if phone not in result:
            result.append(phone)
    return result


def phone_spans(text: str) -> list[tuple[int, int, str]]:
    """`(start, end, normalised)` for every phone in `text`, so callers can cut phones out."""
    spans: list[tuple[int, int, str]] = []
    # No number has fewer than eight digits: most texts have none, and counting is far cheaper
    # than the patterns' search (pages run this on every message and question they show).
    if len(_ANY_DIGIT.findall(text)) < _FEWEST_PHONE_DIGITS:
        return spans
    for pattern in (_RU_PHONE, _INTL_PHONE):
        for match in pattern.finditer(text):
            phone = normalize_phone(match.group())
            if phone is None:
                continue
            start, end = match.span()
            if any(start < s_end and s_start < end for s_start, s_end, _ in spans):
                continue
            spans.append((start, end, phone))
    return sorted(spans)
