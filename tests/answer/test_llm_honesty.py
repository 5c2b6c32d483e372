"""With a model: the words no record mentions reach the prompt, and a reply that presents a
neighbouring record as the answer is sent back, then replaced by an honest offline reply."""

from __future__ import annotations

from tests.answer.llm_helpers import queries, reply, salon_profile
from tests.support.openai_server import ScriptedOpenAIServer

from talkme_consultant.answer.llm import LLMAnswerer
from talkme_consultant.answer.llm_chat import RetryPolicy
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.answer.prompts import PromptLoader
from talkme_consultant.dialog.engine import DialogEngine, EngineOptions, TurnInput
from talkme_consultant.dialog.honesty import unacknowledged
from talkme_consultant.knowledge.cache import MemoryEmbeddingCache
from talkme_consultant.knowledge.index import KnowledgeIndex, build_index
from talkme_consultant.knowledge.records import Record, Source

QUESTION = "Сколько стоит вечерний макияж?"
HAIRSTYLE = Record(
    text="Услуга: Вечерняя причёска\nЦена, руб.: 4500",
    title="Вечерняя причёска",
    source=Source(file="prices.xlsx", sheet="Укладки", row=2),
    fields={"Услуга": "Вечерняя причёска", "Цена, руб.": "4500"},
)
BLOWOUT = Record(
    text="Услуга: Укладка феном\nЦена, руб.: 1500",
    title="Укладка феном",
    source=Source(file="prices.xlsx", sheet="Укладки", row=3),
    fields={"Услуга": "Укладка феном", "Цена, руб.": "1500"},
)
PASSED_OVER = "Вечерняя причёска стоит 4 500 ₽."
HONEST = "Вечернего макияжа у нас, к сожалению, нет. Есть вечерняя причёска — 4 500 ₽."


async def index() -> KnowledgeIndex:
    return await build_index([HAIRSTYLE, BLOWOUT], None, MemoryEmbeddingCache())


async def engine(server: ScriptedOpenAIServer) -> DialogEngine:
    retriever = await index()
    model = LLMAnswerer(
        server.client(timeout=5.0),
        "test-model",
        retriever,
        salon_profile(),
        PromptLoader(),
        retry=RetryPolicy(max_retries=0, backoff_seconds=0.0),
    )
    offline = OfflineAnswerer(retriever, Phrases(), threshold=0.5)
    return DialogEngine(model, offline, Phrases(), EngineOptions())


def ask(text: str) -> TurnInput:
    return TurnInput(conversation_key="visitor", texts=[text], attachments_only=False)


async def test_the_prompt_names_the_asked_words_no_record_mentions(
    llm_server: ScriptedOpenAIServer,
) -> None:
    llm_server.push(queries("вечерний макияж"), reply(HONEST, not_found=True, used_record_ids=[]))

    await (await engine(llm_server)).run_turn(ask(QUESTION))

    prompt = llm_server.requests[1].user
    assert "<not_in_records>" in prompt
    assert "«макияж»" in prompt.split("<not_in_records>")[1].split("</not_in_records>")[0]


async def test_a_reply_passing_a_neighbour_off_as_the_answer_is_replaced_by_an_honest_one(
    llm_server: ScriptedOpenAIServer,
) -> None:
    llm_server.push(
        queries("вечерний макияж"),
        reply(PASSED_OVER),
        queries("вечерний макияж"),
        reply(PASSED_OVER),
    )

    outcome = await (await engine(llm_server)).run_turn(ask(QUESTION))

    guard = [event.data for event in outcome.events if event.kind == "guard"]
    assert len(guard) == 2 and "«макияж»" in str(guard[0]["problems"])
    assert "передать вопрос администратору" in llm_server.requests[3].system
    # The offline answerer has the last word: here the hairstyle is not confident, so a person
    # is asked, and the owner sees which word found nothing.
    assert PASSED_OVER not in outcome.replies
    assert outcome.handed_off
    assert outcome.meta["missing"] == ["макияж"]


async def test_a_reply_that_says_the_thing_is_not_there_passes(
    llm_server: ScriptedOpenAIServer,
) -> None:
    llm_server.push(queries("вечерний макияж"), reply(HONEST))

    outcome = await (await engine(llm_server)).run_turn(ask(QUESTION))

    assert outcome.replies == [HONEST]
    assert not [event for event in outcome.events if event.kind == "guard"]


async def test_only_a_sentence_saying_no_counts_as_admitting_it() -> None:
    hits = (await index()).search_vector("вечерний макияж", None, 2)

    assert unacknowledged("Вечерний макияж стоит 4 500 ₽.", hits, "") == ["макияж"]
    assert unacknowledged("Макияжа не делаем.", hits, "") == []
    assert unacknowledged("Вечерний макияж стоит 4 500 ₽.", hits, "Делаем макияж.") == []
