"""Replies to basics questions worded from the business profile alone: addresses and routes,
opening hours on a given day, phones, e-mail, site, messengers and parking.

Every value is copied from the profile as written, so the grounding guard finds it in
`BusinessProfile.facts_text()`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from talkme_consultant.answer.basics import BasicsQuestion, DayKind, Topic
from talkme_consultant.profile import Branch, BusinessProfile

_DAY_KEYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DAY_NAMES = ["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"]
_ON_DAY = [
    "в понедельник",
    "во вторник",
    "в среду",
    "в четверг",
    "в пятницу",
    "в субботу",
    "в воскресенье",
]
_CLOSED = re.compile(r"выходн|не работ|закрыт", re.IGNORECASE)


def on_day(weekday: int) -> str:
    """«в понедельник» … «в воскресенье» for a weekday number (Monday is 0)."""
    return _ON_DAY[weekday]


def is_closed(hours: str) -> bool:
    """Whether a profile's hours for a day say the place does not work that day."""
    return _CLOSED.search(hours) is not None


def hours_on(branch: Branch, weekday: int) -> str | None:
    """The branch's hours on a day of the week (0 = Monday), or None when the profile is silent."""
    hours = branch.hours
    if hours is None:
        return None
    if isinstance(hours, str):
        return hours  # one line for every day
    group = "weekdays" if weekday < 5 else "weekends"
    for key in (_DAY_KEYS[weekday], group, "daily"):
        if key in hours:
            return hours[key]
    return None


def _works(hours: str) -> str:
    """«работает с 10:00 до 18:00», or «не работает» for a day off."""
    return "не работает" if _CLOSED.search(hours) else f"работает {hours}"


def _dash(hours: str) -> str:
    return "выходной" if _CLOSED.search(hours) and len(hours) < 20 else hours


def _phones_line(branches: list[Branch], profile: BusinessProfile) -> str:
    phones = [f"{branch.name} — {branch.phone}" for branch in branches if branch.phone]
    if not phones and profile.contacts.phone:
        phones = [profile.contacts.phone]
    return "; ".join(phones)


def _ask_by_phone(what: str, branches: list[Branch], profile: BusinessProfile) -> str:
    phones = _phones_line(branches, profile)
    if not phones:
        return f"{what} у меня нет — уточните, пожалуйста, у администратора."
    return f"{what} у меня нет — уточните, пожалуйста, по телефону: {phones}."


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def _day_hours(branches: list[Branch], weekday: int, lead: str) -> str | None:
    known = [(branch, hours_on(branch, weekday)) for branch in branches]
    if all(hours is None for _, hours in known):
        return None
    if len(known) == 1:
        branch, hours = known[0]
        assert hours is not None
        if lead:  # «Сегодня воскресенье.» already names the day
            return f"{lead}. {branch.name} {_works(hours)}."
        return f"{branch.name} {_ON_DAY[weekday]} {_works(hours)}."
    lines = [
        f"{branch.name} — {_dash(hours) if hours else 'нет сведений'}" for branch, hours in known
    ]
    opening = f"{lead}, мы" if lead else f"{_ON_DAY[weekday].capitalize()} мы"
    return f"{opening} работаем так:\n{_bullets(lines)}"


def _days_hours(branches: list[Branch], days: list[int], title: str) -> str | None:
    lines: list[str] = []
    for branch in branches:
        parts: dict[str, list[int]] = {}
        for weekday in days:
            if (hours := hours_on(branch, weekday)) is not None:
                parts.setdefault(hours, []).append(weekday)
        if not parts:
            continue
        if len(parts) == 1:
            lines.append(f"{branch.name} — {_dash(next(iter(parts)))}")
        else:
            said = ", ".join(f"{_ON_DAY[ds[0]]} — {_dash(h)}" for h, ds in parts.items())
            lines.append(f"{branch.name}: {said}")
    if not lines:
        return None
    return f"{title}:\n{_bullets(lines)}"


def _general_hours(branches: list[Branch], title: str = "Часы работы") -> str | None:
    with_hours = [b for b in branches if b.hours_text()]
    if not with_hours:
        return None
    if len(with_hours) == 1:
        return f"{with_hours[0].name} работает: {with_hours[0].hours_text()}."
    return f"{title}:\n{_bullets([f'{b.name}: {b.hours_text()}' for b in with_hours])}"


def _hours(
    question: BasicsQuestion, branches: list[Branch], profile: BusinessProfile, today: date
) -> str:
    day = question.day
    text: str | None
    if day is DayKind.HOLIDAYS:
        return _holidays(branches, profile)
    if day is DayKind.WEEKDAY and question.weekday is not None:
        text = _day_hours(branches, question.weekday, "")
    elif day in (DayKind.TODAY, DayKind.TOMORROW):
        when = today if day is DayKind.TODAY else today + timedelta(days=1)
        word = "Сегодня" if day is DayKind.TODAY else "Завтра"
        text = _day_hours(branches, when.weekday(), f"{word} {_DAY_NAMES[when.weekday()]}")
    elif day is DayKind.WEEKENDS:
        text = _days_hours(branches, [5, 6], "В выходные мы работаем так")
    elif day is DayKind.WORKDAYS:
        text = _days_hours(branches, [0, 1, 2, 3, 4], "В будни мы работаем так")
    else:
        text = _general_hours(branches)
    return text or _ask_by_phone("Сведений о часах работы", branches, profile)


