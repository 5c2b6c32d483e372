"""Prices in the console's texts kept on one line: «2 800 ₽» never breaks after «2».

On a phone's narrow screen a message, an answer or a record wraps wherever there is a space,
and a price split as «2» / «800 ₽» reads as two numbers. The `prices` filter escapes the text
(text already escaped, such as the `phones` filter's links, is left as it is) and then turns the
ordinary spaces inside each price — between its digit groups and before its currency, ₽, руб.
or р. — into NO-BREAK SPACE (U+00A0). Only spaces between digits and a currency are replaced,
after escaping, so no markup can be made from the text. A number without a currency stays as
it is: a phone number such as «+7 926 111-22-33» may break where the visitor put spaces.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

NBSP = "\u00a0"

# A number: one run of digits, then groups of three after a space («2 800», «15 000»), then
# kopecks («1 500,50»).
_NUMBER = r"\d+(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d{1,2})?(?![\d])"
# Where a price may start: not inside a longer number, nor after a phone's «+7», «-» or «)», so
# «8 926 111-22-33 р» is never joined.
_STARTS = r"(?<![\d+.,\-)])"
# A currency after the number: ₽, руб. (рублей, рубля…), р. or a lone р.
_CURRENCY = r"(?:₽|руб[а-яё]*\.?|р\.|р(?![\w]))"
# A price, or a range of prices with one currency: «2 800 ₽», «1 500–2 000 руб.».
_PRICE = re.compile(
    rf"{_STARTS}{_NUMBER}(?:[ \u00a0]?[–—-][ \u00a0]?{_NUMBER})?[ \u00a0]?{_CURRENCY}",
    re.IGNORECASE,
)


def _joined(match: re.Match[str]) -> str:
    return match.group(0).replace(" ", NBSP)


def unbroken_prices(text: str | None) -> Markup:
    """`text` escaped (unless it is markup already), each price in it with no-break spaces."""
    if not text:
        return Markup("")
    escaped = str(escape(text))
    return Markup(_PRICE.sub(_joined, escaped))
