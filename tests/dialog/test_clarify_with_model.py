"""With a language model as the primary answerer, a pending clarifying question still works: the
choice is answered from the chosen record without a model call, anything else goes to the model."""

from __future__ import annotations

from talkme_consultant.answer.base import ClarifyOption, Draft, HistoryMessage, Intent, TurnContext
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.dialog.engine import DialogEngine, EngineOptions, TurnInput
from talkme_consultant.dialog.memory import MemoryMessage
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit

NAILS = Record(
    text="Коррекция наращённых ногтей. Цена: 3 800 ₽.",
    title="Коррекция наращённых ногтей",
    answer="Коррекция наращённых ногтей стоит 3 800 ₽.",
    source=Source(file="prices.csv", row=1),
)
BROWS = Record(
    text="Коррекция бровей. Цена: 900 ₽.",
    title="Коррекция бровей",
    answer="Коррекция бровей стоит 900 ₽.",
    source=Source(file="prices.csv", row=2),
)


class TitleRetriever:
    """Finds a record by the words of its title (what `answer_choice` searches with)."""

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        return [
            Hit(record_id=r.record_id, record=r, score=1.0, confidence=0.9)
            for r in (NAILS, BROWS)
            if (r.title or "").lower() in query.lower()
        ][:k]


class Model:
    """A scripted model: returns its one draft and counts the calls."""

    name = "llm"

    def __init__(self, reply: Draft) -> None:
        self.reply = reply
        self.asked: list[str] = []

    async def answer(self, ctx: TurnContext) -> Draft:
        self.asked.append(ctx.text)
        return self.reply

    async def summarize(self, previous_summary: str | None, messages: object, **_: object) -> str:
        return previous_summary or ""


def clarified(reply: str) -> TurnInput:
    options = [
        ClarifyOption(title=r.title or "", record_id=r.record_id).model_dump()
        for r in (NAILS, BROWS)
    ]
    meta = {"intent": "clarify", "clarify": {"options": options, "question": "коррекция"}}
    return TurnInput(
        conversation_key="visitor",
        texts=[reply],
        attachments_only=False,
        memory=[
            MemoryMessage(1, HistoryMessage(role="visitor", text="а сколько коррекция стоит")),
            MemoryMessage(2, HistoryMessage(role="bot", text="Уточните…"), meta),
        ],
    )


def engine(model: Model) -> DialogEngine:
    offline = OfflineAnswerer(TitleRetriever(), Phrases(), threshold=0.5)
    return DialogEngine(model, offline, Phrases(), EngineOptions())


async def test_the_choice_is_answered_from_the_chosen_record_without_asking_the_model() -> None:
    model = Model(Draft(text="не должно прозвучать", intent=Intent.ANSWER, answerer="llm"))

    outcome = await engine(model).run_turn(clarified("второе"))

    assert outcome.replies == ["Коррекция бровей стоит 900 ₽."]
    assert outcome.meta["records"] == [BROWS.record_id]
    assert model.asked == []


async def test_a_new_question_after_the_clarification_goes_to_the_model() -> None:
    model = Model(Draft(text="Парковка есть во дворе.", intent=Intent.ANSWER, answerer="llm"))

    outcome = await engine(model).run_turn(clarified("а парковка у вас есть?"))

    assert outcome.replies == ["Парковка есть во дворе."]
    assert model.asked == ["а парковка у вас есть?"]
