"""A message read against the dialogue's topic: what it asks once the topic fills what it leaves
out, and what the dialogue is about after the answer.

Visitors talk to a consultant, not to a search box: «Сколько стоит педикюр с покрытием?» is
followed by «а сколько длится?», «а маникюр?», «а в Сокольниках?», «а до скольки он работает?».
Such a message lacks its subject or what it asks about it:

- **no subject** («а сколько длится?», «а что входит?», «и сколько это по времени») — the
  topic's subject: the rows already answered when the message asks their price, duration or
  what they include (answered from the rows, no new search), else the topic's question's
  subject put after the message's words («а цена какая?» after an FAQ on lamination →
  «цена какая ламинирование ресниц»);
- **no attribute** («а педикюр?», «а детская?», «а с покрытием?», «а в Сокольниках?») — the
  topic's question with its subject replaced, or with the new words put beside its head noun
  («сколько стоит женская стрижка» + «а детская?» → «сколько стоит стрижка детская»); these
  readings and the message itself are searched, and the confidence model decides between them
  (`Reading.candidates`);
- **profile basics** («а в Сокольниках?» after a phone, «он», «там») — `basics.lean_on`.

A message complete on its own (a subject and a question about it, with no word pointing back)
is read as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from talkme_consultant.answer.attributes import Attribute, attributes_asked
from talkme_consultant.answer.base import ClarifyOption, DialogueTopic, Draft, Intent
from talkme_consultant.answer.basics import BasicsQuestion, continues
from talkme_consultant.answer.clarifying import options_of
from talkme_consultant.answer.profile_basics import ProfileBasics
from talkme_consultant.knowledge.coverage import WordKind, word_kind
from talkme_consultant.knowledge.query import strip_pleasantries
from talkme_consultant.knowledge.text import normalize

# A message this long is a question of its own, whatever it starts with.
_SHORT_WORDS = 6
# Words that point back to what was spoken of: they name nothing to search for.
_REFERRING_TEXT = """
    он она оно они его него ему нему ей ней ее нее им ним их них ими ними нем нём
    это этот эта эти этого этой этом этим эту такой такая такое такие такую такого там туда тут
"""
_REFERRING = frozenset(_REFERRING_TEXT.split())
_TOKEN = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_PREPOSITIONS_TEXT = "в во на с со к ко у о об от до по за из для без при про под над"
_PREPOSITIONS = frozenset(_PREPOSITIONS_TEXT.split())
# Intents after which the dialogue is about what it was about before.
_KEEPS_TOPIC = frozenset(
    {
        Intent.GREETING,
        Intent.THANKS,
        Intent.GOODBYE,
        Intent.OFF_TOPIC,
        Intent.OPERATOR,
        Intent.BOOKING,
    }
)


@dataclass(frozen=True)
class Reading:
    """What a message asks, read against the dialogue's topic."""

    # What to search for: the message itself, or the message completed from the topic.
    text: str
    # Other readings to search too; the most confident one is answered (the message itself is
    # among them when the completion is only a guess).
    candidates: tuple[str, ...] = ()
    attribute: Attribute | None = None
    # The topic's records the message asks its attribute of: answered from them, with no
    # search, when they hold it (see `OfflineAnswerer`).
    rows: tuple[ClarifyOption, ...] = ()
    # The records the dialogue has already given: a follow-up asks something new, so on a near
    # tie another record is answered.
    given: tuple[str, ...] = ()
    # A question the profile answers, completed from the topic when it leaned on it.
    basics: BasicsQuestion | None = None
    branch: str | None = None  # a branch the message names
    leaned: bool = False  # the message was completed from the topic
    # The message names another thing in place of the one record answered («а подмышки?» after
    # «шугаринг ног сколько стоит»): a reading that finds a record not given yet is preferred
    # to one that finds the given record again (see `OfflineAnswerer`).
    fresh: bool = False

    @property
    def readings(self) -> tuple[str, ...]:
        """Every text to search, the completed reading first."""
        return (self.text, *(text for text in self.candidates if text != self.text))


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalize(text))


