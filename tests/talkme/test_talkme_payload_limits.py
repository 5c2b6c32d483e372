"""The webhook body lets nothing through that the store cannot hold.

One webhook the store refuses used to fail the write of every webhook that arrived with it, so
the model is the gate: ids within signed 64 bits, strings without NUL or broken surrogates and
within the column that keeps them, no absurd nesting. Each refusal names the field. A property
test then throws arbitrary JSON-like bodies at the model: each is either refused or becomes a
message whose every value fits the store's columns.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from talkme_consultant.helpers.cleaning import clean_text, has_unstorable
from talkme_consultant.store.inbox import IncomingMessage
from talkme_consultant.store.models import Conversation, InboundMessage
from talkme_consultant.talkme.payloads import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    MAX_TEXT_CHARS,
    MAX_TOKEN_CHARS,
    WebhookPayload,
)
from talkme_consultant.web.webhook import incoming_message

GOOD: dict[str, Any] = {
    "site": {"id": "2a5rsite", "domain": "iteira"},
    "client": {
        "searchId": 33538,
        "login": "1_posetitel",
        "clientId": "xI4WylKDvtas8rgfe7n6BJMfPRlTZnpA",
        "name": "Анна",
        "phone": "+79161234567",
    },
    "message": {"text": "Сколько стоит стрижка?"},
    "originalOnlineChatMessage": {"id": 33688, "text": "Сколько стоит стрижка?", "dialogId": 3120},
    "token": "token-0123456789abcdef",
}


def with_value(path: str, value: Any) -> dict[str, Any]:
    """The good body with the value at the dotted wire `path` replaced."""
    body = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node[part]
    node[last] = value
    return body


def refused_fields(body: Any) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        WebhookPayload.model_validate(body)
    return {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}


def column_length(column: Any) -> int:
    length = column.type.length
    assert isinstance(length, int)
    return length


# --- what is refused, by field ----------------------------------------------------------------

INTEGER_FIELDS = [
    "client.searchId",
    "originalOnlineChatMessage.id",
    "originalOnlineChatMessage.dialogId",
]


@pytest.mark.parametrize("path", INTEGER_FIELDS)
@pytest.mark.parametrize("value", [INT64_MAX + 1, INT64_MIN - 1, 10**30, str(INT64_MAX + 1)])
def test_ids_outside_signed_64_bits_are_refused_naming_the_field(path: str, value: Any) -> None:
    assert path in refused_fields(with_value(path, value))


@pytest.mark.parametrize("path", INTEGER_FIELDS)
@pytest.mark.parametrize("value", [INT64_MAX, INT64_MIN, 0])
def test_ids_at_the_edges_of_64_bits_are_accepted(path: str, value: int) -> None:
    WebhookPayload.model_validate(with_value(path, value))


STRING_FIELDS = [
    "site.id",
    "site.domain",
    "client.login",
    "client.clientId",
    "client.name",
    "client.phone",
    "message.text",
    "originalOnlineChatMessage.text",
    "token",
]


@pytest.mark.parametrize("path", STRING_FIELDS)
@pytest.mark.parametrize("bad", ["\x00", "\ud800", "\udfff"], ids=["NUL", "high", "low"])
def test_nul_and_lone_surrogates_are_refused_in_every_string(path: str, bad: str) -> None:
    assert path in refused_fields(with_value(path, f"abc{bad}def"))


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("client.clientId", column_length(Conversation.__table__.c.key)),
        ("client.login", column_length(Conversation.__table__.c.key)),
        ("client.name", column_length(Conversation.__table__.c.client_name)),
        ("client.phone", column_length(Conversation.__table__.c.phone)),
        ("site.id", column_length(Conversation.__table__.c.site_id)),
        ("site.domain", 255),
        ("token", MAX_TOKEN_CHARS),
        ("message.text", MAX_TEXT_CHARS),
        ("originalOnlineChatMessage.text", MAX_TEXT_CHARS),
    ],
)
def test_strings_longer_than_their_column_are_refused_and_a_full_one_fits(
    path: str, limit: int
) -> None:
    WebhookPayload.model_validate(with_value(path, "я" * limit))
    assert path in refused_fields(with_value(path, "я" * (limit + 1)))


def test_a_phone_sent_as_a_huge_number_is_refused_as_too_long() -> None:
    assert "client.phone" in refused_fields(with_value("client.phone", 10**80))


def nested(depth: int) -> Any:
    """A value with `depth` levels of objects and arrays."""
    value: Any = "leaf"
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def test_a_body_nested_deeper_than_the_limit_is_refused_as_a_whole() -> None:
    # The body itself is one level, so an extra field may add MAX_DEPTH - 1 more.
    WebhookPayload.model_validate({**GOOD, "extra": nested(MAX_DEPTH - 1)})
    with pytest.raises(ValidationError) as caught:
        WebhookPayload.model_validate({**GOOD, "extra": nested(MAX_DEPTH)})
    [error] = caught.value.errors()
    assert error["loc"] == ()
    assert f"nested deeper than {MAX_DEPTH} levels" in error["msg"]


def test_absurd_nesting_is_a_validation_error_not_a_crash() -> None:
    # Deeper than Python's recursion limit: the check must not recurse.
    assert refused_fields({**GOOD, "extra": nested(50_000)}) == {""}


def test_control_characters_are_removed_from_the_visitors_text_but_lines_stay() -> None:
    payload = WebhookPayload.model_validate(
        with_value("message.text", "При\x07вет\x1b[0m,\tмир\r\nвторая\x7f строка\x85")
    )
    assert payload.text == "Привет[0m,\tмир\r\nвторая строка"


def test_a_dedup_key_longer_than_its_column_is_kept_as_a_digest() -> None:
    body = with_value("site.id", "s" * 128)
    body["client"]["clientId"] = "c" * 128
    message = incoming_message(WebhookPayload.model_validate(body))
    limit = column_length(InboundMessage.__table__.c.dedup_key)
    assert message.dedup_key is not None
    assert len(message.dedup_key) <= limit
    other = copy.deepcopy(body)
    other["originalOnlineChatMessage"]["id"] = 33689
    assert incoming_message(WebhookPayload.model_validate(other)).dedup_key != message.dedup_key


# --- the property: refused, or storable ----------------------------------------------------------

_chars = st.one_of(
    st.characters(exclude_categories=()),  # surrogates included
    st.sampled_from(["\x00", "\ud800", "\udc00", "\x07", "\x1b", "\x85", "\t", "\n", "я", " "]),
)
_strings = st.one_of(
    st.text(_chars, max_size=12),
    st.builds(
        lambda char, size: char * size,
        st.sampled_from(["x", "я", " "]),
        st.sampled_from([63, 64, 65, 127, 128, 129, 511, 512, 513, 4097, MAX_TEXT_CHARS + 1]),
    ),
)
_integers = st.one_of(
    st.integers(),
    st.integers(min_value=INT64_MAX - 2, max_value=INT64_MAX + 2),
    st.integers(min_value=INT64_MIN - 2, max_value=INT64_MIN + 2),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    _integers,
    _integers.map(str),
    st.floats(allow_nan=False, allow_infinity=False),
    _strings,
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=20,
)


def _maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes anything at all."""
    return st.one_of(good, good, _json)


