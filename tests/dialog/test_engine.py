"""One conversation turn: the dialog engine's policies over scripted and offline answerers.

The primary answerer is scripted (it returns preset drafts or raises `AnswererUnavailable`),
so every policy — handoff, finish codes, leads, the grounding guard's second chance, the
offline safety net, token accounting, summaries — is exercised without a model. The offline
answerer is the real one, over a tiny in-memory retriever.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import pytest

from talkme_consultant.answer.base import (
    AnswererUnavailable,
    Draft,
    HistoryMessage,
    Intent,
    TurnContext,
    Usage,
)
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.answer.rendering import render_record
from talkme_consultant.dialog.costs import Price
from talkme_consultant.dialog.engine import DialogEngine, EngineOptions, TurnInput
from talkme_consultant.dialog.memory import MemoryMessage
from talkme_consultant.dialog.replies import FinishCodes
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnEvent, TurnOutcome
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit

PHRASES = Phrases()
DEFAULT_CODES = FinishCodes()
HAIRCUT = Record(
    text="Стрижка женская. Цена: 1 500 ₽. Длительность: 60 минут.",
    title="Стрижка женская",
    answer="Женская стрижка стоит 1 500 ₽ и длится 60 минут.",
    source=Source(file="prices.xlsx", sheet="Прайс", row=2),
)
ADDRESS = Record(
    text="Где вы находитесь? Мы на Тверской улице, дом 7, рядом с метро.",
    title="Где вы находитесь?",
    answer="Мы на Тверской улице, дом 7, рядом с метро.",
    source=Source(file="faq.csv", row=3),
)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"\w+", text.lower().replace("ё", "е")) if len(w) > 3}


class TinyRetriever:
    """Keyword overlap over a few records; confidence is the share of query words found."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = list(records)
        self.queries: list[str] = []

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        self.queries.append(query)
        wanted = _stems(query)
        hits = [
            Hit(
                record_id=r.record_id,
                record=r,
                score=len(wanted & _stems(r.text)),
                confidence=min(1.0, len(wanted & _stems(r.text)) / max(1, len(wanted))),
            )
            for r in self.records
            if wanted & _stems(r.text)
        ]
        return sorted(hits, key=lambda h: h.score, reverse=True)[:k]


def hit(record: Record, confidence: float = 0.9) -> Hit:
    return Hit(record_id=record.record_id, record=record, score=1.0, confidence=confidence)


class ScriptedAnswerer:
    """An `Answerer` that plays preset drafts (or raises) in order and records what it was asked."""

    name = "scripted"

    def __init__(
        self,
        *steps: Draft | Exception,
        summary: str | Exception = "Краткое резюме",
        summary_tokens: tuple[int, int] = (0, 0),
    ):
        self.steps = list(steps)
        self.summary_tokens = summary_tokens
        self.contexts: list[TurnContext] = []
        self.summary = summary
        self.summarized: list[tuple[str | None, list[HistoryMessage]]] = []

    async def answer(self, ctx: TurnContext) -> Draft:
        self.contexts.append(ctx)
        if not self.steps:
            raise AssertionError(f"unexpected answer() call for {ctx.text!r}")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step.model_copy(deep=True)

    async def summarize(
        self,
        previous_summary: str | None,
        messages: list[HistoryMessage],
        *,
        usage: Usage | None = None,
    ) -> str:
        self.summarized.append((previous_summary, messages))
        if isinstance(self.summary, Exception):
            raise self.summary
        if usage is not None and any(self.summary_tokens):
            usage.model = "test-model"
            usage.prompt_tokens += self.summary_tokens[0]
            usage.completion_tokens += self.summary_tokens[1]
            usage.latency_ms += 3
        return self.summary


def draft(
    text: str,
    intent: Intent = Intent.ANSWER,
    *,
    used: Sequence[Record] = (),
    found: Sequence[Record] = (),
    tokens: tuple[int, int] | None = None,
    **kwargs: object,
) -> Draft:
    usage = (
        Usage(
            model="test-model", prompt_tokens=tokens[0], completion_tokens=tokens[1], latency_ms=5
        )
        if tokens
        else None
    )
    return Draft.model_validate(
        {
            "text": text,
            "intent": intent,
            "used_records": [hit(r) for r in used],
            "found": [hit(r) for r in found or used],
            "usage": usage,
            "answerer": "llm",
            **kwargs,
        }
    )