def _holidays(branches: list[Branch], profile: BusinessProfile) -> str:
    known = [f"{b.name}: {b.holidays}" for b in branches if b.holidays]
    if known and len(known) == len(branches):
        return f"В праздничные дни:\n{_bullets(known)}"
    # What the profile lacks is said plainly; the usual hours and a phone are what it has.
    parts = [f"В праздничные дни:\n{_bullets(known)}"] if known else []
    parts.append(_ask_by_phone("Точных сведений о работе в праздничные дни", branches, profile))
    if usual := _general_hours(branches, "Обычный график"):
        parts.append(usual)
    return "\n\n".join(parts)


def _address(branches: list[Branch], route: bool, profile: BusinessProfile) -> str:
    lines = []
    for branch in branches:
        line = f"{branch.name}: {branch.address}"
        if branch.metro:
            station = "метро" if len(branch.metro) == 1 else "ближайшие станции метро"
            line += f" ({station} {', '.join(branch.metro)})"
        lines.append(line)
    text = f"{lines[0]}." if len(lines) == 1 else f"Наши адреса:\n{_bullets(lines)}"
    if route and (phones := _phones_line(branches, profile)):
        text += f"\n\nЕсли в пути понадобится подсказка, звоните: {phones}."
    return text


def _phones(branches: list[Branch], profile: BusinessProfile) -> str:
    lines = [f"{branch.name}, телефон: {branch.phone}" for branch in branches if branch.phone]
    if profile.contacts.phone:
        lines.append(f"Общий телефон: {profile.contacts.phone}")
    if not lines:
        return "Номера телефона у меня нет — напишите, пожалуйста, ваш вопрос здесь, в чате."
    if len(lines) == 1:
        return f"{lines[0]}."
    return f"Наши телефоны:\n{_bullets(lines)}"


def _email(branches: list[Branch], profile: BusinessProfile) -> str:
    if profile.contacts.email:
        return f"Наша электронная почта: {profile.contacts.email}."
    return _ask_by_phone("Адреса электронной почты", branches, profile)


def _site(branches: list[Branch], profile: BusinessProfile) -> str:
    if profile.contacts.website:
        return f"Наш сайт: {profile.contacts.website}."
    return _ask_by_phone("Адреса сайта", branches, profile)


def _messengers(branches: list[Branch], profile: BusinessProfile) -> str:
    contacts = profile.contacts
    lines = [
        f"{label}: {value}"
        for label, value in (("Telegram", contacts.telegram), ("WhatsApp", contacts.whatsapp))
        if value
    ]
    if not lines:
        return _ask_by_phone("Сведений о мессенджерах", branches, profile)
    text = f"Нам можно написать в мессенджерах:\n{_bullets(lines)}"
    if contacts.messengers_hours:
        text += f"\n\nВ мессенджерах отвечают {contacts.messengers_hours}."
    return text


def _lower_first(sentence: str) -> str:
    """The owner's sentence continued after a dash: «Собственной …» → «собственной …»."""
    if len(sentence) > 1 and sentence[1].isupper():
        return sentence  # an abbreviation («ТЦ «Атриум»») keeps its capitals
    return sentence[:1].lower() + sentence[1:]


def _parking(branches: list[Branch], profile: BusinessProfile) -> str:
    lines = []
    for branch in branches:
        if branch.parking:
            lines.append(f"{branch.name} — {_lower_first(branch.parking)}")
        else:
            lines.append(_ask_by_phone(f"{branch.name}: сведений о парковке", [branch], profile))
    return lines[0] if len(lines) == 1 else f"Парковка:\n{_bullets(lines)}"


def word_basics(question: BasicsQuestion, profile: BusinessProfile, today: date) -> str:
    """The reply to a basics question, in Russian, quoting the profile's values as written.

    `today` is the business's local date (it decides «сегодня» and «завтра»).
    """
    wanted = set(question.branch_ids)
    branches = [b for b in profile.branches if not wanted or b.id in wanted]
    parts: list[str] = []
    topics = question.topics
    for topic in topics:
        if topic is Topic.ROUTE and Topic.ADDRESS in topics:
            continue
        if topic in (Topic.ADDRESS, Topic.ROUTE):
            parts.append(_address(branches, Topic.ROUTE in topics, profile))
        elif topic is Topic.HOURS:
            parts.append(_hours(question, branches, profile, today))
        elif topic is Topic.PHONE:
            parts.append(_phones(branches, profile))
        elif topic is Topic.EMAIL:
            parts.append(_email(branches, profile))
        elif topic is Topic.SITE:
            parts.append(_site(branches, profile))
        elif topic is Topic.MESSENGERS:
            parts.append(_messengers(branches, profile))
        elif topic is Topic.PARKING:
            parts.append(_parking(branches, profile))
    return "\n\n".join(parts)


def day_name(day: date) -> str:
    """The day of the week in Russian («суббота»): the model is told which day today is."""
    return _DAY_NAMES[day.weekday()]
