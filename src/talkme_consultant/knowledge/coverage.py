"""Which of a question's thing-naming words a record speaks of.

A record found by meaning alone can be a neighbour of what was asked: «лазерная эпиляция» finds
the FAQ about injections, «вечерний макияж» the evening hairstyle. What gives it away is a word
of the question that names a thing (a noun or an adjective: a service, a procedure, a product)
and that the record never mentions. Such words are evidence that the knowledge does not hold the
answer; the confidence model weighs them (`Features.missing`) and the answerers say what is
missing instead of presenting a neighbour as the answer.

Parts of speech come from pymorphy3's dictionary (its guesses cover words it does not know);
whether a record speaks of a word is decided on Snowball stems, allowing the stem-prefix and
typo matches the keyword side allows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from talkme_consultant.knowledge.search import Hit
from talkme_consultant.knowledge.text import STOPWORDS, normalize, stem, tokenize, words

# Nouns and adjectives name things; verbs, adverbs and the like say what is asked about them.
_THING_PARTS = frozenset({"NOUN", "ADJF", "ADJS"})
# Nouns every question about any business may carry: they name no thing the knowledge should
# speak of («сколько стоит», «какая цена», «есть ли у вас такая услуга»).
_GENERIC_TEXT = """
    цена стоимость прайс сумма деньги рубль руб вопрос ответ информация услуга процедура вид тип
    вариант раз штука человек случай день неделя месяц год время сегодня завтра вчера минута
    час утро вечер ночь можно нужно надо подсказка спасибо здравствуйте пожалуйста добрый
    хороший нужный другой такой какой любой весь самый свой возможный возможность сколько
    сайт чат бот консультант девушка мужчина женщина
"""
# How long a shared stem start must be for two stems to be one word («ресниц», «ресничк» is not
# one; «монетизац», «монетизирова» is).
_LONG_PREFIX = 6
_MIN_PREFIX = 4
# A record's three-letter stem is the start of words asked at most this long: «утр» of
# «утрен», «мин» of «минут», but not «мин» of «миндал» nor «руб» of «рубашк».
_SHORT_REACH = 5
# Words this short are too ambiguous to count as evidence either way.
_MIN_LETTERS = 3
_LATIN = re.compile(r"^[a-z]+$")


@dataclass(frozen=True)
class Term:
    """One thing-naming word of a question: as the visitor wrote it, and its stem."""

    word: str
    stem: str


@functools.cache
def _analyzer() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@functools.cache
def _generic_stems() -> frozenset[str]:
    return frozenset(stem(word) for word in _GENERIC_TEXT.split())


@functools.lru_cache(maxsize=50_000)
def _names_a_thing(word: str) -> bool:
    """Whether a normalised word is a noun or an adjective (a Latin word counts as a name)."""
    if word in STOPWORDS or len(word) < _MIN_LETTERS or word.isdigit():
        return False
    if _LATIN.match(word):
        return True
    parse = _analyzer().parse(word)[0]
    tag = parse.tag
    if tag.POS not in _THING_PARTS or "Apro" in tag:
        return False
    return stem(str(parse.normal_form).replace("ё", "е")) not in _generic_stems()


class WordKind(Enum):
    """What a word does in naming a thing, for reading what a short message asks about."""

    HEAD = "head"  # a noun that may head a phrase: nominative or accusative, or a name
    NOUN = "noun"  # a noun in another case: a complement («ресниц» of «наращивание ресниц»)
    MODIFIER = "modifier"  # an adjective or a participle («детская», «расширенная»)
    OTHER = "other"  # anything that names no thing, generic words («цена», «время») included


# Participles name a kind of thing as adjectives do («расширенная гарантия»).
_MODIFIER_PARTS = frozenset({"ADJF", "ADJS", "PRTF"})
# pymorphy3 reads «педикюр» as nominative first and «бороду» as accusative: either heads.
_HEAD_CASES = frozenset({"nomn", "accs"})


@functools.lru_cache(maxsize=50_000)
def word_kind(word: str) -> WordKind:
    """The `WordKind` of a normalised word. A word the dictionary does not know («кт»,
    «airtouch») is taken for a name, which heads what it names."""
    if word in STOPWORDS or len(word) < 2 or word.isdigit():
        return WordKind.OTHER
    if _LATIN.match(word):
        return WordKind.HEAD
    parse = _analyzer().parse(word)[0]
    tag = parse.tag
    if stem(str(parse.normal_form).replace("ё", "е")) in _generic_stems() or "Apro" in tag:
        return WordKind.OTHER
    if tag.POS == "NOUN":
        return WordKind.HEAD if tag.case in _HEAD_CASES else WordKind.NOUN
    if tag.POS in _MODIFIER_PARTS:
        return WordKind.MODIFIER
    if tag.POS is None and word.isalpha():
        return WordKind.HEAD
    return WordKind.OTHER


def thing_terms(query: str) -> list[Term]:
    """The question's words that name a thing, in order, each once."""
    seen: set[str] = set()
    terms: list[Term] = []
    for word in words(normalize(query)):
        if not _names_a_thing(word):
            continue
        word_stem = stem(word)
        if word_stem in seen or word_stem in _generic_stems():
            continue
        seen.add(word_stem)
        terms.append(Term(word=word, stem=word_stem))
    return terms


