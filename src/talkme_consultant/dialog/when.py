"""When the visitor wants to come, read from Russian words in the business's time zone.

«в субботу», «завтра после обеда», «в следующий вторник вечером», «5 декабря к 15:00», «на
выходных», «сегодня в 16» — a `Wish`: the days it allows (none: any day soon), the part of the day
and an exact time when one was named. Nothing here guesses beyond the words: a wish the text does
not hold is an empty `Wish`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

_WEEKDAYS: tuple[tuple[int, str], ...] = (
    (0, r"понедельник\w*"),
    (1, r"вторник\w*"),
    (2, r"сред[уаые]"),
    (3, r"четверг\w*"),
    (4, r"пятниц[уаые]"),
    (5, r"суббот[уаые]"),
    (6, r"воскресень[еяю]"),
)
_WEEKDAY_NAMES = ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье")
_MONTHS = (
    "январ",
    "феврал",
    "март",
    "апрел",
    "ма[йя]",
    "июн",
    "июл",
    "август",
    "сентябр",
    "октябр",
    "ноябр",
    "декабр",
)
_MONTH_NAMES = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
# Parts of the day as [from, to) hours; the calendar's own hours bound them further.
_PARTS: tuple[tuple[str, tuple[int, int], str], ...] = (
    (r"после\s+обеда|во\s+второй\s+половине\s+дня", (14, 24), "после обеда"),
    (r"до\s+обеда|в\s+первой\s+половине\s+дня", (0, 13), "до обеда"),
    (r"утр(?:ом|а|о)\b|с\s+утра", (0, 12), "утром"),
    (r"\bд[нн]?[её]м\b|\bднем\b|\bдн[её]м\b", (12, 17), "днём"),
    (r"вечер(?:ом|а)?\b", (17, 24), "вечером"),
)
_NEXT = r"(?:следующ\w+|будущ\w+)\s+"
_WEEKDAY = re.compile(
    r"\b(?:в|во|на)?\s*(?P<next>"
    + _NEXT
    + r")?(?P<day>"
    + "|".join(f"(?:{pattern})" for _, pattern in _WEEKDAYS)
    + r")\b"
)
_DAY_MONTH = re.compile(r"\b(?P<day>\d{1,2})\s+(?P<month>" + "|".join(_MONTHS) + r")\w*")
_NUMERIC_DATE = re.compile(r"\b(?P<day>\d{1,2})\.(?P<month>\d{1,2})(?:\.\d{2,4})?\b(?!:)")
_CLOCK = re.compile(r"\b(?P<h>[01]?\d|2[0-3])[:.](?P<m>[0-5]\d)\b")
_HOUR = re.compile(
    r"\b(?P<prep>в|к|на|после|до|с)\s+(?P<h>[01]?\d|2[0-3])(?:\s*(?:час\w*|ч\.?))?"
    r"(?:\s+(?P<half>утра|дня|вечера))?(?![\d.:])"
)
_AFTER = re.compile(r"\bпосле\s+(?P<h>[01]?\d|2[0-3])(?:[:.](?P<m>[0-5]\d))?\b")
_BEFORE = re.compile(r"\bдо\s+(?P<h>[01]?\d|2[0-3])(?:[:.](?P<m>[0-5]\d))?\b")


@dataclass(frozen=True)
class Wish:
    """The visitor's wished time: days (empty: any), a window of hours and an exact time."""

    days: tuple[date, ...] = ()
    earliest: time | None = None
    latest: time | None = None  # exclusive
    exact: time | None = None
    label: str = ""  # the wish in words, for replies and the lead («в субботу, 5 декабря, 15:00»)

    @property
    def is_empty(self) -> bool:
        """True when the text named no day and no time."""
        return not self.days and self.earliest is None and self.exact is None

    def allows(self, at: time) -> bool:
        """Whether a start time lies within the wished window (an exact time is not a window)."""
        if self.earliest is not None and at < self.earliest:
            return False
        return not (self.latest is not None and at >= self.latest)


