"""Reading a record's answer as a refusal: «Нет, инъекции не делаем» answers only what it is
about, so a question about anything else must not get its «нет»."""

from __future__ import annotations

import re

from talkme_consultant.knowledge.coverage import thing_terms
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.knowledge.text import normalize, words

# «не» right before a verb in the first or third person plural, present or future («не делаем»,
# «не занимаемся», «не проводятся»): the first sentence of an answer that refuses. The third
# person singular is left out («не требуется», «не взимается» say no fee, not no service), and
# so are words that only end like a verb («не совсем», «не позднее чем»).
_REFUSAL = re.compile(
    r"\bне\s+(?!(?:совсем|всем|чем|тем|кем)\b)(\w{3,}(?:ем|им|емся|имся|ют|ут|ят|ат|ются|ятся|утся|атся))\b"
)
# A «не» after these is a condition or a purpose, not a refusal («Если не успеем…»).
_CONDITION = re.compile(r"\b(?:если|когда|чтобы|пока|иначе)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n")
_NO = re.compile(r"\bнет\b")


def says_no(record: Record) -> bool:
    """Whether a record's answer is a refusal («Нет, инъекции не делаем», «Татуировки мы не
    делаем», «Кабинеты в аренду не сдаём»): it answers only what it is about, so a question
    about anything else must not get its «нет»."""
    answer = record.answer or record.text
    first = words(normalize(answer))[:2]
    if first and (first[0] == "нет" or first == ["к", "сожалению"]):
        return True
    if first and first[0] == "да":
        return False
    sentence = first_sentence(record)
    refusal = _REFUSAL.search(sentence)
    return refusal is not None and not _CONDITION.search(sentence, 0, refusal.start())


def first_sentence(record: Record) -> str:
    """The answer's first sentence (up to a full stop or a line break), normalised."""
    return normalize(_SENTENCE_END.split((record.answer or record.text).strip(), maxsplit=1)[0])


def negative(record: Record) -> bool:
    """Whether an answer says no anywhere in its first sentence: a refusal, or «такой
    возможности нет»."""
    return says_no(record) or _NO.search(first_sentence(record)) is not None


def refusal_elsewhere(hit: Hit, query: str) -> bool:
    """A refusal whose record misses at least half of what the question names: «Нет, инъекции
    не делаем» for «лазерная эпиляция». One extra word («металлические пломбы из амальгамы»
    against «амальгамные пломбы не ставим») leaves the refusal about what was asked."""
    if not hit.missing or not says_no(hit.record):
        return False
    asked = len(thing_terms(query))
    if hit.record.by_owner:
        # The owner wrote the refusal for this question and its kin («товар с Озона сдать
        # можно?» for «возвраты заказов с Озона»): only one that names none of it is elsewhere.
        return len(hit.missing) >= asked
    return 2 * len(hit.missing) >= asked