def engine(
    primary: ScriptedAnswerer | None = None,
    *,
    codes: FinishCodes = DEFAULT_CODES,
    **options: object,
) -> DialogEngine:
    offline = OfflineAnswerer(TinyRetriever([HAIRCUT, ADDRESS]), PHRASES, threshold=0.5)
    return DialogEngine(
        primary or offline,
        offline,
        PHRASES,
        EngineOptions(finish_codes=codes, **options),  # type: ignore[arg-type]
    )


def said(*texts: str, memory: Sequence[MemoryMessage] = (), **kwargs: object) -> TurnInput:
    return TurnInput(
        conversation_key="visitor-1",
        texts=list(texts),
        attachments_only=False,
        memory=memory,
        **kwargs,  # type: ignore[arg-type]
    )


def event_kinds(outcome: TurnOutcome) -> list[str]:
    return [event.kind for event in outcome.events]


def event(outcome: TurnOutcome, kind: str) -> dict[str, object]:
    return next(event.data for event in outcome.events if event.kind == kind)


# -- handoffs and finish codes ------------------------------------------------------------


async def test_a_request_for_a_person_hands_over_with_the_operator_code() -> None:
    primary = ScriptedAnswerer(draft("Сейчас позову администратора.", Intent.OPERATOR))
    outcome = await engine(primary).run_turn(said("Позовите человека"))

    assert outcome.replies == ["Сейчас позову администратора."]
    assert outcome.handed_off is True
    assert outcome.finish_code == "OPERATOR_REQUEST"
    assert outcome.events == [TurnEvent(EventKind.HANDOFF, {"reason": "visitor_request"})]


async def test_the_offline_answerer_hands_over_a_request_for_a_person() -> None:
    outcome = await engine().run_turn(said("Позовите оператора, пожалуйста"))
    assert outcome.replies == [PHRASES.handoff]
    assert (outcome.handed_off, outcome.finish_code) == (True, "OPERATOR_REQUEST")
    assert event(outcome, "handoff") == {"reason": "visitor_request"}
    assert outcome.meta["answerer"] == "offline"


async def test_an_unknown_answer_hands_over_and_records_the_question() -> None:
    primary = ScriptedAnswerer(draft("", Intent.UNKNOWN, reason="not_found"))
    outcome = await engine(primary).run_turn(said("Какой курс биткоина?"))

    assert outcome.replies == [PHRASES.unknown], "an empty draft falls back to the phrase"
    assert (outcome.handed_off, outcome.finish_code) == (True, "OPERATOR_REQUEST")
    assert event(outcome, "handoff") == {"reason": "low_confidence"}
    assert event(outcome, "unanswered") == {
        "question": "Какой курс биткоина?",
        "reason": "not_found",
    }


async def test_the_offline_answerer_hands_over_when_retrieval_is_not_confident() -> None:
    outcome = await engine().run_turn(said("Какой курс биткоина на бирже сегодня?"))
    assert outcome.replies == [PHRASES.unknown]
    assert outcome.handed_off
    assert event_kinds(outcome) == ["handoff", "unanswered"]
    assert str(event(outcome, "unanswered")["reason"]).startswith("low_confidence")


async def test_off_topic_ends_the_bots_part_with_the_irrelevant_code() -> None:
    primary = ScriptedAnswerer(draft(PHRASES.off_topic, Intent.OFF_TOPIC))
    outcome = await engine(primary).run_turn(said("Напиши мне стихотворение"))
    assert outcome.replies == [PHRASES.off_topic]
    assert outcome.finish_code == "IRRELEVANT_MESSAGE"
    assert outcome.handed_off is False
    assert outcome.events == []


async def test_goodbye_ends_the_bots_part_with_the_success_code() -> None:
    outcome = await engine().run_turn(said("Спасибо, до свидания!"))
    assert outcome.replies == [PHRASES.goodbye]
    assert outcome.finish_code == "SUCCESS"
    assert outcome.handed_off is False


