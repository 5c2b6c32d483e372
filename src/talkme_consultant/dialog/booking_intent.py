"""Whether a message asks to be booked («хочу записаться», «запишите меня на стрижку», «есть
окошко завтра вечером?», «можно к вам в субботу на стрижку?»), as opposed to a question about
booking («как записаться?», «можно ли записаться в чате?»), which the knowledge base answers.
"""

from __future__ import annotations

import re

# «Записать» books someone only on or to something («записать сына на стрижку», «записать маму к
# Ольге»); «хотела записать стрим» is a recording.
_BOOK_SOMEONE = r"записать(?=\s+(?:\w+\s+){0,2}(?:на|к|ко)\b)"
# So is «запись»: «хочу запись на субботу», not «хочу себе запись трансляции».
_A_BOOKING = r"запис[ьи](?=\s+(?:\w+\s+){0,1}(?:на|к|ко)\b)"
# A request: the visitor asks us to book them, or asks for a free time.
_REQUESTS = (
    r"\b(?:хочу|хотела?|хотим|хотелось\s+бы|нужно|надо|планирую|давайте)\s+"
    r"(?:\w+\s+){0,3}(?:записаться|"
    + _BOOK_SOMEONE
    + r"|"
    + _A_BOOKING
    + r"|попасть|прийти|придти|подойти)",
    r"\bзапиш(?:ите|и|ешь|ете)\b",
    r"\bзаписаться\s+(?:на|к|в|во)\b",
    r"\b(?:есть|будет|найд[её]тся|осталось|остались)\s+(?:\w+\s+){0,2}"
    r"(?:окошк\w*|окн[оа]\w*|свободн\w+\s+(?:время|места?|окошк\w*|окн\w*|запис\w*|мастер\w*))",
    r"\bсвободн\w+\s+(?:время|окошк\w*|окн\w*)",
    r"\bможно\s+(?:к\s+вам|к\s+\w+\s+)?\s*(?:в|во|на|завтра|сегодня)\b.*\bна\s+\w+",
    r"\bзапись\s+на\s+(?:завтра|сегодня|послезавтра|суббот|воскрес|понедельн|вторник|сред|четверг|пятниц|\d)",
)
_REQUEST = re.compile("|".join(f"(?:{pattern})" for pattern in _REQUESTS))
# A question about how booking works: answered from the knowledge base, not a booking.
_ABOUT = re.compile(
    r"\b(?:как|где|каким\s+образом|через\s+что|куда)\s+(?:\w+\s+){0,2}"
    r"(?:записаться|запис\w*|записать)"
    r"|\bможно\s+ли\s+(?:\w+\s+){0,2}записаться\b"
    r"|\b(?:отменить|перенести)\s+(?:\w+\s+)?запис"
    r"|\bдо\s+скольки\b|\bво\s+сколько\s+можно\b"
)
# «можно … записаться / прийти» asks whether one may; it is a request only with a day or time
# («можно записаться на завтра?»), not in «можно с собакой прийти?».
_MAY = re.compile(
    r"\b(?:можно|могу)\s+(?:\w+\s+){0,4}(?:записаться|"
    + _BOOK_SOMEONE
    + r"|попасть|прийти|придти|подойти)"
)
# A question of price is answered first, from the price list, even beside a wish to book.
_PRICE = re.compile(
    r"\bсколько\s+(?:стоит|стоят|по\s+деньгам|будет\s+стоить)|\bцен[аыу]\b|\bпочем\b"
)
# A day or a clock time: what a question about booking names only when it is a request.
_DAY = re.compile(
    r"\b(?:сегодня|завтра|послезавтра|выходн\w*|понедельн\w*|вторник\w*|сред[уы]|четверг\w*|"
    r"пятниц\w*|суббот\w*|воскресень\w*)\b|\d{1,2}[:.]\d{2}|\b\d{1,2}\s+\w+бря\b"
)
# Words of a concrete wish: a day, a time, a service word after «на».
_CONCRETE = re.compile(
    r"\b(?:сегодня|завтра|послезавтра|выходн\w*|понедельн\w*|вторник\w*|сред[уы]|четверг\w*|"
    r"пятниц\w*|суббот\w*|воскресень\w*|утр\w*|вечер\w*|обед\w*)\b|\d{1,2}[:.]\d{2}"
)


# «хочу на японский маникюр к Ольге завтра вечером»: a wish to come, with a day or time.
_WANT_ON = re.compile(
    r"\b(?:хочу|хотела?|хотим|хотелось\s+бы|можно|нужно|надо)\s+(?:бы\s+)?(?:\w+\s+){0,2}"
    r"(?:на|к)\s+\w+"
)


def wants_to_book(text: str) -> bool:
    """True when the text asks to be booked or for a free time, not how booking works.

    «Как записаться?» alone is a question; «как записаться на маникюр в субботу?» names a day,
    which only a person who wants to come does, so it is a request."""
    lowered = text.lower().replace("ё", "е")
    if _PRICE.search(lowered):
        return False
    if _ABOUT.search(lowered):
        return bool(_DAY.search(lowered)) and bool(_REQUEST.search(lowered) or _MAY.search(lowered))
    if _WANT_ON.search(lowered) and _CONCRETE.search(lowered):
        return True
    if _REQUEST.search(lowered):
        return True
    if _MAY.search(lowered):
        return bool(_DAY.search(lowered))
    return bool(re.search(r"\bзаписаться\b", lowered)) and not re.search(r"\?", lowered)
