"""With a model, a follow-up is read against the dialogue's topic too: the topic reaches both the
query step and the reply, the completed message is searched, and the row asked about is shown
to the model whatever its queries found."""

from __future__ import annotations

from tests.answer.conftest import AnswererFactory
from tests.answer.llm_helpers import MemoryRetriever, between, queries, reply
from tests.support.openai_server import ScriptedOpenAIServer

from talkme_consultant.answer.attributes import Attribute
from talkme_consultant.answer.base import ClarifyOption, DialogueTopic, TurnContext
from talkme_consultant.knowledge.records import Record, Source


def row(number: int, name: str, price: str, minutes: str) -> Record:
    fields = {"Услуга": name, "Цена, руб.": price, "Длительность, мин": minutes}
    return Record(
        text="\n".join(f"{column}: {value}" for column, value in fields.items()),
        title=name,
        fields=fields,
        source=Source(file="prices.xlsx", sheet="Услуги", row=number),
    )


PEDICURE = row(2, "Педикюр с покрытием гель-лак", "4000", "110")
MANICURE = row(3, "Маникюр с покрытием гель-лак", "2900", "100")
ROWS = [PEDICURE, MANICURE]
TOPIC = DialogueTopic(
    asked="Сколько стоит педикюр с покрытием?",
    records=[ClarifyOption(title=PEDICURE.title or "", record_id=PEDICURE.record_id)],
    attribute=Attribute.PRICE,
    branch="center",
)


class Lookup:
    """The served records by id, as the live knowledge base holds them."""

    def record(self, record_id: str) -> Record | None:
        return next((r for r in ROWS if r.record_id == record_id), None)


async def test_the_topic_reaches_both_steps_and_the_row_asked_about_is_shown(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    retriever = MemoryRetriever(ROWS)
    # The model's rewrite finds nothing; the row is shown all the same.
    llm_server.push(
        queries("продолжительность"),
        reply("Педикюр с покрытием гель-лак длится 110 мин.", used_record_ids=["R1"]),
    )
    answerer = make_answerer(retriever=retriever, records=Lookup())

    draft = await answerer.answer(
        TurnContext(conversation_key="c1", text="а сколько длится?", topic=TOPIC)
    )

    rewrite, answer = llm_server.requests
    for request in (rewrite, answer):
        topic = between(request.user, "topic")
        assert "Предыдущий вопрос посетителя: «Сколько стоит педикюр с покрытием?»" in topic
        assert "Ответ был по записи: «Педикюр с покрытием гель-лак»" in topic
        assert "Спрашивали: цена" in topic
        assert "Филиал, о котором шла речь: Филиал в центре" in topic
        assert "дополненное по разговору: «сколько длится педикюр с покрытием»" in topic
    assert "<topic>" in rewrite.system and "<topic>" in answer.system
    assert "сколько длится педикюр с покрытием" in retriever.queries
    assert 'id="R1"' in between(answer.user, "records")
    assert "Так и называй: Педикюр с покрытием гель-лак — 4 000 ₽, 110 мин" in answer.user
    assert [hit.record_id for hit in draft.used_records] == [PEDICURE.record_id]
    assert draft.topic == TOPIC.model_copy(
        update={"asked": "сколько длится педикюр с покрытием", "attribute": Attribute.DURATION}
    )


async def test_a_first_message_gets_no_topic_block(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(queries("педикюр цена"), reply("Педикюр с покрытием гель-лак — 4 000 ₽."))

    draft = await make_answerer(retriever=MemoryRetriever(ROWS), records=Lookup()).answer(
        TurnContext(conversation_key="c1", text="Сколько стоит педикюр с покрытием?")
    )

    assert all("<topic>" not in request.user for request in llm_server.requests)
    assert draft.topic is not None
    assert draft.topic.asked == "Сколько стоит педикюр с покрытием?"
    assert draft.topic.attribute is Attribute.PRICE
