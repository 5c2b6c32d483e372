"""When a few different records fit a question about equally well: which ones to offer.

Asking "which of these did you mean?" is better than a guess and better than a handoff, but only
when the hits really are close and really are different. The decision is read from the hits
(confidence and the margin between them) and from which of the question's words each record's
title carries; it knows nothing about any particular business.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from talkme_consultant.answer.base import ClarifyOption
from talkme_consultant.knowledge.coverage import same_word
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.knowledge.text import normalize, tokenize

# At most this many options in one question: more is a list to read, not a choice.
MAX_OPTIONS = 4
# Below this the best hit is a guess: a person answers instead of a list of guesses.
CLARIFY_FLOOR = 0.2
# Above this the best hit answers alone, however close the next one is.
CLARIFY_CEILING = 0.7
# A record is an option when it is this close to the best one in confidence.
CLOSE_MARGIN = 0.12
# When the question's words fit several titles alike, what separates their confidence is meaning
# and priors, not what the visitor said: a wider gap still leaves the choice to the visitor.
# 0.35 since the refit confidence (bench/fit_confidence.py) weighs the margin more and so
# spreads close records further apart.
ALIKE_MARGIN = 0.35
# Words every question carries; sharing them says nothing about which record is meant.
_GENERIC = frozenset(
    tokenize(
        "есть ли можно нужно сколько стоит стоимость цена цены почем почём делаете работаете "
        "бывает какой какая какие как где когда",
        keep_stopwords=True,
    )
)


def option_title(record: Record) -> str | None:
    """What the option is called: the FAQ question, the service name or the prose heading."""
    title = (record.title or record.source.heading or "").strip().replace("\n", " ")
    return title[:120] or None


# Records' titles and answers are read again for every question that finds them: each is
# tokenised or folded once (the question itself costs one entry too).
@functools.lru_cache(maxsize=8192)
def _content_stems(text: str) -> frozenset[str]:
    return frozenset(stem for stem in tokenize(text) if stem not in _GENERIC)


@functools.lru_cache(maxsize=8192)
def _folded(text: str) -> str:
    return normalize(text.strip())


def _matches(stem: str, others: frozenset[str]) -> bool:
    return any(same_word(stem, other) for other in others)


def _shared(query: frozenset[str], record: Record) -> frozenset[str]:
    """The question's words that the record's title carries."""
    title = _content_stems(option_title(record) or "")
    return frozenset(stem for stem in query if _matches(stem, title))


def _near_duplicate(a: Record, b: Record) -> bool:
    """Two records that say the same thing: titles with the same words ("Есть ли скидка в день
    рождения?" and "Скидка в день рождения"), or the same answer."""
    title_a, title_b = _content_stems(option_title(a) or ""), _content_stems(option_title(b) or "")
    if title_a and title_a == title_b:
        return True
    return _folded(a.answer or a.text) == _folded(b.answer or b.text)


def close_records(hits: Sequence[Hit], query: str, *, threshold: float) -> list[Hit]:
    """The records to offer in a clarifying question, best first; empty when the best hit
    should be answered alone or handed over.

    Below the answer threshold (the bot would hand over), the hits within `CLOSE_MARGIN` of the
    best are offered when each title carries some of the question's words. Above it (up to
    `CLARIFY_CEILING`), only when the question's words cannot tell them apart: every option's
    title carries exactly the same words of the question ("а сколько коррекция стоит" fits the
    correction of nails, of brows and of lashes alike), and one of them is within `ALIKE_MARGIN`.
    """
    if not hits or not query.strip():
        return []
    top = hits[0]
    if not CLARIFY_FLOOR <= top.confidence < CLARIFY_CEILING or option_title(top.record) is None:
        return []
    words = _content_stems(query)
    top_shared = _shared(words, top.record)
    if not top_shared:
        return []  # found by meaning alone: nothing in the question names what the options are
    confident = top.confidence >= threshold
    chosen = [top]
    for hit in hits[1:]:
        if len(chosen) == MAX_OPTIONS:
            break
        if option_title(hit.record) is None or any(
            _near_duplicate(hit.record, kept.record) for kept in chosen
        ):
            continue
        shared = _shared(words, hit.record)
        if confident:
            fits = shared == top_shared and hit.confidence >= CLARIFY_FLOOR
        else:
            fits = bool(shared) and top.confidence - hit.confidence <= CLOSE_MARGIN
        if fits:
            chosen.append(hit)
    if confident and not any(top.confidence - hit.confidence <= ALIKE_MARGIN for hit in chosen[1:]):
        return []
    return chosen if len(chosen) >= 2 else []


def options_of(hits: Sequence[Hit]) -> list[ClarifyOption]:
    """The hits as options of a clarifying question (each has a title: `close_records` saw to
    it)."""
    return [
        ClarifyOption(title=option_title(hit.record) or hit.record_id, record_id=hit.record_id)
        for hit in hits
    ]


def clarify_text(options: Sequence[ClarifyOption]) -> str:
    """The clarifying question: "Уточните, пожалуйста, что вас интересует:\n1) …\n2) …"."""
    lines = "\n".join(f"{number}) {option.title}" for number, option in enumerate(options, 1))
    return (
        f"Уточните, пожалуйста, что вас интересует:\n{lines}\n"
        "Напишите номер варианта или ответьте своими словами."
    )
