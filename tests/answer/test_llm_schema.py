"""Reading the model's structured output."""

from __future__ import annotations

import pytest

from talkme_consultant.answer.llm_schema import (
    QUERIES_SPEC,
    REPLY_SCHEMA,
    REPLY_SPEC,
    OutputError,
    ReplyOutput,
    extract_json_object,
    parse_output,
)


def test_the_json_schema_and_the_pydantic_model_name_the_same_fields() -> None:
    assert set(REPLY_SCHEMA["properties"]) == set(ReplyOutput.model_fields)
    # OpenAI's strict mode: every property required, nothing else allowed
    assert set(REPLY_SCHEMA["required"]) == set(REPLY_SCHEMA["properties"])
    assert REPLY_SCHEMA["additionalProperties"] is False
    assert REPLY_SPEC.response_format()["json_schema"]["strict"] is True
    # the example shown to models without schema mode is itself valid
    ReplyOutput.model_validate(REPLY_SPEC.example)


@pytest.mark.parametrize(
    "text",
    [
        '{"queries": ["стрижка"]}',
        '```json\n{"queries": ["стрижка"]}\n```',
        'Вот запросы:\n```\n{"queries": ["стрижка"]}\n```\nУдачи!',
        'Конечно! {"queries": ["стрижка"]} — вот.',
    ],
)
def test_json_is_found_bare_fenced_or_wrapped_in_prose(text: str) -> None:
    assert extract_json_object(text) == {"queries": ["стрижка"]}


@pytest.mark.parametrize("text", ["", "Стрижка стоит 1500", "[1, 2]", '{"queries": ['])
def test_text_without_a_json_object_is_rejected_as_not_json(text: str) -> None:
    with pytest.raises(OutputError) as raised:
        parse_output(text, QUERIES_SPEC)
    assert raised.value.not_json


def test_json_of_the_wrong_shape_names_the_field() -> None:
    with pytest.raises(OutputError) as raised:
        parse_output('{"reply": 5}', REPLY_SPEC)
    assert not raised.value.not_json
    assert "reply" in str(raised.value)


def test_sloppy_but_clear_output_is_accepted() -> None:
    output = parse_output(
        '{"reply": " Да. ", "used_record_ids": ["r1", "[R2]", 3], "visitor_name": "",'
        ' "phone": "null"}',
        REPLY_SPEC,
    )
    assert output.reply == "Да."
    assert output.used_record_ids == ["R1", "R2", "R3"]
    assert output.visitor_name is None and output.phone is None
    assert output.wants_person is False  # missing flags default to False


def test_queries_are_cleaned_deduplicated_and_capped_at_three() -> None:
    output = parse_output(
        '{"queries": [" стрижка  цена ", "Стрижка цена", "", "маникюр", "педикюр", "массаж"]}',
        QUERIES_SPEC,
    )
    assert output.queries == ["стрижка цена", "маникюр", "педикюр"]


def test_no_usable_query_is_an_error() -> None:
    with pytest.raises(OutputError):
        parse_output('{"queries": ["  "]}', QUERIES_SPEC)
