"""The visitor's answer to a clarifying question: which option they chose, if any.

The options live in the clarifying message's `meta` in the dialogue memory (the store keeps it),
so a choice made after a restart, or on another instance, is understood the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from talkme_consultant.answer.base import ClarifyOption
from talkme_consultant.answer.clarifying import same_word
from talkme_consultant.knowledge.text import tokenize

# The key under which a clarifying message's meta keeps its options (and the question asked).
CLARIFY_META = "clarify"

_ORDINALS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(r"^(?:1|один|одна|одно|перв\w*)$")),
    (2, re.compile(r"^(?:2|два|две|втор\w*)$")),
    (3, re.compile(r"^(?:3|три|трет\w*)$")),
    (4, re.compile(r"^(?:4|четыре|четв[её]рт\w*)$")),
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


def pending_options(meta: Mapping[str, Any] | None) -> list[ClarifyOption]:
    """The options of a clarifying message's meta; empty for any other message or bad meta."""
    if not meta or meta.get("intent") != "clarify":
        return []
    block = meta.get(CLARIFY_META)
    raw = block.get("options") if isinstance(block, Mapping) else None
    if not isinstance(raw, list):
        return []
    try:
        return [ClarifyOption.model_validate(item) for item in raw]
    except ValidationError:
        return []


def read_choice(text: str, options: Sequence[str]) -> int | None:
    """The index of the option the reply chooses, or None when it chooses none (or several).

    A choice is a number or an ordinal («2», «второе», «вторым», «последний»), alone or with
    filler words, or words that match one option's title and no other («про монетизацию»).
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
    return _by_words(" ".join(tokens), options)


def _in(word: str, title: set[str]) -> bool:
    return any(same_word(word, other) for other in title)


def _by_words(reply: str, options: Sequence[str]) -> int | None:
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
    if len(matched) < _MATCHED_SHARE * len(words):
        return None  # mostly about something else: a new question
    return tied[0]