def same_word(a: str, b: str) -> bool:
    """Two stems of one word: equal, one the start of the other («утр», «утрен»), or sharing a
    long start («монетизац», «монетизирова»), which the stemmer leaves apart."""
    if a == b:
        return True
    if min(len(a), len(b)) >= _MIN_PREFIX - 1 and (a.startswith(b) or b.startswith(a)):
        return True
    common = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return common >= _LONG_PREFIX


def _cut_short(record_stem: str, asked: str) -> bool:
    """Whether a three-letter stem of a record only starts a longer word asked: «мин» (the
    minutes of a price row) is not «миндаль», «руб» is not «рубашка». The visitor's own short
    word still finds the long one («тату» in «татуировки»)."""
    return len(record_stem) < _MIN_PREFIX and len(asked) > _SHORT_REACH


def speaks_of(
    term: Term,
    stems: frozenset[str],
    typos: Callable[[str], Iterable[str]],
    taken: frozenset[str] = frozenset(),
) -> bool:
    """Whether a record whose stems are `stems` mentions the term: the same stem, a stem of the
    same word, or (for a word the knowledge does not know) a stem one typo away. A stem in
    `taken` is another word of the question: it can only be itself, so «ногах» is not spoken of
    by a record saying «ногти» for «нарастить ногти на ногах»."""
    if term.stem in stems:
        return True
    if any(
        same_word(term.stem, other)
        for other in stems
        if other not in taken and not _cut_short(other, term.stem)
    ):
        return True
    return any(match in stems and match not in taken for match in typos(term.stem))


def missing_terms(
    terms: Sequence[Term],
    stems: frozenset[str],
    typos: Callable[[str], Iterable[str]] | None = None,
) -> list[Term]:
    """The terms a record with `stems` does not speak of, in the question's order (`typos`
    finds stems one typo away; none by default). Each term is matched past the others' stems
    (see `speaks_of`), so a question naming two forms of one word («маникюрный набор и
    маникюр») needs each form in the record."""
    find_typos = typos or _no_typos
    own = frozenset(term.stem for term in terms)
    return [term for term in terms if not speaks_of(term, stems, find_typos, own - {term.stem})]


def question_heads(question: str) -> list[Term]:
    """The nouns heading what a question asks about: «снятие» of «Сколько стоит снятие
    брекетов?»; «брекетов» is a complement, not a head."""
    return [term for term in thing_terms(question) if word_kind(term.word) is WordKind.HEAD]


def phrase_of(query: str, terms: Sequence[Term]) -> str:
    """The part of the visitor's question that names what was asked, in their own words: from
    the first thing-naming word to the last («наращивание волос», «маникюр для ребёнка»)."""
    if not terms:
        return ""
    tokens = re.findall(r"[^\W_]+(?:-[^\W_]+)*", query)
    wanted = {term.stem for term in terms}
    marks = [i for i, token in enumerate(tokens) if stem(normalize(token)) in wanted]
    if not marks:
        return " ".join(term.word for term in terms)
    span = tokens[marks[0] : marks[-1] + 1]
    return " ".join(span[:8]).lower()


def absent_from_all(hits: Sequence[Hit]) -> list[str]:
    """The question's thing-naming words that none of the hits speaks of (`Hit.missing`)."""
    if not hits:
        return []
    return [word for word in hits[0].missing if all(word in hit.missing for hit in hits[1:])]


def unspoken(words_asked: Sequence[str], texts: Sequence[str]) -> list[str]:
    """Those of `words_asked` that none of `texts` mentions (no typo matching)."""
    stems = frozenset(s for text in texts for s in tokenize(text))
    return [
        word
        for word in words_asked
        if not speaks_of(Term(word=word, stem=stem(normalize(word))), stems, _no_typos)
    ]


def _no_typos(_: str) -> list[str]:
    return []