def day_label(day: date, today: date, *, by_weekday: bool = False) -> str:
    """«сегодня, 4 декабря», «завтра, 5 декабря», «в субботу, 6 декабря» (`by_weekday`: always
    the weekday, as the visitor named it)."""
    dated = f"{day.day} {_MONTH_NAMES[day.month - 1]}"
    if day == today and not by_weekday:
        return f"сегодня, {dated}"
    if day == today + timedelta(days=1) and not by_weekday:
        return f"завтра, {dated}"
    weekday = _WEEKDAY_NAMES[day.weekday()]
    preposition = "во" if weekday == "вторник" else "в"
    return f"{preposition} {weekday}, {dated}"


def read_wish(text: str, today: date) -> Wish:
    """The wished days and hours the text names, relative to `today` in the business's zone."""
    lowered = text.lower().replace("ё", "е")
    days = _days(lowered, today)
    by_weekday = _WEEKDAY.search(lowered) is not None and not re.search(
        r"\b(?:после)?завтра\b|\bсегодня\b", lowered
    )
    earliest, latest, part = _window(lowered)
    exact = _exact(lowered)
    if exact is not None and (earliest, latest) != (None, None) and part is None:
        earliest = latest = None  # «к 15:00» is an exact time, not «после 15»
    label_parts: list[str] = []
    if len(days) == 1:
        label_parts.append(day_label(days[0], today, by_weekday=by_weekday))
    elif days:
        label_parts.append("на выходных")
    if exact is not None:
        label_parts.append(f"к {exact.strftime('%H:%M')}")
    elif part is not None:
        label_parts.append(part)
    elif earliest is not None:
        label_parts.append(f"после {earliest.strftime('%H:%M')}")
    elif latest is not None:
        label_parts.append(f"до {latest.strftime('%H:%M')}")
    return Wish(
        days=days,
        earliest=earliest,
        latest=latest,
        exact=exact,
        label=", ".join(label_parts),
    )


def _days(text: str, today: date) -> tuple[date, ...]:
    if re.search(r"\bпослезавтра\b", text):
        return (today + timedelta(days=2),)
    if re.search(r"\bзавтра\b", text):
        return (today + timedelta(days=1),)
    if re.search(r"\bсегодня\b", text):
        return (today,)
    if re.search(r"\bвыходн\w*", text):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            return (today,)
        return (saturday, saturday + timedelta(days=1))
    match = _DAY_MONTH.search(text)
    if match:
        month = next(
            i + 1 for i, stem in enumerate(_MONTHS) if re.match(stem, match.group("month"))
        )
        return _dated(int(match.group("day")), month, today)
    match = _NUMERIC_DATE.search(text)
    if match:
        return _dated(int(match.group("day")), int(match.group("month")), today)
    match = _WEEKDAY.search(text)
    if match:
        weekday = next(n for n, pattern in _WEEKDAYS if re.fullmatch(pattern, match.group("day")))
        ahead = (weekday - today.weekday()) % 7
        if match.group("next"):
            # «в следующий вторник»: the Tuesday of next week, never this week's.
            ahead = weekday - today.weekday() + 7
        return (today + timedelta(days=ahead),)
    return ()


def _dated(day: int, month: int, today: date) -> tuple[date, ...]:
    """The next such date from today (a date already past this year is next year's)."""
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month, day)
        except ValueError:
            return ()
        if found >= today:
            return (found,)
    return ()


def _window(text: str) -> tuple[time | None, time | None, str | None]:
    for pattern, (start, end), label in _PARTS:
        if re.search(pattern, text):
            return time(start), (time(end) if end < 24 else None), label
    after = _AFTER.search(text)
    if after:
        return _clock(after.group("h"), after.group("m")), None, None
    before = _BEFORE.search(text)
    if before:
        return None, _clock(before.group("h"), before.group("m")), None
    return None, None, None


def _exact(text: str) -> time | None:
    clock = _CLOCK.search(text)
    if clock:
        return _clock(clock.group("h"), clock.group("m"))
    hour = _HOUR.search(text)
    if hour and hour.group("prep") in ("в", "к"):
        value = int(hour.group("h"))
        # «в 4 дня», «к 6 вечера»; a bare «в 4» in a salon's day means 16:00.
        if (hour.group("half") in ("дня", "вечера") or value < 8) and value < 12:
            value += 12
        return time(value)
    return None


def _clock(hours: str, minutes: str | None) -> time:
    value = int(hours)
    if value < 8:
        value += 12  # «после 3» in a salon's day is the afternoon
    return time(value, int(minutes or 0))