async def test_greetings_and_answers_do_not_end_the_bots_part() -> None:
    greeting = await engine().run_turn(said("Здравствуйте!"))
    assert greeting.replies == [PHRASES.greeting]
    answer = await engine().run_turn(said("Сколько стоит женская стрижка?"))
    assert answer.replies == [HAIRCUT.answer]
    for outcome in (greeting, answer):
        assert (outcome.finish_code, outcome.handed_off, outcome.events) == (None, False, [])


async def test_custom_finish_codes_are_used() -> None:
    codes = FinishCodes(operator="TO_HUMAN", success="DONE", irrelevant="SPAM")
    primary = ScriptedAnswerer(
        draft("Передаю.", Intent.OPERATOR),
        draft("Пока!", Intent.GOODBYE),
        draft("Не по теме.", Intent.OFF_TOPIC),
    )
    bot = engine(primary, codes=codes)
    finishes = [(await bot.run_turn(said("x"))).finish_code for _ in range(3)]
    assert finishes == ["TO_HUMAN", "DONE", "SPAM"]


@pytest.mark.parametrize(
    ("intent", "handed_off"),
    [
        (Intent.OPERATOR, True),
        (Intent.UNKNOWN, True),
        (Intent.GOODBYE, False),
        (Intent.OFF_TOPIC, False),
    ],
)
async def test_an_empty_finish_code_switches_that_finish_off(
    intent: Intent, handed_off: bool
) -> None:
    primary = ScriptedAnswerer(draft("Текст ответа.", intent))
    outcome = await engine(
        primary, codes=FinishCodes(operator="", success="", irrelevant="")
    ).run_turn(said("что-нибудь"))
    assert outcome.finish_code is None
    assert outcome.replies == ["Текст ответа."]
    assert outcome.handed_off is handed_off
    assert ("handoff" in event_kinds(outcome)) is handed_off


async def test_attachments_are_handed_over_without_asking_the_answerer() -> None:
    primary = ScriptedAnswerer()
    turn = TurnInput(
        conversation_key="visitor-1",
        texts=["https://download.me-talk.ru/files/abc/photo.jpg"],
        attachments_only=True,
    )
    outcome = await engine(primary).run_turn(turn)
    assert outcome.replies == [PHRASES.attachment]
    assert (outcome.handed_off, outcome.finish_code) == (True, "OPERATOR_REQUEST")
    assert outcome.events == [TurnEvent(EventKind.HANDOFF, {"reason": "attachment"})]
    assert primary.contexts == []


# -- booking --------------------------------------------------------------------------------


async def test_booking_with_a_phone_becomes_a_lead_and_a_handoff() -> None:
    primary = ScriptedAnswerer(
        draft(
            "Спасибо, Анна! Администратор перезвонит.",
            Intent.BOOKING,
            phone="+79161234567",
            visitor_name="Анна",
            interest="женская стрижка",
        )
    )
    history = [MemoryMessage(1, HistoryMessage(role="visitor", text="Хочу на стрижку"))]
    outcome = await engine(primary).run_turn(
        said("Запишите меня, Анна, 8 916 123-45-67", memory=history)
    )

    assert outcome.lead is not None
    assert (outcome.lead.name, outcome.lead.phone, outcome.lead.interest) == (
        "Анна",
        "+79161234567",
        "женская стрижка",
    )
    assert "Хочу на стрижку" in outcome.lead.summary
    assert "Запишите меня" in outcome.lead.summary
    assert outcome.replies == ["Спасибо, Анна! Администратор перезвонит."]
    assert (outcome.handed_off, outcome.finish_code) == (True, "OPERATOR_REQUEST")
    assert event(outcome, "lead") == {"interest": "женская стрижка"}
    assert event(outcome, "handoff") == {"reason": "booking"}
    assert (outcome.phone, outcome.visitor_name) == ("+79161234567", "Анна")