@dataclass(frozen=True)
class _Phrase:
    """A question's words with the part each plays in naming what it asks about."""

    tokens: list[str]
    roles: list[str]  # "head", "noun", "modifier", "prep", "inner" (of a preposition's phrase), ""

    @classmethod
    def of(cls, tokens: list[str]) -> _Phrase:
        roles: list[str] = []
        inside = False  # within a preposition's phrase, up to its noun («в другой город»)
        for token in tokens:
            kind = WordKind.OTHER if token in _REFERRING else word_kind(token)
            if token in _PREPOSITIONS:
                roles.append("prep")
                inside = True
            elif inside:
                roles.append("inner")
                inside = kind not in (WordKind.HEAD, WordKind.NOUN)
            else:
                roles.append(_ROLES[kind])
        return cls(tokens, roles)

    def named(self) -> list[int]:
        """Positions of the words that name a thing."""
        return [i for i, token in enumerate(self.tokens) if _names(token)]

    def span(self) -> tuple[int, int] | None:
        """Where the subject stands: from its first thing-naming word (with the preposition
        before it) to its last; None when nothing is named."""
        named = self.named()
        if not named:
            return None
        start = named[0]
        while start > 0 and self.roles[start - 1] in ("prep", "inner"):
            start -= 1
        return start, named[-1] + 1

    def heads(self) -> list[int]:
        return [i for i, role in enumerate(self.roles) if role == "head"]


_ROLES = {
    WordKind.HEAD: "head",
    WordKind.NOUN: "noun",
    WordKind.MODIFIER: "modifier",
    WordKind.OTHER: "",
}


# A variant's code: letters and digits in one word («2d», «3D», «s1»).
_CODE = re.compile(r"(?=\w*\d)(?=\w*[^\W\d_])\w+")


def _names(token: str) -> bool:
    if token in _REFERRING:
        return False
    return word_kind(token) is not WordKind.OTHER or _CODE.fullmatch(token) is not None


def topic_subject(topic: DialogueTopic) -> str:
    """What the topic is about, in words to search with: the subject of its question as the
    visitor put it, else the title of the one record answered."""
    phrase = _Phrase.of(_tokens(topic.asked))
    span = phrase.span()
    if span is not None:
        return " ".join(phrase.tokens[span[0] : span[1]])
    if len(topic.records) == 1:
        return topic.records[0].title
    return ""


def _with_new_subject(frame: str, new: list[str]) -> list[str]:
    """The topic's question asked of a new subject, in the ways it may be meant: «а педикюр?»
    after «сколько стоит маникюр с покрытием» is «педикюр с покрытием» or «педикюр»; «а
    детская?» after «…женская стрижка» is «стрижка детская»; «а справки нужны?» after «а в
    кредит?», whose subject has no head of its own, adds to it. The confidence model decides
    between them (see the module). The whole earlier question with the new words added is not
    a reading when it has a head: it finds the record already given again («сколько стоит
    мелирование тонирование» is «Мелирование»)."""
    phrase = _Phrase.of(_tokens(frame))
    tokens, roles = phrase.tokens, phrase.roles
    span = phrase.span()
    if span is None:
        return [" ".join([*tokens, *new])]
    start, end = span
    heads = [i for i in phrase.heads() if start <= i < end]
    if not heads:
        return [" ".join([*tokens[:end], *new, *tokens[end:]])]
    if _Phrase.of(new).heads():
        # «сколько стоит наращивание ресниц» + «а коррекция?» → «коррекция ресниц», «коррекция».
        readings = [
            [*tokens[: heads[0]], *new, *tokens[heads[0] + 1 :]],
            [*tokens[:start], *new, *tokens[end:]],
        ]
    else:
        # «женская стрижка на короткие волосы» + «а на длинные?» → «стрижка на длинные».
        kept = [tokens[i] for i in range(start, end) if roles[i] in ("head", "noun")]
        readings = [[*tokens[:start], *kept, *new, *tokens[end:]]]
    readings.extend(_substituted(phrase, span, new))
    return list(dict.fromkeys(" ".join(reading) for reading in readings))


def _substituted(phrase: _Phrase, span: tuple[int, int], new: list[str]) -> list[list[str]]:
    """The topic's question with one of its thing-naming words (and the preposition before
    it) put in place of by the new subject's word of the same kind, the family of the service —
    the first head — kept: another zone or variant of it («шугаринг ног» + «а подмышки?» →
    «шугаринг подмышки», «наращивание ресниц классика» + «а объём?» or «а 2D?» → «наращивание
    ресниц объём», «женская стрижка на короткие волосы» + «а на длинные?» → «… на длинные
    волосы»). A variant's code («2d») may stand for any word but the family's."""
    subject = [token for token in new if _names(token) or token in _PREPOSITIONS]
    named = [token for token in subject if _names(token)]
    if not named:
        return []
    # The last named word is the one that stands for the thing («верхней губы»: «губы»).
    kind = _kind(named[-1])
    tokens, roles = phrase.tokens, phrase.roles
    family = next((i for i in phrase.heads() if span[0] <= i < span[1]), None)
    in_phrase = subject[0] in _PREPOSITIONS  # «а на длинные?» stands for «на короткие»
    readings = []
    for i in range(*span):
        if i == family or not _names(tokens[i]) or (roles[i] == "inner") is not in_phrase:
            continue
        if kind is not None and _kind(tokens[i]) not in (kind, None):
            continue
        first = i
        while in_phrase and first > span[0] and roles[first - 1] in ("prep", "inner"):
            first -= 1
        readings.append([*tokens[:first], *subject, *tokens[i + 1 :]])
    return readings


