"""The offline answerer: a real FAQ bot with no model and no key.

It answers small talk with fixed phrases, a question with the best knowledge record when
retrieval is confident, and hands over to a person otherwise. A message that leans on the
dialogue («а сколько длится?», «а педикюр?») is read against its topic first
(`answer/followup.py`): an attribute of the rows already answered is said from those rows, and
a completed question is searched beside the message itself, the more confident reading answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from talkme_consultant.answer.attributes import (
    Attribute,
    attribute_lines,
    attribute_sentence,
    attributes_asked,
    states,
)
from talkme_consultant.answer.base import (
    ClarifyOption,
    DialogueTopic,
    Draft,
    HistoryMessage,
    Intent,
    TurnContext,
    Usage,
)
from talkme_consultant.answer.basics import ProfileBasics
from talkme_consultant.answer.clarifying import clarify_text, close_records, options_of
from talkme_consultant.answer.followup import Reading, read_message, topic_after
from talkme_consultant.answer.intents import SmallTalk, read_small_talk
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.answer.tables import (
    LIST_MAX,
    asks_for_a_list,
    broad_rows,
    list_reply,
    missing_list_reply,
    row_line,
    row_parts,
    row_sentence,
)
from talkme_consultant.helpers.kinds import HandoffReason, MessageRole
from talkme_consultant.knowledge.conflicts import subject_key
from talkme_consultant.knowledge.coverage import absent_from_all, phrase_of, thing_terms
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit, RecordLookup, Retriever
from talkme_consultant.knowledge.text import normalize, words


def render_record(record: Record) -> str:
    """What the bot says for a record: the FAQ answer, a table row in a sentence or two, or the
    text itself."""
    if record.answer and record.answer.strip() and record.answer.strip() != record.text.strip():
        return record.answer.strip()
    if record.fields:
        return row_sentence(record)
    return record.text.strip()


# A broad question is answered with a list of table rows when the best row is at least this
# confident; without the question's words, the listed rows must be within this much of it.
_OPTIONS_FLOOR = 0.3
# With the question's words in every listed row's name, a weaker best row is enough:
# "Какие виды массажа у вас есть?" finds the massages at about 0.28.
_BROAD_FLOOR = 0.2
# A visitor who asks which ones there are («какие массажи есть и почем», at 0.197) asks for the
# list itself, so it is given from a weaker best row still.
_LIST_ASKED_FLOOR = 0.1
_QUERY_CHARS = 500
_OPTIONS_SPREAD = 0.25
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
# A question asking a price or a duration, whose best record does not hold it, is answered by a
# price-list row that does, speaks of everything asked and is at least this confident
# («абонемент на маникюр сколько стоит»: the FAQ on season tickets first, the ticket's row
# second at 0.36; «сколько длится маникюр с покрытием»: how long the polish lasts first).
_FIGURE_ROW_FLOOR = 0.2
_FIGURE_ROW_RANKS = 4
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
# A follow-up's answer is another record than the one already given when it is at most this much
# less confident.
_NEW_RECORD_MARGIN = 0.02


def render_row_line(record: Record) -> str:
    """One line for a table row: its name and figures ("Массаж спины — 2 800 ₽, 30 мин")."""
    if not record.fields:
        return (record.title or record.text).strip().replace("\n", " ")
    return row_line(record)


def _close_rows(hits: list[Hit], threshold: float) -> list[Hit]:
    """Rows of the top hit's table that are nearly as good as it, when none is confident alone.

    Used when the question's words are not at hand (a fallback after a failed model draft)."""
    if not hits or hits[0].confidence >= threshold or hits[0].confidence < _OPTIONS_FLOOR:
        return []
    top = hits[0]
    if not top.record.fields:
        return []
    same_table = [
        hit
        for hit in hits
        if hit.record.fields
        and hit.record.source.file == top.record.source.file
        and hit.record.source.sheet == top.record.source.sheet
        and top.confidence - hit.confidence <= _OPTIONS_SPREAD
    ]
    return same_table[:LIST_MAX] if len(same_table) >= 2 else []


def _refusal_elsewhere(hit: Hit, query: str) -> bool:
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