async def test_a_phone_in_the_visitors_text_reaches_the_answerer_and_the_lead() -> None:
    primary = ScriptedAnswerer(draft("", Intent.BOOKING))
    outcome = await engine(primary).run_turn(said("Хочу записаться, мой номер 8 (916) 123-45-67"))
    assert primary.contexts[0].phone == "+79161234567"
    assert outcome.lead is not None
    assert outcome.lead.phone == "+79161234567"
    assert outcome.replies == [PHRASES.lead_accepted]
    assert outcome.phone == "+79161234567"


async def test_a_phone_known_from_earlier_turns_makes_a_booking_a_lead() -> None:
    primary = ScriptedAnswerer(draft("Передаю администратору.", Intent.BOOKING))
    outcome = await engine(primary).run_turn(
        said("Запишите меня на завтра", phone="+79160000001", visitor_name="Олег")
    )
    assert outcome.lead is not None
    assert (outcome.lead.phone, outcome.lead.name) == ("+79160000001", "Олег")
    assert outcome.handed_off


async def test_booking_without_a_phone_asks_for_one_and_keeps_the_bot() -> None:
    primary = ScriptedAnswerer(draft(PHRASES.booking, Intent.BOOKING))
    outcome = await engine(primary).run_turn(said("Хочу записаться"))
    assert outcome.lead is None
    assert outcome.replies == [PHRASES.booking]
    assert (outcome.handed_off, outcome.finish_code) == (False, None)


# -- outages and the grounding guard --------------------------------------------------------


async def test_an_outage_falls_back_to_the_offline_answerer_and_is_recorded() -> None:
    primary = ScriptedAnswerer(AnswererUnavailable("model timed out after 2 retries"))
    outcome = await engine(primary).run_turn(said("Сколько стоит женская стрижка?"))

    assert outcome.replies == [HAIRCUT.answer]
    assert outcome.meta["answerer"] == "offline"
    assert outcome.events == [
        TurnEvent(EventKind.LLM_OUTAGE, {"error": "model timed out after 2 retries"})
    ]
    assert outcome.handed_off is False


async def test_an_outage_on_a_question_offline_cannot_answer_still_hands_over() -> None:
    primary = ScriptedAnswerer(AnswererUnavailable("503"))
    outcome = await engine(primary).run_turn(said("Какой курс биткоина на бирже?"))
    assert event_kinds(outcome) == ["llm_outage", "handoff", "unanswered"]
    assert outcome.handed_off


async def test_a_grounded_draft_is_sent_as_it_is() -> None:
    primary = ScriptedAnswerer(draft("Женская стрижка — 1 500 ₽.", used=[HAIRCUT]))
    outcome = await engine(primary).run_turn(said("Сколько стоит стрижка?"))
    assert outcome.replies == ["Женская стрижка — 1 500 ₽."]
    assert outcome.events == []
    assert outcome.meta["answerer"] == "llm"
    assert outcome.meta["records"] == [HAIRCUT.record_id]
    assert len(primary.contexts) == 1


async def test_an_ungrounded_price_gets_one_regeneration_with_the_guards_feedback() -> None:
    primary = ScriptedAnswerer(
        draft("Женская стрижка — 1 700 ₽.", used=[HAIRCUT], tokens=(100, 20)),
        draft("Женская стрижка — 1 500 ₽.", used=[HAIRCUT], tokens=(120, 25)),
    )
    outcome = await engine(primary).run_turn(said("Сколько стоит стрижка?"))

    assert outcome.replies == ["Женская стрижка — 1 500 ₽."]
    first, second = primary.contexts
    assert first.guard_feedback is None
    assert second.guard_feedback is not None
    assert "1700" in second.guard_feedback.replace(" ", "")
    assert second.text == first.text
    assert event_kinds(outcome) == ["guard"]
    assert event(outcome, "guard")["attempt"] == 1


async def test_a_second_ungrounded_draft_falls_back_to_the_best_record() -> None:
    primary = ScriptedAnswerer(
        draft("Стрижка стоит 1 700 ₽.", used=[HAIRCUT], found=[HAIRCUT, ADDRESS]),
        draft("Стрижка стоит 990 ₽.", used=[HAIRCUT], found=[HAIRCUT, ADDRESS]),
    )
    outcome = await engine(primary).run_turn(said("Сколько стоит стрижка?"))

    assert outcome.replies == [render_record(HAIRCUT)]
    assert outcome.meta["answerer"] == "offline"
    guards = [event.data for event in outcome.events if event.kind == "guard"]
    assert [g["attempt"] for g in guards] == [1, 2]
    assert guards[1]["fallback"] is True
    assert len(primary.contexts) == 2, "exactly one regeneration"


