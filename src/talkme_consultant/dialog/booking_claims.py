"""A model's reply that says the visitor is booked, when no record was made.

Only the booking dialogue (`booking.py`) and the model's own `make_booking` call
(`booking_tools.py`) book, each after a successful `book_record`. A model's claim of a made
booking is therefore true only when its `make_booking` made a record in the same turn; any other
is untrue, and the engine sends such a reply back once with `CLAIM_FEEDBACK`, then falls back to
the offline answerer, as for any value the guard refuses.
"""

from __future__ import annotations

import re

_CLAIMS = re.compile(
    r"\b(?:вы|тебя|вас)\s+(?:успешно\s+)?(?:записаны|записан[аы]?|записала?|записали)\b"
    r"|\b(?:записал[аи]?|записываю)\s+(?:вас|тебя)\b"
    r"|\bзапись\s+(?:подтверждена|оформлена|создана|сделана)\b"
    r"|\b(?:жд[её]м|будем\s+ждать)\s+вас\s+(?:завтра|сегодня|в\s+\w+)\s+в\s+\d"
)

CLAIM_FEEDBACK = (
    "Ответ говорит, что посетитель записан, но запись не сделана: записывает только календарь "
    "салона. Не утверждай, что запись создана; предложи записаться или оставить телефон."
)


def claims_booking(text: str) -> bool:
    """True when the text tells the visitor a booking was made."""
    return _CLAIMS.search(text.lower().replace("ё", "е")) is not None
