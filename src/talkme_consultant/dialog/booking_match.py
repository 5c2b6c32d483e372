"""Reading a booking message: which calendar service it names, which master, the visitor's name,
and what it wishes in its own words when there is no calendar to match against."""

from __future__ import annotations

import re
from collections.abc import Sequence

from talkme_consultant.helpers.calendar import CalendarService, Master
from talkme_consultant.knowledge.text import tokenize

# Words that tell services apart only by accident.
_GLUE = frozenset(
    ["на", "в", "во", "к", "с", "со", "для", "до", "и", "или", "по", "от", "из", "у", "за"]
)
_NEGATION = "без"
_ANY_MASTER = re.compile(r"\bк\s+любому\b|\bлюбой\s+мастер|\bне\s+важно\s+к\s+кому|\bвсе\s+равно")
_MAYBE_MASTER = re.compile(
    r"(?i:\bк\s+(?!вам\b|нам\b|любо\w*|вашему\b)[^\W\d_]{3,}|\bмастер\w*\s+[^\W\d_]{3,})"
    r"|^\s*[А-ЯЁ][а-яё]+\s*$"
)
_NAMED = re.compile(
    r"(?:\b[Мм]еня\s+зовут|\b[Зз]овут|\b[Яя]|\b[Ээ]то)\s*[-—,]?\s+(?P<name>[А-ЯЁA-Z][а-яёa-z]+(?:\s+[А-ЯЁA-Z][а-яёa-z]+)?)"
)
_NAME_BY_PHONE = re.compile(
    r"(?:^|[\s,.;:])(?P<name>[А-ЯЁ][а-яё]{1,20})\s*[,;]?\s*(?:тел\w*\.?\s*)?(?:\+7|8)[\s(]*\d"
)
_NAME_AFTER_PHONE = re.compile(r"\d[\d\s()-]{8,}\d\s*[,;]\s*(?P<name>[А-ЯЁ][а-яё]{1,20})\b")
_LETTERS_ONLY = re.compile(r"^[А-ЯЁа-яёA-Za-z-]{2,20}(?:\s+[А-ЯЁа-яёA-Za-z-]{2,20}){0,2}$")
# Words that are never a name, though they may open a reply with a capital letter.
_NOT_NAMES = frozenset(
    [
        *("да", "нет", "хорошо", "спасибо", "давайте", "можно", "ок", "окей", "конечно"),
        *("запишите", "записаться", "хочу", "здравствуйте", "добрый", "привет"),
        *("телефон", "номер", "мой", "меня"),
    ]
)
# What is said around a wish in words, left out of the lead's «service» («хочу записаться на…»).
_BOOKING_WORDS = re.compile(
    r"\b(?:здравствуйте|добрый\s+(?:день|вечер)|привет|пожалуйста|хочу|хотела?|хотим|"
    r"хотелось\s+бы|можно|могу|нужно|надо|давайте|запишите|запиши|записаться|записать|"
    r"запись|меня|мне|к\s+вам|вам|есть|ли|окошк\w*|свободн\w+|время|а|бы)\b"
)


def _words(text: str) -> list[str]:
    return [word for word in tokenize(text, keep_stopwords=True) if word not in _GLUE]


def match_services(text: str, services: Sequence[CalendarService]) -> list[CalendarService]:
    """The services the text names best (several when it fits them equally; empty: none).

    A title's «без покрытия» rules it out for a text that asks «с покрытием»."""
    asked = set(_words(text))
    if not asked:
        return []
    scored: list[tuple[int, int, CalendarService]] = []
    for service in services:
        title = _words(service.title)
        negated = {title[i + 1] for i, word in enumerate(title[:-1]) if word == _NEGATION}
        if negated & asked and _NEGATION not in asked:
            continue
        plain = [word for word in title if word != _NEGATION]
        hits = sum(1 for word in set(plain) if word in asked)
        if hits:
            scored.append((hits, -len(set(plain) - asked), service))
    if not scored:
        return []
    best = max(hits for hits, _, _ in scored)
    top = [(extra, service) for hits, extra, service in scored if hits == best]
    # One title covering everything asked with nothing else beats the rest («японский маникюр»).
    exact = [service for extra, service in top if extra == 0]
    if len(exact) == 1 and len(top) > 1 and best >= 2:
        return exact
    return [service for _, service in top]


def read_master(text: str, masters: Sequence[Master]) -> Master | None:
    """The master the text names («к Ольге», «Марина»), if any."""
    lowered = text.lower().replace("ё", "е")
    for master in masters:
        name = master.name.split()[0].lower().replace("ё", "е")
        stem = name[:-1] if len(name) > 4 else name
        if re.search(rf"\b{re.escape(stem)}\w*", lowered):
            return master
    return None


def may_name_master(text: str) -> bool:
    """True when the text may name a master («к Ольге», «мастер Марина», a lone «Ольга» in
    reply): only then is the calendar asked for its masters, a call the visitor waits for."""
    return _MAYBE_MASTER.search(text) is not None


def wants_any_master(text: str) -> bool:
    """True when the visitor says any master will do."""
    return _ANY_MASTER.search(text.lower().replace("ё", "е")) is not None


def read_name(text: str, *, asked: bool) -> str | None:
    """The visitor's name in the text: «меня зовут Анна», «Иван, +7 926…»; when the bot has just
    asked for it, a reply of one to three words is the name."""
    for pattern in (_NAMED, _NAME_BY_PHONE, _NAME_AFTER_PHONE):
        match = pattern.search(text)
        if match and match.group("name").split()[0].lower() not in _NOT_NAMES:
            return match.group("name")
    if asked:
        rest = re.sub(r"(?:\+7|8)[\d\s()-]{9,}\d", " ", text)
        rest = re.sub(r"[,.;!]+", " ", rest).strip()
        if _LETTERS_ONLY.match(rest) and rest.split()[0].lower() not in _NOT_NAMES:
            return " ".join(word.capitalize() for word in rest.split())
    return None


def wished_service(text: str, wish_words: Sequence[str]) -> str:
    """What the visitor wants done, in their words, for a lead without a calendar: the message
    without the booking words, the wished time, the phone and the name."""
    rest = re.sub(r"(?:\+7|8)[\d\s()-]{9,}\d", " ", text)
    rest = _NAMED.sub(" ", rest)
    lowered = rest.lower().replace("ё", "е")
    for words in wish_words:
        if words:
            lowered = re.sub(rf"\b{re.escape(words.lower().replace('ё', 'е'))}\b", " ", lowered)
    lowered = re.sub(
        r"\b(?:в|во|на|к)?\s*(?:следующ\w+\s+)?(?:сегодня|завтра|послезавтра|выходн\w*|"
        r"понедельн\w*|вторник\w*|сред[уаы]|четверг\w*|пятниц\w*|суббот\w*|воскресень\w*|"
        r"утр\w*|вечер\w*|(?:после|до)\s+обеда|дн[её]м)\b",
        " ",
        lowered,
    )
    lowered = re.sub(
        r"\b(?:в|к|после|до|с)\s+\d{1,2}(?:[:.]\d{2})?\b|\d{1,2}\s+\w+бря\b", " ", lowered
    )
    lowered = _BOOKING_WORDS.sub(" ", lowered)
    cleaned = re.sub(r"[^\w\s-]+", " ", lowered)
    kept = [w for w in cleaned.split() if not w.isdigit()]
    # A preposition left at either end belonged to a removed phrase («…покрытием в» субботу).
    while kept and kept[0] in _GLUE:
        kept.pop(0)
    while kept and kept[-1] in _GLUE:
        kept.pop()
    return " ".join(kept[:8])