def price_row(row: int, service: str, price: str) -> Record:
    fields = {"Услуга": service, "Цена, руб.": price, "Длительность, мин": "60"}
    text = "\n".join(f"{k}: {v}" for k, v in fields.items())
    return Record(
        text=text,
        title=service,
        answer=text,
        source=Source(file="prices.xlsx", sheet="Услуги", row=row),
        fields=fields,
    )


async def test_a_broad_question_falls_back_to_a_list_when_the_model_keeps_inventing() -> None:
    women, men = price_row(2, "Стрижка женская", "2800"), price_row(3, "Стрижка мужская", "2300")
    primary = ScriptedAnswerer(
        draft("Стрижки от 500 ₽.", used=[women], found=[women, men]),
        draft("Стрижки от 400 ₽.", used=[women], found=[women, men]),
    )
    outcome = await engine(primary).run_turn(said("Сколько стоит стрижка?"))

    assert outcome.replies == [
        "Вот что у нас есть:\n"
        "1) Стрижка женская — 2 800 ₽, 60 мин\n"
        "2) Стрижка мужская — 2 300 ₽, 60 мин\n"
        "Напишите номер или название услуги — расскажу подробнее."
    ]
    assert outcome.meta["answerer"] == "offline"


async def test_an_outage_during_the_regeneration_falls_back_to_offline() -> None:
    primary = ScriptedAnswerer(
        draft("Стрижка стоит 1 700 ₽.", used=[HAIRCUT], tokens=(100, 20)),
        AnswererUnavailable("connection reset"),
    )
    outcome = await engine(primary).run_turn(said("Сколько стоит женская стрижка?"))
    assert outcome.replies == [HAIRCUT.answer]
    assert event_kinds(outcome) == ["guard", "llm_outage"]
    assert outcome.prompt_tokens == 100, "the failed draft's tokens were spent all the same"


async def test_token_usage_and_cost_add_up_over_every_attempt() -> None:
    primary = ScriptedAnswerer(
        draft("Стрижка стоит 1 700 ₽.", used=[HAIRCUT], tokens=(100, 20)),
        draft("Стрижка стоит 990 ₽.", used=[HAIRCUT], tokens=(130, 30)),
    )
    bot = engine(primary, prices={"test-model": Price(prompt=1.0, completion=4.0)})
    outcome = await bot.run_turn(said("Сколько стоит стрижка?"))

    assert (outcome.prompt_tokens, outcome.completion_tokens) == (230, 50)
    assert outcome.cost == pytest.approx((230 * 1.0 + 50 * 4.0) / 1_000_000)
    assert outcome.model_latency_ms == pytest.approx(10.0)


async def test_a_model_without_a_price_costs_nothing_but_its_tokens_count() -> None:
    primary = ScriptedAnswerer(draft("Женская стрижка — 1 500 ₽.", used=[HAIRCUT], tokens=(7, 3)))
    outcome = await engine(primary).run_turn(said("Сколько стоит стрижка?"))
    assert (outcome.prompt_tokens, outcome.completion_tokens, outcome.cost) == (7, 3, 0.0)


# -- the turn's text, memory and summary ---------------------------------------------------


async def test_a_burst_is_one_turn_with_the_messages_joined_in_order() -> None:
    primary = ScriptedAnswerer(draft("Стрижка — 1 500 ₽.", used=[HAIRCUT]))
    outcome = await engine(primary).run_turn(
        said("Здравствуйте", "  ", "подскажите", "сколько стоит стрижка?")
    )
    assert outcome.visitor_text == "Здравствуйте\nподскажите\nсколько стоит стрижка?"
    assert primary.contexts[0].text == outcome.visitor_text


