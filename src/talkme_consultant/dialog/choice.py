"""The visitor's answer to a clarifying question or to a list: which option they chose, if any;
and the dialogue's topic kept beside them.

The options live in the bot message's `meta` in the dialogue memory (the store keeps it), so a
choice made after a restart, or on another instance, is understood the same way: a clarifying
question keeps them under `clarify`, an answer that lists price-list rows under `listed`. What
the dialogue is about after each reply (`DialogueTopic`) is kept there under `topic`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from talkme_consultant.answer.base import ClarifyOption, DialogueTopic
from talkme_consultant.knowledge.coverage import same_word
from talkme_consultant.knowledge.text import tokenize

# The key under which a clarifying message's meta keeps its options (and the question asked).
CLARIFY_META = "clarify"
# The key under which an answer that lists rows («1) … 2) …») keeps them, in the order shown.
LIST_META = "listed"
# The key under which every reply keeps what the dialogue is about after it.
TOPIC_META = "topic"

_ORDINALS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(r"^(?:1|один|одна|одно|перв\w*)$")),
    (2, re.compile(r"^(?:2|два|две|втор\w*)$")),
    (3, re.compile(r"^(?:3|три|трет\w*)$")),
    (4, re.compile(r"^(?:4|четыре|четв[её]рт\w*)$")),
    # A list has up to six rows; «пятница» and «шестьдесят» are not choices.
    (5, re.compile(r"^(?:5|пять|пят(?:ый|ая|ое|ого|ой|ую|ом|ым))$")),
    (6, re.compile(r"^(?:6|шесть|шест(?:ой|ая|ое|ого|ую|ом|ым))$")),
    (-1, re.compile(r"^(?:последн\w*)$")),
)
# Words around a choice that carry nothing: «давайте второй вариант, пожалуйста».
_FILLER_TEXT = """
    а и ну да давайте давай можно мне нас нам меня пожалуйста плиз вариант варианта варианте
    пункт пункта номер под это этот эта тот та то который которая которое про о об вот
    интересует интересуют нужен нужна нужно нужны хочу хотим выбираю выберу беру наверное
    скорее думаю ок окей конечно
"""
_FILLER = frozenset(_FILLER_TEXT.split())
_WORD = re.compile(r"[^\W_]+")
# A word-matched choice needs at least this share of the reply's words to match some option.
_MATCHED_SHARE = 0.5
# After a list the visitor was not asked to choose, so a reply is read as a choice only when
# every word of it names the row or asks about it («маникюр с покрытием, сколько длится?»);
# «а педикюр с покрытием?» after a manicure list is a new question.
_ASKING = frozenset(
    tokenize(
        "сколько стоит стоимость цена цену цены почем почём длится длительность время времени "
        "подробнее расскажите расскажи что такое это",
        keep_stopwords=True,
    )
)


def pending_options(meta: Mapping[str, Any] | None) -> list[ClarifyOption]:
    """The options of a clarifying message's meta; empty for any other message or bad meta."""
    if not meta or meta.get("intent") != "clarify":
        return []
    return _options(meta.get(CLARIFY_META))


def listed_options(meta: Mapping[str, Any] | None) -> list[ClarifyOption]:
    """The rows an answer listed, in the order shown; empty for any other message or bad meta."""
    if not meta or meta.get("intent") != "answer":
        return []
    return _options(meta.get(LIST_META))


def topic_of(meta: Mapping[str, Any] | None) -> DialogueTopic | None:
    """The dialogue's topic a reply's meta keeps; None for none, or one that no longer reads
    (a meta written by another version is ignored, never a failed turn)."""
    block = meta.get(TOPIC_META) if meta else None
    if not isinstance(block, Mapping):
        return None
    try:
        return DialogueTopic.model_validate(block)
    except ValidationError:
        return None


def _options(block: object) -> list[ClarifyOption]:
    raw = block.get("options") if isinstance(block, Mapping) else None
    if not isinstance(raw, list):
        return []
    try:
        return [ClarifyOption.model_validate(item) for item in raw]
    except ValidationError:
        return []


def read_choice(text: str, options: Sequence[str], *, every_word: bool = False) -> int | None:
    """The index of the option the reply chooses, or None when it chooses none (or several).

    A choice is a number or an ordinal («2», «второе», «вторым», «последний»), alone or with
    filler words, or words that match one option's title and no other («про монетизацию»).
    With `every_word` (a reply to a list, not to a question) each word must name the option or
    ask about it; otherwise half of them is enough.
    """
    if not options:
        return None
    plain = text.lower().replace("ё", "е")
    tokens = [word for word in _WORD.findall(plain) if word not in _FILLER]
    if not tokens:
        return None
    numbers = {number for token in tokens for number, rx in _ORDINALS if rx.match(token)}
    if numbers:
        if len(numbers) != 1 or len(tokens) > 2:
            return None  # «1 или 2», or a sentence that happens to hold a number
        (number,) = numbers
        index = len(options) - 1 if number == -1 else number - 1
        if not 0 <= index < len(options):
            return None
        rest = [t for t in tokens if not any(rx.match(t) for _, rx in _ORDINALS)]
        # «второй, маникюр» is fine; «2 человека» is not a choice.
        if rest and not set(tokenize(" ".join(rest))) <= set(tokenize(options[index])):
            return None
        return index
    return _by_words(" ".join(tokens), options, every_word=every_word)


def _in(word: str, title: set[str]) -> bool:
    return any(same_word(word, other) for other in title)


def _by_words(reply: str, options: Sequence[str], *, every_word: bool) -> int | None:
    words = set(tokenize(reply))
    if not words:
        return None
    titles = [set(tokenize(option)) for option in options]
    # A word every option carries («коррекция» in each) chooses none of them.
    telling = {word for word in words if not all(_in(word, title) for title in titles)}
    distinctive = [sum(_in(word, title) for word in telling) for title in titles]
    best = max(distinctive)
    if best == 0:
        return None
    tied = [index for index, count in enumerate(distinctive) if count == best]
    if len(tied) > 1:
        # «коррекция бровей» names "Коррекция бровей" whole, and only part of "Архитектура
        # бровей (коррекция и окрашивание)".
        whole = [i for i in tied if all(any(same_word(w, t) for w in words) for t in titles[i])]
        if len(whole) != 1:
            return None
        tied = whole
    matched = [word for word in words if any(_in(word, title) for title in titles)]
    if every_word:
        if any(word not in _ASKING and not _in(word, titles[tied[0]]) for word in words):
            return None
    elif len(matched) < _MATCHED_SHARE * len(words):
        return None  # mostly about something else: a new question
    return tied[0]