_client = st.fixed_dictionaries(
    {},
    optional={
        "searchId": _maybe(_integers),
        "login": _maybe(_strings),
        "clientId": _maybe(_strings),
        "name": _maybe(_strings),
        "phone": _maybe(st.one_of(_strings, _integers)),
    },
)
_bodies = st.one_of(
    _json,
    st.fixed_dictionaries(
        {},
        optional={
            "site": _maybe(
                st.fixed_dictionaries({}, optional={"id": _maybe(_strings), "domain": _strings})
            ),
            "client": _maybe(_client),
            "message": _maybe(st.fixed_dictionaries({"text": _maybe(_strings)})),
            "originalOnlineChatMessage": _maybe(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "id": _maybe(_integers),
                        "text": _strings,
                        "dialogId": _maybe(_integers),
                    },
                )
            ),
            "token": _maybe(_strings),
            "extra": _json,
        },
    ),
)


def assert_storable(message: IncomingMessage) -> None:
    conversations = Conversation.__table__.c
    inbound = InboundMessage.__table__.c
    limits = {
        "conversation_key": column_length(conversations.key),
        "dedup_key": column_length(inbound.dedup_key),
        "site_id": column_length(conversations.site_id),
        "client_name": column_length(conversations.client_name),
        "phone": column_length(conversations.phone),
    }
    for name, limit in limits.items():
        value = getattr(message, name)
        assert value is None or len(value) <= limit, f"{name} longer than its column"
    for name in (
        "conversation_key",
        "dedup_key",
        "text",
        "token",
        "site_id",
        "client_name",
        "phone",
    ):
        value = getattr(message, name)
        assert value is None or not has_unstorable(value), f"{name} cannot be stored"
    assert message.conversation_key.strip()
    assert message.token.strip()
    assert clean_text(message.text) == message.text, "control characters left in the text"
    assert message.dialog_id is None or INT64_MIN <= message.dialog_id <= INT64_MAX


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_bodies)
def test_any_body_is_either_refused_or_entirely_storable(body: Any) -> None:
    try:
        payload = WebhookPayload.model_validate(body)
    except ValidationError as error:
        assert error.errors(), "a refusal names at least one problem"
        event("refused")
        return
    event("accepted")
    assert_storable(incoming_message(payload))
    for value in _strings_in(payload.model_dump()):
        assert not has_unstorable(value)


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings_in(item)]
    return []