async def test_a_long_reply_is_split_into_messages_that_fit() -> None:
    paragraphs = [f"Абзац номер {n}. " + "слово " * 30 for n in range(6)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    primary = ScriptedAnswerer(draft(text, Intent.GREETING))
    outcome = await engine(primary, max_message_chars=400).run_turn(said("Расскажите о себе"))
    assert len(outcome.replies) > 1
    assert all(len(piece) <= 400 for piece in outcome.replies)
    assert "\n\n".join(outcome.replies) == text


def memory(count: int) -> list[MemoryMessage]:
    roles: tuple[Literal["visitor"], Literal["bot"]] = ("visitor", "bot")
    return [
        MemoryMessage(10 + n, HistoryMessage(role=roles[n % 2], text=f"сообщение {n}"))
        for n in range(count)
    ]


async def test_a_short_dialogue_is_not_summarised() -> None:
    primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING))
    outcome = await engine(primary, summarize_after=6, recent_messages=2).run_turn(
        said("ещё вопрос", memory=memory(6), summary="старое резюме")
    )
    assert primary.summarized == []
    assert (outcome.summary, outcome.summarized_upto) == (None, None)
    assert primary.contexts[0].summary == "старое резюме"


async def test_a_long_dialogue_folds_older_messages_into_the_summary() -> None:
    primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING), summary="новое резюме")
    remembered = memory(7)
    outcome = await engine(primary, summarize_after=6, recent_messages=2).run_turn(
        said("ещё вопрос", memory=remembered, summary="старое резюме")
    )

    [(previous, folded)] = primary.summarized
    assert previous == "старое резюме"
    assert folded == [m.message for m in remembered[:-2]]
    assert outcome.summary == "новое резюме"
    assert outcome.summarized_upto == remembered[-3].id
    ctx = primary.contexts[0]
    assert ctx.summary == "новое резюме"
    assert ctx.history == [m.message for m in remembered[-2:]]


async def test_the_summary_falls_back_to_offline_when_the_model_is_down() -> None:
    primary = ScriptedAnswerer(
        draft("Ок.", Intent.GREETING), summary=AnswererUnavailable("summary timed out")
    )
    outcome = await engine(primary, summarize_after=2, recent_messages=1).run_turn(
        said("ещё вопрос", memory=memory(4))
    )
    assert outcome.summary == "Посетитель спрашивал: сообщение 0\nПосетитель спрашивал: сообщение 2"
    assert outcome.summarized_upto == memory(4)[-2].id


async def test_the_answerer_sees_only_the_recent_messages() -> None:
    primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING))
    remembered = memory(5)
    await engine(primary, recent_messages=3).run_turn(said("вопрос", memory=remembered))
    assert primary.contexts[0].history == [m.message for m in remembered[-3:]]
    assert primary.contexts[0].conversation_key == "visitor-1"


# -- cost bounds: the turn's text, the history, the daily budget ------------------------------


async def test_a_flood_reaches_the_answerer_and_the_memory_cut_to_its_end() -> None:
    primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING))
    flood = ["спам " * 1000] * 200 + ["Сколько стоит стрижка?"]
    outcome = await engine(primary, max_turn_chars=500).run_turn(said(*flood))

    asked = primary.contexts[0].text
    assert len(asked) <= 500
    assert asked.startswith("…"), "the cut is marked"
    assert asked.endswith("спам\nСколько стоит стрижка?"), "the question at the end survives"
    assert outcome.visitor_text == asked, "the memory keeps the same cut text"


async def test_a_turn_within_the_limit_is_not_cut() -> None:
    primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING))
    outcome = await engine(primary, max_turn_chars=500).run_turn(said("Привет", "Как дела?"))
    assert outcome.visitor_text == "Привет\nКак дела?"