def _kind(token: str) -> str | None:
    """A thing-naming word's kind, coarse: a noun in whatever case («ног», «губы», «объём»),
    a modifier, or None for a variant's code, which may stand for either."""
    if _CODE.fullmatch(token):
        return None
    return "modifier" if word_kind(token) is WordKind.MODIFIER else "noun"


def _rows_asked(topic: DialogueTopic, attribute: Attribute | None) -> tuple[ClarifyOption, ...]:
    """The topic's rows when the message asks what a price list says of them."""
    if attribute is None or not topic.records:
        return ()
    if topic.listed and attribute is Attribute.INCLUDED:
        return ()  # what each of six rows includes is a choice to make first
    return tuple(topic.records)


def read_message(
    text: str, topic: DialogueTopic | None, basics: ProfileBasics | None = None
) -> Reading:
    """What the visitor asks, with what the dialogue's topic fills in (see the module)."""
    core = strip_pleasantries(text)
    asked = attributes_asked(core)
    attribute = asked[0] if asked else None
    named = basics.branches_named(text) if basics is not None else []
    branch = named[0] if len(named) == 1 else None
    if basics is not None:
        question = (
            basics.read(text) if topic is None else basics.lean_on(text, topic.basics, topic.branch)
        )
        if question is not None:
            return Reading(text=text, basics=question, branch=branch)
    plain = Reading(text=text, attribute=attribute, branch=branch)
    words = _tokens(core)
    if topic is None or not (topic.asked or topic.records) or len(words) > _SHORT_WORDS:
        return plain
    tokens = [token for token in words if token not in _REFERRING]
    refers = len(tokens) < len(words)
    leaning = refers or continues(text)
    if not tokens and not refers:
        return plain
    given = tuple(record.record_id for record in topic.records)
    leaned = Reading(text, given=given, branch=branch, leaned=True)
    completed = " ".join([*tokens, topic_subject(topic)]).strip()
    if not any(_names(token) for token in tokens):
        # «а сколько длится?», «и сколько это по времени», «а изменить?»: the topic's subject
        # (a message that neither asks an attribute nor points back may mean itself).
        if attribute is None and not refers:
            if not leaning:
                return plain
            return replace(leaned, text=completed, candidates=(text,))
        rows = _rows_asked(topic, attribute)
        return replace(leaned, text=completed, attribute=attribute, rows=rows)
    if not leaning and len(tokens) > 2:
        return plain
    if attribute is not None and not refers:
        # «а сколько оценка занимает?»: complete on its face; the topic may still tell which
        # «оценка» (the message itself wins a tie).
        return replace(leaned, candidates=(completed,), attribute=attribute)
    readings = _with_new_subject(topic.asked, tokens)
    return replace(
        leaned,
        text=readings[0],
        candidates=(*readings[1:], text),
        attribute=attribute or topic.attribute,
        fresh=not refers and len(topic.records) == 1 and not topic.listed,
    )


def topic_after(previous: DialogueTopic | None, reading: Reading, draft: Draft) -> DialogueTopic:
    """What the dialogue is about after `draft` answered `reading` (see `DialogueTopic`).

    Small talk, a request for a person and a booking leave the topic as it was; a question the
    profile answered keeps the records spoken of before (the next «а сколько стоит?» is about
    them); any other question becomes the topic's question, and the records its answer came
    from its records.
    """
    before = previous or DialogueTopic()
    if draft.intent in _KEEPS_TOPIC:
        return before
    branch = reading.branch or before.branch
    if reading.basics is not None:
        ids = reading.basics.branch_ids
        return before.model_copy(
            update={
                "asked": reading.text,
                "basics": reading.basics,
                "branch": ids[0] if len(ids) == 1 else branch,
            }
        )
    attribute = reading.attribute or next(iter(attributes_asked(reading.text)), None)
    records = before.records
    listed = before.listed
    if draft.intent is Intent.ANSWER and draft.used_records:
        listed = len(draft.listed) >= 2
        records = draft.listed if listed else options_of(draft.used_records)
    return DialogueTopic(
        asked=reading.text,
        records=records,
        listed=listed,
        attribute=attribute,
        basics=None,
        branch=branch,
    )
