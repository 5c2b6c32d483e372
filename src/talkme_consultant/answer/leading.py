"""When one hit leads the ranking alone and is answered below the threshold: an owner's answer
far ahead of the rest, or the one record that speaks of everything the question names."""

from __future__ import annotations

from talkme_consultant.knowledge.coverage import thing_terms
from talkme_consultant.knowledge.search import Hit

# An owner's answer is answered below the threshold when it leads the ranking alone: it speaks
# of what the question names, and the runner-up is at most `_DOMINANT_SHARE_OWNER` of it. The
# owner wrote it for «этот вопрос и похожие», and a paraphrase ranks it first by far with a modest
# score (0.39 against 0.01 for the next record) that the threshold alone would hand over. One
# that speaks of every thing asked leads from `_DOMINANT_FLOOR_SPOKEN` (a typo like «гордероб»
# gives 0.045 against 0.003; a few thousandths are noise, where a share of the score cannot
# tell a runner-up from none); one that misses words the visitor added needs `_DOMINANT_FLOOR`.
# Measured with bench/paraphrase_bench.py: a share of 0.3 serves 98 of 108 paraphrases (0.25:
# 94; «можно влажить в заказ откритку?» finds the owner's answer at 0.37 and the next at 0.10)
# and guesses no more of the questions nobody taught; 0.35 guesses three more of them.
_DOMINANT_FLOOR = 0.05
_DOMINANT_FLOOR_SPOKEN = 0.01
_DOMINANT_SHARE_OWNER = 0.3
# Any other record leads alone from this confidence up, when it is the only record found that
# speaks of every one of at least two thing-naming words of the question: «шугаринг подмышек
# почем» finds its row at 0.23 and the next one at 0.02, every other row missing «подмышек».
_DOMINANT_FLOOR_ANY = 0.15
_DOMINANT_TERMS_ANY = 2
# Such a record's runner-up is at most this share of it: the owner's 0.3 answered one more of
# RUTUBE's real users' questions wrongly.
_DOMINANT_SHARE_ANY = 0.25
# With one such word a low score is too little to tell the subject from a word in passing («есть
# б/у телефоны?» finds how to sign in with a phone number), so the record alone in speaking of it
# leads from this higher confidence: the clinic's «элайнеры почем» finds the aligners' row at
# 0.508 and the next record at 0.004, and at 0.499, just under the threshold, once the owner has
# taught six answers.
_DOMINANT_FLOOR_ONE = 0.4


def dominant(hits: list[Hit], query: str) -> bool:
    """A record far ahead of every other: an owner's answer speaking of something asked (see
    `_speaks_of_something_asked`), or another record that alone speaks of all the question names
    (see `_alone_in_speaking_of_all`), each from its floor."""
    top = hits[0]
    terms = thing_terms(query)
    if not terms:
        return False  # «а вы что?» names nothing the answer could be checked against
    if top.record.by_owner:
        floor = _DOMINANT_FLOOR if top.missing else _DOMINANT_FLOOR_SPOKEN
    elif len(terms) < _DOMINANT_TERMS_ANY:
        floor = _DOMINANT_FLOOR_ONE
    else:
        floor = _DOMINANT_FLOOR_ANY
    if top.confidence < floor or (top.missing and not _speaks_of_something_asked(hits, len(terms))):
        return False
    if not top.record.by_owner and not _alone_in_speaking_of_all(hits):
        return False
    runner_up = hits[1].confidence if len(hits) > 1 else 0.0
    share = _DOMINANT_SHARE_OWNER if top.record.by_owner else _DOMINANT_SHARE_ANY
    return runner_up <= share * top.confidence


def _speaks_of_something_asked(hits: list[Hit], terms: int) -> bool:
    """Whether an owner's answer missing some words of the question speaks of another thing it
    names: the missing words are then the visitor's own for its subject («выписку из
    амбулаторной карты» for the owner's answer on copies of the card; «частичная предоплата»
    for paying part now and part to the courier), even when a record far behind
    (`_DOMINANT_SHARE_OWNER`) speaks of them. An answer that speaks of nothing asked is about
    something else: the owner's «Татуировки не делаем» is no answer to «пирсинг ушей
    делаете?»."""
    return hits[0].record.by_owner and len(hits[0].missing) < terms


def _alone_in_speaking_of_all(hits: list[Hit]) -> bool:
    """Whether every other hit misses a word asked (the caller has checked that the best one
    misses none)."""
    others = hits[1:]
    return bool(others) and all(hit.missing for hit in others)