async def test_history_keeps_the_newest_messages_within_the_token_budget_and_the_summary() -> None:
    primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING))
    remembered = [
        MemoryMessage(1, HistoryMessage(role="visitor", text="старый вопрос")),
        MemoryMessage(2, HistoryMessage(role="visitor", text="огромный текст " * 2000)),
        MemoryMessage(3, HistoryMessage(role="bot", text="Стрижка стоит 1 500 ₽.")),
        MemoryMessage(4, HistoryMessage(role="visitor", text="А по времени?")),
    ]
    await engine(primary, history_token_budget=100).run_turn(
        said("ещё вопрос", memory=remembered, summary="Посетитель выбирает стрижку.")
    )

    ctx = primary.contexts[0]
    assert [m.text for m in ctx.history] == ["Стрижка стоит 1 500 ₽.", "А по времени?"], (
        "the huge message is dropped, and nothing older than it jumps the queue"
    )
    assert ctx.summary == "Посетитель выбирает стрижку."


async def test_a_newest_message_bigger_than_the_history_budget_keeps_its_end() -> None:
    primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING))
    huge = "начало " + "текст " * 3000 + "конец"
    remembered = [MemoryMessage(1, HistoryMessage(role="visitor", text=huge))]
    await engine(primary, history_token_budget=100).run_turn(said("ещё", memory=remembered))

    [kept] = primary.contexts[0].history
    assert kept.text.startswith("…") and kept.text.endswith("конец")
    assert len(kept.text) <= 100 * 3


async def test_the_summary_call_reads_no_more_than_the_history_budget() -> None:
    primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING), summary="новое резюме")
    remembered = [
        MemoryMessage(i, HistoryMessage(role="visitor", text=f"сообщение {i} " + "х" * 600))
        for i in range(1, 8)
    ]
    outcome = await engine(
        primary, summarize_after=6, recent_messages=2, history_token_budget=500
    ).run_turn(said("ещё вопрос", memory=remembered))

    [(_, folded)] = primary.summarized
    assert folded, "the oldest of the older messages are summarised"
    assert folded == [m.message for m in remembered][: len(folded)]
    assert len(folded) < len(remembered) - 2, "the budget leaves some for the next summary"
    assert sum(len(m.text) for m in folded) <= 500 * 3
    # Only what was folded counts as summarised: the rest is not lost, it waits its turn.
    assert outcome.summarized_upto == remembered[len(folded) - 1].id


async def test_a_spent_daily_budget_hands_over_without_asking_the_model() -> None:
    primary = ScriptedAnswerer()  # any call to the model fails the test
    outcome = await engine(primary, daily_tokens=1000).run_turn(
        said("Сколько стоит стрижка?", tokens_spent_today=1000)
    )

    assert primary.contexts == [] and primary.summarized == []
    assert outcome.replies == [PHRASES.handoff]
    assert (outcome.handed_off, outcome.finish_code) == (True, "OPERATOR_REQUEST")
    assert event(outcome, "handoff") == {"reason": "budget"}
    assert event(outcome, "budget") == {"spent": 1000, "limit": 1000}
    assert (outcome.prompt_tokens, outcome.completion_tokens) == (0, 0)


async def test_the_model_answers_while_the_budget_lasts_or_when_there_is_none() -> None:
    for limit, spent in ((1000, 999), (0, 10**9)):
        primary = ScriptedAnswerer(draft("Ок.", Intent.GREETING))
        outcome = await engine(primary, daily_tokens=limit).run_turn(
            said("Привет", tokens_spent_today=spent)
        )
        assert outcome.replies == ["Ок."]
        assert not outcome.handed_off


async def test_the_offline_answerer_spends_no_budget_and_is_never_stopped_by_it() -> None:
    outcome = await engine(daily_tokens=1000).run_turn(
        said("Женская стрижка цена", tokens_spent_today=5000)
    )
    assert not outcome.handed_off
    assert "1 500 ₽" in outcome.replies[0]


async def test_the_summary_calls_tokens_count_for_the_turn() -> None:
    primary = ScriptedAnswerer(
        draft("Ок.", Intent.GREETING, tokens=(400, 60)), summary_tokens=(300, 50)
    )
    outcome = await engine(
        primary, summarize_after=6, recent_messages=2, prices={"test-model": Price(1000, 2000)}
    ).run_turn(said("ещё вопрос", memory=memory(7)))

    assert (outcome.prompt_tokens, outcome.completion_tokens) == (700, 110)
    assert outcome.cost == pytest.approx((700 * 1000 + 110 * 2000) / 1_000_000)
