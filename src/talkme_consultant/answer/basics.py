"""The basics a visitor asks first, understood with no model to be answered from the profile.

Addresses, metro, opening hours (on a given day, today, at weekends, on holidays), phones,
e-mail, site, messengers and parking are structured facts of the profile; reading them from
the knowledge base by search is slower and less exact. This module understands such a question
(which topics, which branches, which day); `basics_wording` words the answer from the profile
alone, and `profile_basics.ProfileBasics` does both for one profile.

Precision comes before recall: a question is understood only when every word of it is known
(a topic cue, a branch name, metro or street, a day, or an everyday word such as «вы» or
«подскажите»). «Сколько стоит маникюр в Сокольниках» names a branch but is a price question:
«стоит» and «маникюр» are not basics words, so it is left to the knowledge search.

A message that leans on the dialogue («а в Сокольниках?», «а до скольки он работает в
воскресенье?», «а телефон?») is understood against the last basics question and branch of the
dialogue's topic (`lean_on`): a pronoun («он», «там») is that branch, and what the message does not
say (the topic, the branch, the day) is the earlier question's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from talkme_consultant.knowledge.text import stem
from talkme_consultant.profile import BusinessProfile


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
