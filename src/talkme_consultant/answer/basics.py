"""The basics a visitor asks first, answered from the business profile with no model.

Addresses, metro, opening hours (on a given day, today, at weekends, on holidays), phones,
e-mail, site, messengers and parking are structured facts of the profile; reading them from
the knowledge base by search is slower and less exact. This module understands such a question
(which topics, which branches, which day) and words the answer from the profile alone.

Precision comes before recall: a question is understood only when every word of it is known
(a topic cue, a branch name, metro or street, a day, or an everyday word such as «вы» or
«подскажите»). «Сколько стоит маникюр в Сокольниках» names a branch but is a price question:
«стоит» and «маникюр» are not basics words, so it is left to the knowledge search.

A message that leans on the dialogue («а в Сокольниках?», «а до скольки он работает в
воскресенье?», «а телефон?») is understood against the last basics question and branch of the
dialogue's topic (`lean_on`): a pronoun («он», «там») is that branch, and what the message does not
say (the topic, the branch, the day) is the earlier question's.

Every value in a reply is copied from the profile, so the grounding guard finds it in
`BusinessProfile.facts_text()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from talkme_consultant.knowledge.text import stem
from talkme_consultant.profile import Branch, BusinessProfile


class Topic(StrEnum):
    """What a basics question asks about."""

    ADDRESS = "address"
    ROUTE = "route"  # how to get there: the address, the metro and a phone to call on the way
    HOURS = "hours"
    PHONE = "phone"
    EMAIL = "email"
    SITE = "site"
    MESSENGERS = "messengers"
    PARKING = "parking"


class DayKind(StrEnum):
    """Which day(s) an hours question is about."""

    WEEKDAY = "weekday"  # one day of the week, see `BasicsQuestion.weekdays`
    TODAY = "today"
    TOMORROW = "tomorrow"
    WEEKENDS = "weekends"
    WORKDAYS = "workdays"
    HOLIDAYS = "holidays"


class BasicsQuestion(BaseModel):
    """What a visitor asked, as far as the profile can answer it (kept in the dialogue's topic)."""

    model_config = ConfigDict(frozen=True)

    topics: tuple[Topic, ...]
    branch_ids: tuple[str, ...]  # empty: the question names no branch, so all of them
    day: DayKind | None = None
    weekday: int | None = None  # 0 = Monday, set for DayKind.WEEKDAY


# --- understanding -----------------------------------------------------------------------------

_MAX_CHARS = 200
_WORD = re.compile(r"[a-zа-я0-9]+")

# (topic, word pattern, strong). A weak cue decides the topic only when no strong cue is present:
# «где у вас парковка» is about parking, «где вы находитесь» about the address.
_TOPIC_CUES: list[tuple[Topic, str, bool]] = [
    (Topic.ADDRESS, r"адрес\w*|наход\w*|располож\w*|местоположени\w*|локаци\w*", True),
    (Topic.ADDRESS, r"где|куда|метро|станци\w*", False),
    (Topic.ROUTE, r"добрат\w*|доберус\w*|доехат\w*|доеду|дойти|пройти|проехат\w*", True),
    (Topic.ROUTE, r"добираться|доезжать|подъехать|приехать|найти", True),
    (Topic.HOURS, r"час|часы|часу|часов|график\w*|режим\w*|расписани\w*", True),
    (Topic.HOURS, r"открыва\w*|открыт\w*|открое\w*|закрыва\w*|закрыт\w*|закрое\w*", True),
    # Verb forms and «часы работы» only: «есть работа?» asks about a job, not the hours.
    (Topic.HOURS, r"работа(?:ет|ете|ют|ешь|ем|ть)|работы|время|принимает\w*", False),
    (Topic.HOURS, r"скольки|сколько", False),
    (Topic.PHONE, r"телефон\w*|позвонит\w*|звонит\w*|дозвонит\w*|созвонит\w*", True),
    (Topic.PHONE, r"номер|номера|номерок", False),
    (Topic.EMAIL, r"почт\w*|email|e|mail|емейл\w*|имейл\w*|емеил\w*|имеил\w*|мейл\w*", True),
    (Topic.SITE, r"сайт\w*|website|web", True),
    (Topic.MESSENGERS, r"мессенджер\w*|месенджер\w*|telegram|телеграм\w*|телег\w*|тг", True),
    (Topic.MESSENGERS, r"whatsapp|ватсап\w*|вотсап\w*|вацап\w*|уатсап\w*", True),
    (Topic.PARKING, r"парков\w*|припарк\w*|паркинг\w*|парканут\w*", True),
    # A car, not «машинкой» (the hair clipper of «стрижка машинкой»).
    (Topic.PARKING, r"машин(?:а|ы|е|у|ой|ам|ами|ах)?|авто|автомобил\w*", True),
]
# «На сколько дней?» counts days, weeks or times: not the hours of work «сколько» may ask.
_COUNT = re.compile(r"сколько\s+(?:\w+\s+)?(?:дн|недел|месяц|лет|раз)")
# «Какие у вас контакты?», «как с вами связаться?»: every way to reach the business.
_CONTACTS = re.compile(r"контакт\w*|связат\w*|связь|связи")
_CONTACT_TOPICS = (Topic.PHONE, Topic.EMAIL, Topic.SITE, Topic.MESSENGERS)

_WEEKDAYS = [
    r"понедельник\w*|пн",
    r"вторник\w*|вт",
    r"сред[аыуе]|ср",
    r"четверг\w*|чт",
    r"пятниц\w*|пт",
    r"суббот\w*|сб",
    r"воскресень\w*|воскресен\w*|вс",
]
_DAY_WORDS: list[tuple[DayKind, str]] = [
    (DayKind.TODAY, r"сегодня|сейчас|сегодн\w*"),
    (DayKind.TOMORROW, r"завтра"),
    (DayKind.WEEKENDS, r"выходн\w*"),
    (DayKind.WORKDAYS, r"будн\w*|будням"),
    (DayKind.HOLIDAYS, r"праздник\w*|праздничн\w*|новогодн\w*"),
]

# Everyday words that carry no question of their own.
_FILLER = re.compile(
    r"а|и|или|либо|но|в|во|на|с|со|к|ко|до|от|по|у|о|об|при|за|из|для|же|ли|ль|бы|ну|не|ни|то|"
    r"вы|вас|вам|вами|ваш\w*|мы|нас|нам|наш\w*|ты|тебя|тебе|твой|я|мне|меня|мой|моя|свой|своя|"
    r"это|этот|эта|там|тут|здесь|сюда|туда|вот|так|ведь|именно|просто|обычно|вообще|еще|тоже|"
    r"также|раз|все|всех|весь|оба|обоих|обоим|любом|как|какой|какая|какое|какие|каким|какую|"
    r"какого|каком|котор\w*|когда|есть|ест|будет|будете|будут|был|была|были|можно|нужно|надо|"
    r"подскажите|подскажи|скажите|скажи|напишите|дайте|пришлите|уточните|узнать|уточнить|"
    r"хотел\w*|хочу|интересует|интересно|пожалуйста|пожалуйсто|пж|пжл|плиз|здравствуйте|"
    r"здравствуй|здрасьте|привет|добрый|доброе|доброго|день|дня|дни|дней|утро|вечер|спасибо|"
    r"ок|хорошо|филиал\w*|ближайш\w*|рядом|недалеко|поблизости|точн\w*|электронн\w*|ссылк\w*|администратор\w*|"
    r"работает|работаете|работают|работаешь|часам|of|the|your"
)
# Words of an address that name no particular branch.
_GENERIC_PLACE = {
    "г", "город", "москва", "ул", "улица", "пер", "переулок", "пр", "проспект", "шоссе", "пл",
    "площадь", "бульвар", "наб", "набережная", "д", "дом", "стр", "строение", "корп", "корпус",
    "к", "офис", "этаж", "филиал", "метро", "станция", "на", "в", "у", "тц", "бц",
}  # fmt: skip
_MIN_KEY = 4  # shorter stems ("мал" of «Малый») would match unrelated words


def normalise_text(text: str) -> str:
    """Lower case with ё as е: how the cues of this module are written."""
    return text.lower().replace("ё", "е")


def _words(text: str) -> list[str]:
    return _WORD.findall(normalise_text(text))


def _branch_keys(profile: BusinessProfile) -> dict[str, set[str]]:
    """Stems that name each branch: words of its name, metro stations and address."""
    keys: dict[str, set[str]] = {}
    for branch in profile.branches:
        words = _words(" ".join([branch.name, branch.address, *branch.metro]))
        keys[branch.id] = {
            stem(word)
            for word in words
            if word not in _GENERIC_PLACE and not word.isdigit() and len(stem(word)) >= _MIN_KEY
        }
    # A word every branch shares (the city, a chain's name) names none of them.
    shared = set.intersection(*keys.values()) if len(keys) > 1 else set()
    return {branch_id: stems - shared for branch_id, stems in keys.items()}


def _shared_place_words(profile: BusinessProfile) -> set[str]:
    """Stems of the business's own name and of what its branches share (the city): harmless."""
    words = _words(" ".join(filter(None, [profile.name, profile.short_name])))
    stems = {stem(word) for word in words}
    per_branch = [{stem(word) for word in _words(branch.address)} for branch in profile.branches]
    if per_branch:
        stems |= set.intersection(*per_branch) if len(per_branch) > 1 else set()
    return stems | {stem(word) for word in _GENERIC_PLACE}


def _full(pattern: str, word: str) -> bool:
    return re.fullmatch(pattern, word) is not None


# Words that point back to something said before: the branch spoken of («а до скольки он
# работает?», «там есть парковка?»). Understood only in a message read against the dialogue.
_REFERRING = re.compile(
    r"он|она|оно|они|его|него|ему|нему|ей|ней|нее|им|ним|их|них|там|туда|тут|здесь|этот|этом|"
    r"этого|эта|этой|это"
)
# A message that opens with «а» or «и» continues the dialogue («а телефон?»).
_CONTINUES = re.compile(r"^\W*(?:а|и|ну а|а вот|а если|еще|ещё)\b", re.IGNORECASE)


@dataclass
class _Words:
    """What the words of a message say to the profile: topic cues, branches, a day."""

    strong: list[Topic] = field(default_factory=list)
    weak: list[Topic] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    day: DayKind | None = None
    weekday: int | None = None
    refers: bool = False  # a word points back to something said before


def _read_words(text: str, profile: BusinessProfile, *, referring: bool) -> _Words | None:
    """Every word understood, or None; with `referring`, «он» and «там» point back."""
    if not text.strip() or len(text) > _MAX_CHARS or not profile.branches:
        return None
    if _COUNT.search(normalise_text(text)):
        return None
    branch_keys = _branch_keys(profile)
    harmless = _shared_place_words(profile)
    read = _Words()
    for word in _words(text):
        understood = False
        if referring and _REFERRING.fullmatch(word):
            read.refers = understood = True
        for topic, pattern, is_strong in _TOPIC_CUES:
            if _full(pattern, word):
                (read.strong if is_strong else read.weak).append(topic)
                understood = True
        if _CONTACTS.fullmatch(word):
            read.strong.extend(_CONTACT_TOPICS)
            understood = True
        for index, pattern in enumerate(_WEEKDAYS):
            if _full(pattern, word):
                read.day, read.weekday, understood = DayKind.WEEKDAY, index, True
        for kind, pattern in _DAY_WORDS:
            if _full(pattern, word):
                read.day, read.weekday, understood = kind, None, True
        word_stem = stem(word)
        for branch_id, keys in branch_keys.items():
            if word_stem in keys:
                understood = True
                if branch_id not in read.branches:
                    read.branches.append(branch_id)
        if not understood and not _FILLER.fullmatch(word) and word_stem not in harmless:
            return None
    return read


def _topics(read: _Words) -> tuple[Topic, ...]:
    """The topics the words ask about (strong cues first), or () when none."""
    strong, weak = read.strong, read.weak
    topics = _unique(strong) or _unique(weak)
    if Topic.PARKING in topics:
        # «Можно приехать на машине?» asks where to leave the car, not the way.
        topics = tuple(topic for topic in topics if topic is not Topic.ROUTE)
    if read.day is not None and Topic.ADDRESS in topics and Topic.HOURS in weak:
        topics = _unique([*topics, Topic.HOURS])  # «где и до скольки работаете в субботу»
    if read.day is not None and not strong and Topic.HOURS in weak:
        topics = (Topic.HOURS,)  # «вы работаете в субботу?» is about hours, whatever else
    return topics


def read_basics(text: str, profile: BusinessProfile) -> BasicsQuestion | None:
    """Understand a basics question, or None when it is not one (or not only one).

    Returns None unless the question has a topic and every word is understood, so anything
    else («сколько стоит маникюр в Сокольниках», «работает ли мастер Анна в субботу») is left
    to the knowledge search.
    """
    read = _read_words(text, profile, referring=False)
    if read is None:
        return None
    topics = _topics(read)
    if not topics:
        return None  # «а в субботу?» alone leans on an earlier turn: see `lean_on`
    return BasicsQuestion(
        topics=topics, branch_ids=tuple(read.branches), day=read.day, weekday=read.weekday
    )


def continues(text: str) -> bool:
    """Whether a message opens as a continuation of the dialogue («а …», «и …»)."""
    return _CONTINUES.match(normalise_text(text)) is not None


def lean_on(
    text: str,
    profile: BusinessProfile,
    earlier: BasicsQuestion | None,
    branch: str | None,
) -> BasicsQuestion | None:
    """A basics question read against the dialogue: `earlier` is its last basics question,
    `branch` the id of the last branch spoken of. None when the message is not a basics
    question even so.

    - «а в Сокольниках?», «а в субботу?», «а по выходным?» ask the earlier question again
      of another branch or day (a day after an address asks the hours);
    - «а до скольки он работает?», «там парковка есть?», «а телефон?» ask a new topic of the
      branch spoken of: a word points back to it, or the message continues the dialogue with
      «а» and names no branch of its own; an hours question that names no day keeps the
      earlier question's day («а на Тверской до скольки?» after «в воскресенье работаете?»).
    A message complete on its own («телефон в Сокольниках») is read as it is.
    """
    read = _read_words(text, profile, referring=True)
    if read is None:
        return None
    topics = _topics(read)
    leaning = read.refers or continues(text)
    if not topics:
        if earlier is None or not (read.branches or read.day):
            return None
        topics = earlier.topics
        if read.day is not None and Topic.HOURS not in topics:
            topics = (Topic.HOURS,)  # «где вы?» → «а в субботу?»: open that day?
        branches = tuple(read.branches) or earlier.branch_ids
        day, weekday = (read.day, read.weekday) if read.day else (earlier.day, earlier.weekday)
        return BasicsQuestion(topics=topics, branch_ids=branches, day=day, weekday=weekday)
    branches = tuple(read.branches)
    if not branches and leaning and branch is not None:
        branches = (branch,)
    day, weekday = read.day, read.weekday
    hours_again = earlier is not None and Topic.HOURS in topics and Topic.HOURS in earlier.topics
    if day is None and leaning and hours_again and earlier is not None:
        day, weekday = earlier.day, earlier.weekday
    return BasicsQuestion(topics=topics, branch_ids=branches, day=day, weekday=weekday)


def branches_named(text: str, profile: BusinessProfile) -> list[str]:
    """The ids of the branches a message names by name, metro or street, in any message
    («сколько стоит маникюр в Сокольниках» names one)."""
    keys = _branch_keys(profile) if profile.branches else {}
    stems = {stem(word) for word in _words(text)}
    return [branch_id for branch_id, names in keys.items() if stems & names]


def _unique(topics: Iterable[Topic]) -> tuple[Topic, ...]:
    return tuple(dict.fromkeys(topics))


# --- wording -----------------------------------------------------------------------------------

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


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ProfileBasics:
    """Answers basics questions from one profile; the offline answerer asks it before searching."""

    def __init__(self, profile: BusinessProfile, now: Callable[[], datetime] = _utc_now) -> None:
        self._profile = profile
        self._now = now

    def today(self) -> date:
        """The business's local date (its profile `timezone`)."""
        return self._now().astimezone(self._profile.zone()).date()

    def reply(self, text: str) -> str | None:
        """The answer to `text` when it is a basics question, else None."""
        question = self.read(text)
        if question is None:
            return None
        return self.answer(question)

    def read(self, text: str) -> BasicsQuestion | None:
        """`read_basics` with this profile: the question on its own words."""
        return read_basics(text, self._profile)

    def answer(self, question: BasicsQuestion) -> str | None:
        """The answer to a question already understood (see `lean_on`); None when empty."""
        return word_basics(question, self._profile, self.today()) or None

    def lean_on(
        self, text: str, earlier: BasicsQuestion | None, branch: str | None
    ) -> BasicsQuestion | None:
        """`lean_on` with this profile."""
        return lean_on(text, self._profile, earlier, branch)

    def branches_named(self, text: str) -> list[str]:
        """`branches_named` with this profile."""
        return branches_named(text, self._profile)
