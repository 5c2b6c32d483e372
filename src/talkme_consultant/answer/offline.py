"""The offline answerer: a real FAQ bot with no model and no key.

It answers small talk with fixed phrases, a question with the best knowledge record when
retrieval is confident, and hands over to a person otherwise. A message that leans on the
dialogue («а сколько длится?», «а педикюр?») is read against its topic first
(`answer/followup.py`): an attribute of the rows already answered is said from those rows, and
a completed question is searched beside the message itself, the more confident reading answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from talkme_consultant.answer.base import (
    ClarifyOption,
    DialogueTopic,
    Draft,
    HistoryMessage,
    Intent,
    TurnContext,
    Usage,
)
from talkme_consultant.answer.clarifying import clarify_text, close_records, options_of
from talkme_consultant.answer.followup import Reading, read_message, topic_after
from talkme_consultant.answer.intents import SmallTalk, read_small_talk
from talkme_consultant.answer.leading import dominant
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.answer.price_rows import (
    close_rows,
    close_rows_of,
    figure_row_first,
    has_figures,
)
from talkme_consultant.answer.profile_basics import ProfileBasics
from talkme_consultant.answer.refusals import negative, refusal_elsewhere
from talkme_consultant.answer.rendering import render_record
from talkme_consultant.answer.spoken_rows import SpokenRows
from talkme_consultant.answer.tables import (
    asks_for_a_list,
    broad_rows,
    list_reply,
    missing_list_reply,
)
from talkme_consultant.helpers.kinds import HandoffReason, MessageRole
from talkme_consultant.knowledge.conflicts import subject_key
from talkme_consultant.knowledge.coverage import absent_from_all, phrase_of, thing_terms
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit, RecordLookup, Retriever

# With the question's words in every listed row's name, a best row this confident is enough
# (without them, `price_rows.close_rows` needs 0.3): "Какие виды массажа у вас есть?" finds the
# massages at about 0.28.
_BROAD_FLOOR = 0.2
# A visitor who asks which ones there are («какие массажи есть и почем», at 0.197) asks for the
# list itself, so it is given from a weaker best row still.
_LIST_ASKED_FLOOR = 0.1
_QUERY_CHARS = 500
# A follow-up's answer is another record than the one already given when it is at most this much
# less confident.
_NEW_RECORD_MARGIN = 0.02


def _again_a_row(hits: list[Hit], given: tuple[str, ...]) -> bool:
    """Whether the best hit is a price-list row the dialogue has already given."""
    return bool(hits) and hits[0].record_id in given and has_figures(hits[0].record)


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
        or has_figures(top)
        or has_figures(other)
        or not _same_title(top, other.title)
        or negative(top) != negative(other)
    ):
        return []
    return [hits[1]]


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


def _small_talk(talk: SmallTalk, phrases: Phrases, answerer: str) -> Draft | None:
    """The fixed phrase for a message that asks nothing, or None."""
    if talk.goodbye:
        return Draft(text=phrases.goodbye, intent=Intent.GOODBYE, answerer=answerer)
    if talk.thanks:
        return Draft(text=phrases.thanks, intent=Intent.THANKS, answerer=answerer)
    if talk.greeting:
        return Draft(text=phrases.greeting, intent=Intent.GREETING, answerer=answerer)
    if talk.acknowledgement:
        # "ок", "понятно", "пока нет": nothing to look up and nothing to hand over.
        return Draft(text=phrases.acknowledge, intent=Intent.THANKS, answerer=answerer)
    return None


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
        self._spoken = SpokenRows(retriever, records)
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
        if not talk.question and (small := _small_talk(talk, self._phrases, self.name)) is not None:
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
        if reading.rows and (from_rows := await self._spoken.draft(reading, self.name)) is not None:
            return from_rows, reading
        query, hits = await self._most_confident(reading)
        draft = self.draft_from_hits(
            figure_row_first(hits, query), greeting=talk.greeting, query=query
        )
        return draft, replace(reading, text=query, candidates=())

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
        options = self._listed_rows(hits, query) or close_rows(hits, self._threshold)
        if options and not has_figures(options[0].record):
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
        elsewhere = bool(hits) and refusal_elsewhere(hits[0], query)
        confident = bool(hits) and (hits[0].confidence >= self._threshold or dominant(hits, query))
        if not confident or elsewhere:
            best = f"{hits[0].confidence:.2f}" if hits else "none"
            missing = hits[0].missing if hits else [t.word for t in thing_terms(query)]
            why = "refusal about something else" if elsewhere else "low_confidence"
            return Draft(
                text=self._phrases.unknown,
                intent=Intent.UNKNOWN,
                reason=f"{why} ({best})",
                found=hits,
                answerer=self.name,
                missing=missing,
            )
        if hits[0].missing and has_figures(hits[0].record):
            # «Сколько стоит японский педикюр?» finds «Японский маникюр»: its price would answer
            # a question nobody asked. Say what is not in the list and offer what is near.
            rows = [hits[0], *close_rows_of(hits)]
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
