"""A model's reply must not present a neighbouring record as the answer to a thing no record
mentions.

«Сколько стоит вечерний макияж?» with only the evening hairstyle found: a reply quoting the
hairstyle's price as if it answered is rejected; «Вечернего макияжа у нас нет, есть вечерняя
причёска — 4 500 ₽» is let through, because it names what was asked and says it is not there.
Checked by code on the words, like the grounding guard, and fed back to the model the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from talkme_consultant.knowledge.coverage import absent_from_all, same_word, unspoken
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.knowledge.text import normalize, stem, words

# A sentence that names the asked thing says it is absent when it carries one of these words.
_ABSENCE = frozenset({"нет", "не", "отсутствует", "сожалению", "нету"})
_SENTENCES = re.compile(r"(?<=[.!?…])\s+|\n+")


def unacknowledged(reply: str, hits: Sequence[Hit], facts: str) -> list[str]:
    """The asked words no hit speaks of (`absent_from_all`; the profile's facts do not mention
    them either) that the reply does not say are missing — named in a sentence that says «нет»
    or «не …»; empty when the reply is honest about them or the hits cover the question.

    The words come from the hits, that is from the searches the model wrote for the question,
    so a long story around it («рассказ о моих ногтях») is not held against the reply."""
    absent = unspoken(absent_from_all(hits), [facts])
    if not absent:
        return []
    sentences = [words(normalize(s)) for s in _SENTENCES.split(reply) if s.strip()]
    admitted: list[str] = []
    for word in absent:
        asked = stem(normalize(word))
        for tokens in sentences:
            if _ABSENCE.intersection(tokens) and any(
                same_word(asked, stem(token)) for token in tokens
            ):
                admitted.append(word)
                break
    return [word for word in absent if word not in admitted]


def describe_unacknowledged(unsaid: Sequence[str]) -> str:
    """The feedback for the model when its reply passes over what the records do not hold."""
    if not unsaid:
        return ""
    listed = ", ".join(f"«{word}»" for word in unsaid)
    return (
        f"Ни одна запись не упоминает {listed}, а ответ выдаёт другие записи за ответ на вопрос. "
        "Скажи прямо, что таких сведений в базе нет, и предложи передать вопрос администратору "
        "(not_found = true); похожее можно назвать только как другое, после этих слов."
    )