def _close_rows_of(hits: list[Hit]) -> list[Hit]:
    """Other price rows of the top hit's table near it, to offer beside it (at most two)."""
    top = hits[0]
    return [
        hit
        for hit in hits[1:]
        if _has_figures(hit.record)
        and hit.record.source.file == top.record.source.file
        and top.confidence - hit.confidence <= _OPTIONS_SPREAD
    ][:2]


def _dominant(hits: list[Hit], query: str) -> bool:
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


def _figure_row_first(hits: list[Hit], query: str) -> list[Hit]:
    """The hits with a price-list row that holds the asked price or duration first, when the
    best record does not hold it; the row takes the best record's confidence, as the search
    found the question's subject with it. Otherwise the hits as they are."""
    if len(hits) < 2 or hits[0].missing:
        return hits
    asked = [a for a in attributes_asked(query) if a in (Attribute.PRICE, Attribute.DURATION)]
    if not asked or any(_holds(hits[0].record, attribute) for attribute in asked):
        return hits
    for index, hit in enumerate(hits[1:_FIGURE_ROW_RANKS], start=1):
        if (
            hit.confidence >= _FIGURE_ROW_FLOOR
            and not hit.missing
            and _has_figures(hit.record)
            and all(_holds(hit.record, attribute) for attribute in asked)
        ):
            row = hit.model_copy(update={"confidence": hits[0].confidence})
            return [row, *hits[:index], *hits[index + 1 :]]
    return hits


def _holds(record: Record, attribute: Attribute) -> bool:
    """Whether a record says the attribute: a row's figure, or a price or time in its prose."""
    if _has_figures(record):
        return attribute_sentence(record, attribute) is not None
    return states(record, attribute)


def _has_figures(record: Record) -> bool:
    """Whether a table row carries figures (a price-list row), not only words (an FAQ row)."""
    return bool(record.fields) and bool(row_parts(record).figures)


def _again_a_row(hits: list[Hit], given: tuple[str, ...]) -> bool:
    """Whether the best hit is a price-list row the dialogue has already given."""
    return bool(hits) and hits[0].record_id in given and _has_figures(hits[0].record)


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
    sentence = _first_sentence(record)
    refusal = _REFUSAL.search(sentence)
    return refusal is not None and not _CONDITION.search(sentence, 0, refusal.start())


def _first_sentence(record: Record) -> str:
    """The answer's first sentence (up to a full stop or a line break), normalised."""
    return normalize(_SENTENCE_END.split((record.answer or record.text).strip(), maxsplit=1)[0])


def _asked_again(hits: list[Hit], threshold: float) -> list[Hit]:
    """The runner-up when its file asks the best hit's question again with another answer
    that agrees with it (neither refuses alone), and it is confident and speaks of everything
    asked: a support FAQ answers «Как посмотреть аналитику видео в приложении?» twice, one
    row for each phone system, and either alone is half the answer. Answers that disagree
    («Да, можно» and «Пока такой возможности нет») are not put side by side."""
    if len(hits) < 2:
        return []
    top, other = hits[0].record, hits[1].record
    if (
        hits[1].confidence < threshold
        or hits[1].missing
        or not top.title
        or not other.title
        or top.source.file != other.source.file
        or _has_figures(top)
        or _has_figures(other)
        or not _same_title(top, other.title)
        or _negative(top) != _negative(other)
    ):
        return []
    return [hits[1]]


def _negative(record: Record) -> bool:
    """Whether an answer says no anywhere in its first sentence: a refusal, or «такой
    возможности нет»."""
    return says_no(record) or _NO.search(_first_sentence(record)) is not None


def _top(hits: list[Hit]) -> float:
    return hits[0].confidence if hits else -1.0


def _something_new(hits: list[Hit], given: tuple[str, ...]) -> list[Hit]:
    """The hits with a record the dialogue has not given yet first, when it is as confident as
    the one it has given: a follow-up («а сколько она действует?» after where to buy a gift
    card) asks something new."""
    if len(hits) < 2 or hits[0].record_id not in given:
        return hits
    for index, hit in enumerate(hits[1:], start=1):
        if hits[0].confidence - hit.confidence > _NEW_RECORD_MARGIN:
            break
        if hit.record_id not in given:
            return [hit, *hits[:index], *hits[index + 1 :]]
    return hits


def _same_title(record: Record, title: str) -> bool:
    """Whether the record is titled `title`, whatever the case, ё, punctuation and spacing: an
    FAQ may ask «… (не совпадают звук и видео)» in one row and «… — не совпадают …» in another."""
    return subject_key(record.title or record.source.heading or "") == subject_key(title)


class OfflineAnswerer:
    """Answers from the knowledge base by retrieval alone."""

    name = "offline"

    def __init__(
        self,
        retriever: Retriever,
        phrases: Phrases,
        *,
        threshold: float | Callable[[], float],
        basics: ProfileBasics | None = None,
        records: RecordLookup | None = None,
    ) -> None:
        self._retriever = retriever
        # The rows a dialogue spoke of are read again by id; without a lookup (tests), by
        # searching their titles.
        self._records = records
        self._phrases = phrases
        # A callable is asked on every turn: the live knowledge base recalibrates its threshold
        # on the business's cases after each rebuild.
        self._threshold_of = threshold if callable(threshold) else lambda: threshold
        # Addresses, hours and contacts come exactly from the profile, before any search.
        self._basics = basics

    @property
    def _threshold(self) -> float:
        return self._threshold_of()

    async def answer(self, ctx: TurnContext) -> Draft:
        """One turn: small talk, a person, a confident record, or a handoff; the draft carries
        what the dialogue is about after it."""
        reading = read_message(ctx.text, ctx.topic, self._basics)
        draft, answered = await self._answer(ctx.text, reading)
        return draft.model_copy(update={"topic": topic_after(ctx.topic, answered, draft)})

    async def _answer(self, text: str, reading: Reading) -> tuple[Draft, Reading]:
        """The draft, and the reading it answered: of several, the most confident one."""
        talk = read_small_talk(text)
        if talk.wants_person:
            handoff = Draft(
                text=self._phrases.handoff,
                intent=Intent.OPERATOR,
                reason=HandoffReason.VISITOR_REQUEST,
                answerer=self.name,
            )
            return handoff, reading
        if not talk.question and (small := self._small_talk(talk)) is not None:
            return small, reading
        basic = self._basics.answer(reading.basics) if self._basics and reading.basics else None
        if basic:
            facts = Draft(
                text=f"Здравствуйте! {basic}" if talk.greeting else basic,
                intent=Intent.ANSWER,
                reason="profile facts",
                answerer=self.name,
            )
            return facts, reading
        if reading.rows and (from_rows := await self._from_rows(reading)) is not None:
            return from_rows, reading
        query, hits = await self._most_confident(reading)
        draft = self.draft_from_hits(
            _figure_row_first(hits, query), greeting=talk.greeting, query=query
        )
        return draft, replace(reading, text=query, candidates=())

    def _small_talk(self, talk: SmallTalk) -> Draft | None:
        """The fixed phrase for a message that asks nothing, or None."""
        if talk.goodbye:
            return Draft(text=self._phrases.goodbye, intent=Intent.GOODBYE, answerer=self.name)
        if talk.thanks:
            return Draft(text=self._phrases.thanks, intent=Intent.THANKS, answerer=self.name)
        if talk.greeting:
            return Draft(text=self._phrases.greeting, intent=Intent.GREETING, answerer=self.name)
        if talk.acknowledgement:
            # "ок", "понятно", "пока нет": nothing to look up and nothing to hand over.
            return Draft(text=self._phrases.acknowledge, intent=Intent.THANKS, answerer=self.name)
        return None

    async def _most_confident(self, reading: Reading) -> tuple[str, list[Hit]]:
        """The reading whose best hit is the most confident, with its hits: the message itself,
        or completed from the dialogue's topic when it leaned on it (earlier readings win ties)."""
        best: tuple[str, list[Hit]] | None = None
        new: tuple[str, list[Hit]] | None = None  # the best that finds a record not given
        for text in reading.readings:
            # A long merged burst ends with what the visitor asks now; embedding all of it
            # costs a lot of CPU and blurs the question.
            query = text[-_QUERY_CHARS:]
            hits = await self._retriever.search(query, k=8)
            if best is None or _top(hits) > _top(best[1]):
                best = (query, hits)
            if (
                hits
                and hits[0].record_id not in reading.given
                and _top(hits) > _top(new[1] if new else [])
            ):
                new = (query, hits)
        assert best is not None  # a reading always has its text
        # «а подмышки?» after the legs' row names something else: the reading that keeps the old
        # zone («шугаринг ног подмышки») finds the given row, confidently and wrongly. A row is
        # one variant of a service; an FAQ answer may hold the other too («а в постамате?» after
        # how long a pickup point keeps an order), so it may be given again.
        if (
            reading.fresh
            and new is not None
            and _again_a_row(best[1], reading.given)
            and _top(new[1]) >= self._threshold
        ):
            best = new
        query, hits = best
        return query, _something_new(hits, reading.given)

    async def _from_rows(self, reading: Reading) -> Draft | None:
        """The attribute asked, said from the records the dialogue is about: a row's own figure,
        each listed row's, or an answer that already says it again; None when a record is gone
        or does not hold it (the question is then searched)."""
        attribute = reading.attribute
        found = [await self._row(option) for option in reading.rows]
        hits = [hit for hit in found if hit is not None]
        if attribute is None or not hits or len(hits) != len(reading.rows):
            return None
        records = [hit.record for hit in hits]
        if len(hits) > 1:
            text = attribute_lines(records, attribute)
        elif _has_figures(records[0]):
            text = attribute_sentence(records[0], attribute)
        else:
            text = render_record(records[0]) if states(records[0], attribute) else None
        if text is None:
            return None
        return Draft(
            text=text,
            intent=Intent.ANSWER,
            reason=f"{attribute.value} of the records spoken of",
            used_records=hits,
            listed=list(reading.rows) if len(hits) > 1 else [],
            answerer=self.name,
        )

    async def _row(self, option: ClarifyOption) -> Hit | None:
        """A record the dialogue spoke of, as it is served now: by id, with no search."""
        if self._records is None:
            hits = await self._retriever.search(option.title, k=8)
            return next((hit for hit in hits if hit.record_id == option.record_id), None)
        record = self._records.record(option.record_id)
        if record is None:
            return None
        # Not found by a search: its certainty is the dialogue's, not a retrieval score.
        return Hit(record_id=option.record_id, record=record, score=0.0, confidence=1.0)

    def _listed_rows(self, hits: list[Hit], query: str) -> list[Hit]:
        """The rows a broad question is answered with (`tables.broad_rows`). A visitor asking
        which ones there are gets them from a weaker best row, and past an owner's answer that
        ranks first below the threshold: it tells of one of them, not which ones there are
        (the salon's «Делаете ли вы буккальный массаж?» for «какие массажи есть и почем»)."""
        if not asks_for_a_list(query):
            return broad_rows(hits, query, floor=_BROAD_FLOOR)
        if hits and hits[0].record.by_owner and hits[0].confidence < self._threshold:
            hits = [hit for hit in hits if not hit.record.by_owner]
        return broad_rows(hits, query, floor=_LIST_ASKED_FLOOR)

    def draft_from_hits(self, hits: list[Hit], *, greeting: bool = False, query: str = "") -> Draft:
        """Answer with the best hit when it is confident enough; list the matching rows of one
        table when the question is broad ("сколько стоит маникюр?" matches ten services); else
        hand over. `query` is what the visitor asked: it tells a broad question from a specific
        one (see `tables.broad_rows`)."""
        options = self._listed_rows(hits, query) or _close_rows(hits, self._threshold)
        if options and not _has_figures(options[0].record):
            # A list of FAQ questions tells the visitor nothing: they are asked to choose, or
            # the best record answers, or a person does.
            options = []
        if options:
            # «Сколько стоит наращивание волос?» finds the nail and lash extensions: they are
            # offered as what there is, after saying that what was asked is not in the list.
            absent = absent_from_all(options)
            if absent:
                asked = phrase_of(query, thing_terms(query))
                text = missing_list_reply(asked, options)
            else:
                text = list_reply(options)
            return Draft(
                text=f"Здравствуйте! {text}" if greeting else text,
                intent=Intent.ANSWER,
                reason="asked item not listed, near rows offered"
                if absent
                else "several close rows",
                used_records=options,
                found=hits,
                listed=options_of(options),
                answerer=self.name,
                missing=absent,
            )
        close = close_records(hits, query, threshold=self._threshold)
        if close and all(hit.missing for hit in close):
            # Options none of which speaks of everything asked («ботокс для ресниц»: «Ботокс для
            # волос», «Наращивание ресниц») are neighbours, not a choice.
            close = []
        if close:
            choices = options_of(close)
            text = clarify_text(choices)
            return Draft(
                text=f"Здравствуйте! {text}" if greeting else text,
                intent=Intent.CLARIFY,
                reason=f"close records ({hits[0].confidence:.2f})",
                found=hits,
                options=choices,
                answerer=self.name,
            )
        refusal_elsewhere = bool(hits) and _refusal_elsewhere(hits[0], query)
        confident = bool(hits) and (hits[0].confidence >= self._threshold or _dominant(hits, query))
        if not confident or refusal_elsewhere:
            best = f"{hits[0].confidence:.2f}" if hits else "none"
            missing = hits[0].missing if hits else [t.word for t in thing_terms(query)]
            why = "refusal about something else" if refusal_elsewhere else "low_confidence"
            return Draft(
                text=self._phrases.unknown,
                intent=Intent.UNKNOWN,
                reason=f"{why} ({best})",
                found=hits,
                answerer=self.name,
                missing=missing,
            )
        if hits[0].missing and _has_figures(hits[0].record):
            # «Сколько стоит японский педикюр?» finds «Японский маникюр»: its price would answer
            # a question nobody asked. Say what is not in the list and offer what is near.
            rows = [hits[0], *_close_rows_of(hits)]
            text = missing_list_reply(phrase_of(query, thing_terms(query)), rows)
            return Draft(
                text=f"Здравствуйте! {text}" if greeting else text,
                intent=Intent.ANSWER,
                reason="asked item not listed, near rows offered",
                used_records=rows,
                found=hits,
                listed=options_of(rows) if len(rows) >= 2 else [],
                answerer=self.name,
                missing=hits[0].missing,
            )
        used = [hits[0], *_asked_again(hits, self._threshold)]
        text = "\n\n".join(render_record(hit.record) for hit in used)
        if greeting:
            text = f"Здравствуйте! {text}"
        return Draft(
            text=text,
            intent=Intent.ANSWER,
            used_records=used,
            found=hits,
            answerer=self.name,
        )

    async def answer_choice(
        self, option: ClarifyOption, topic: DialogueTopic | None = None
    ) -> Draft:
        """Answer the option the visitor chose from a clarifying question or a list; the
        dialogue's topic becomes that record, asked what the question before it asked.

        The record is found again by searching its title and matching its id; a record whose
        text changed since (same title, new id) is taken when it is the best hit for its title.
        A record that is gone is handed over rather than guessed.
        """
        draft = await self._choice(option)
        asked = topic.asked if topic is not None and topic.asked else option.title
        reading = Reading(text=asked, attribute=topic.attribute if topic is not None else None)
        return draft.model_copy(update={"topic": topic_after(topic, reading, draft)})

    async def _choice(self, option: ClarifyOption) -> Draft:
        hits = await self._retriever.search(option.title, k=8)
        chosen = next((hit for hit in hits if hit.record_id == option.record_id), None)
        if chosen is None and hits and _same_title(hits[0].record, option.title):
            chosen = hits[0]
        if chosen is None:
            return Draft(
                text=self._phrases.unknown,
                intent=Intent.UNKNOWN,
                reason="chosen record is gone",
                found=hits,
                answerer=self.name,
            )
        return Draft(
            text=render_record(chosen.record),
            intent=Intent.ANSWER,
            reason="chosen option",
            used_records=[chosen],
            found=[chosen],
            answerer=self.name,
        )

    async def summarize(
        self,
        previous_summary: str | None,
        messages: list[HistoryMessage],
        *,
        usage: Usage | None = None,
    ) -> str:
        """Without a model the summary is the visitor's own recent questions, verbatim."""
        asked = [m.text for m in messages if m.role == MessageRole.VISITOR][-5:]
        parts = [previous_summary] if previous_summary else []
        parts.extend(f"Посетитель спрашивал: {text}" for text in asked)
        return "\n".join(parts)[-2000:]
