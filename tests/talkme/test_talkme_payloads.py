"""The webhook body TalkMe sends: what we accept, what we reject and what we read from it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from talkme_testdata import TOKEN

from talkme_consultant.talkme.payloads import (
    WebhookPayload,
    find_file_links,
    is_file_link,
    mask_phone,
    mask_token,
)


def error_locations(exc: ValidationError) -> list[tuple[str | int, ...]]:
    return [tuple(error["loc"]) for error in exc.errors()]


def rejected_at(body: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as caught:
        WebhookPayload.model_validate(body)
    return error_locations(caught.value)


# --- the captured body -----------------------------------------------------------------------


def test_the_captured_body_parses_with_every_field(captured_webhook: dict[str, Any]) -> None:
    payload = WebhookPayload.model_validate(captured_webhook)

    assert payload.token == TOKEN
    assert payload.text == "Привет"
    assert payload.site is not None and payload.site.domain == "iteira"
    assert payload.client.client_id == "xI4WylKDvtas8rgfe7n6BJMfPRlTZnpA"
    assert payload.client.search_id == 33538
    assert payload.client.login == "1_posetitel_v_sentyabre_2025"
    assert payload.client.name == "1 посетитель в сентябре 2025 года"
    assert payload.client.phone is None
    assert payload.original_message is not None
    assert payload.original_message.dialog_id == 3120
    assert payload.conversation_key == "xI4WylKDvtas8rgfe7n6BJMfPRlTZnpA"
    assert payload.message_id == "33688"
    assert payload.dialog_id == "3120"
    assert not payload.is_attachment


def test_it_parses_from_raw_json_bytes_too(captured_webhook: dict[str, Any]) -> None:
    raw = httpx.Request("POST", "http://x", json=captured_webhook).content
    assert WebhookPayload.model_validate_json(raw).message_id == "33688"


def test_it_dumps_back_to_the_wire_names(captured_webhook: dict[str, Any]) -> None:
    dumped = WebhookPayload.model_validate(captured_webhook).model_dump()
    assert dumped["client"]["clientId"] == "xI4WylKDvtas8rgfe7n6BJMfPRlTZnpA"
    assert dumped["originalOnlineChatMessage"]["dialogId"] == 3120


def test_unknown_fields_are_ignored_at_every_level(captured_webhook: dict[str, Any]) -> None:
    captured_webhook["newTopLevel"] = {"anything": 1}
    captured_webhook["client"]["utm"] = "ads"
    captured_webhook["message"]["buttons"] = []
    captured_webhook["originalOnlineChatMessage"]["operatorId"] = 7

    payload = WebhookPayload.model_validate(captured_webhook)

    assert payload.text == "Привет"
    assert "newTopLevel" not in payload.model_dump()


def test_only_token_message_text_and_a_client_identity_are_needed() -> None:
    payload = WebhookPayload.model_validate(
        {"client": {"clientId": "abc"}, "message": {"text": "Привет"}, "token": TOKEN}
    )
    assert payload.site is None
    assert payload.original_message is None
    assert payload.message_id is None
    assert payload.dialog_id is None


def test_explicit_nulls_for_optional_parts_are_accepted(captured_webhook: dict[str, Any]) -> None:
    captured_webhook["site"] = None
    captured_webhook["originalOnlineChatMessage"] = None
    assert WebhookPayload.model_validate(captured_webhook).message_id is None


def test_an_empty_message_text_is_still_a_message(captured_webhook: dict[str, Any]) -> None:
    captured_webhook["message"]["text"] = ""
    assert WebhookPayload.model_validate(captured_webhook).text == ""


# --- required fields -------------------------------------------------------------------------


def test_a_missing_token_is_rejected_naming_token(captured_webhook: dict[str, Any]) -> None:
    del captured_webhook["token"]
    assert rejected_at(captured_webhook) == [("token",)]


@pytest.mark.parametrize("bad_token", [123, None, "", "   ", ["t"]])
def test_a_token_that_is_not_a_non_blank_string_is_rejected(
    captured_webhook: dict[str, Any], bad_token: object
) -> None:
    captured_webhook["token"] = bad_token
    assert rejected_at(captured_webhook) == [("token",)]


def test_a_missing_message_is_rejected_naming_message(captured_webhook: dict[str, Any]) -> None:
    del captured_webhook["message"]
    assert rejected_at(captured_webhook) == [("message",)]


def test_a_message_without_text_is_rejected_naming_message_text(
    captured_webhook: dict[str, Any],
) -> None:
    captured_webhook["message"] = {}
    assert rejected_at(captured_webhook) == [("message", "text")]


@pytest.mark.parametrize("bad_text", [5, None, ["Привет"], {"ru": "Привет"}])
def test_a_message_text_that_is_not_a_string_is_rejected(
    captured_webhook: dict[str, Any], bad_text: object
) -> None:
    captured_webhook["message"]["text"] = bad_text
    assert rejected_at(captured_webhook) == [("message", "text")]


def test_a_message_that_is_a_bare_string_is_rejected(captured_webhook: dict[str, Any]) -> None:
    captured_webhook["message"] = "Привет"
    assert rejected_at(captured_webhook) == [("message",)]


# --- types of optional fields ----------------------------------------------------------------


def test_numeric_ids_accept_numeric_strings(captured_webhook: dict[str, Any]) -> None:
    captured_webhook["client"]["searchId"] = "33538"
    captured_webhook["originalOnlineChatMessage"]["id"] = "33688"
    captured_webhook["originalOnlineChatMessage"]["dialogId"] = "3120"

    payload = WebhookPayload.model_validate(captured_webhook)

    assert payload.client.search_id == 33538
    assert payload.message_id == "33688"
    assert payload.dialog_id == "3120"


@pytest.mark.parametrize("bad_id", [True, 1.5, "abc", {"id": 1}])
def test_ids_that_are_not_integers_are_rejected_with_the_wire_name(
    captured_webhook: dict[str, Any], bad_id: object
) -> None:
    captured_webhook["originalOnlineChatMessage"]["id"] = bad_id
    assert rejected_at(captured_webhook) == [("originalOnlineChatMessage", "id")]


def test_a_client_id_that_is_not_a_string_is_rejected(captured_webhook: dict[str, Any]) -> None:
    captured_webhook["client"]["clientId"] = 12345
    assert rejected_at(captured_webhook) == [("client", "clientId")]


def test_a_phone_sent_as_a_number_is_read_as_text(captured_webhook: dict[str, Any]) -> None:
    captured_webhook["client"]["phone"] = 79161234567
    assert WebhookPayload.model_validate(captured_webhook).client.phone == "79161234567"


# --- conversation key ------------------------------------------------------------------------


def test_the_conversation_key_falls_back_to_search_id_without_client_id(
    captured_webhook: dict[str, Any],
) -> None:
    del captured_webhook["client"]["clientId"]
    assert WebhookPayload.model_validate(captured_webhook).conversation_key == "searchId:33538"


def test_an_all_digit_client_id_is_the_key_as_it_is_and_no_search_id_key_is_the_same(
    captured_webhook: dict[str, Any],
) -> None:
    captured_webhook["client"]["clientId"] = "33538"
    by_client_id = WebhookPayload.model_validate(captured_webhook).conversation_key
    del captured_webhook["client"]["clientId"]
    by_search_id = WebhookPayload.model_validate(captured_webhook).conversation_key
    assert (by_client_id, by_search_id) == ("33538", "searchId:33538")


def test_the_conversation_key_falls_back_to_login_without_client_or_search_id(
    captured_webhook: dict[str, Any],
) -> None:
    captured_webhook["client"] = {"login": "1_posetitel", "searchId": None}
    assert WebhookPayload.model_validate(captured_webhook).conversation_key == "1_posetitel"


def test_a_blank_client_id_counts_as_absent(captured_webhook: dict[str, Any]) -> None:
    captured_webhook["client"]["clientId"] = "   "
    payload = WebhookPayload.model_validate(captured_webhook)
    assert payload.client.client_id is None
    assert payload.conversation_key == "searchId:33538"


@pytest.mark.parametrize(
    "client",
    [
        {},
        {"name": "Анна", "phone": "+79161234567"},
        {"clientId": "", "login": " ", "searchId": None},
    ],
)
def test_a_client_without_any_identity_is_rejected_naming_client(
    captured_webhook: dict[str, Any], client: dict[str, Any]
) -> None:
    captured_webhook["client"] = client
    with pytest.raises(ValidationError) as caught:
        WebhookPayload.model_validate(captured_webhook)
    assert error_locations(caught.value) == [("client",)]
    assert "clientId, searchId or login" in str(caught.value)


def test_a_missing_client_is_rejected_naming_client(captured_webhook: dict[str, Any]) -> None:
    del captured_webhook["client"]
    assert rejected_at(captured_webhook) == [("client",)]


async def test_as_a_fastapi_body_a_client_without_identity_is_a_422_naming_client(
    captured_webhook: dict[str, Any],
) -> None:
    app = FastAPI()

    @app.post("/webhook/talkme")
    async def webhook(payload: WebhookPayload) -> dict[str, str]:
        return {"key": payload.conversation_key}

    captured_webhook["client"] = {"name": "Анна"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        response = await http.post("/webhook/talkme", json=captured_webhook)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "client"]]


# --- attachments -----------------------------------------------------------------------------


def payload_with_text(text: str) -> WebhookPayload:
    return WebhookPayload.model_validate(
        {"client": {"clientId": "abc"}, "message": {"text": text}, "token": TOKEN}
    )


def test_a_talkme_download_link_alone_is_an_attachment() -> None:
    link = "https://download.me-talk.ru/files/2025/09/abc123"
    payload = payload_with_text(link)
    assert payload.is_attachment
    assert payload.attachment_urls == [link]


def test_several_file_links_alone_are_an_attachment() -> None:
    text = "https://download.me-talk.ru/a/photo.jpg\nhttps://cdn.example.com/docs/price.pdf"
    payload = payload_with_text(text)
    assert payload.is_attachment
    assert payload.attachment_urls == [
        "https://download.me-talk.ru/a/photo.jpg",
        "https://cdn.example.com/docs/price.pdf",
    ]


def test_a_file_link_inside_a_sentence_is_listed_but_the_message_is_not_an_attachment() -> None:
    payload = payload_with_text("Вот мой договор: https://example.com/dogovor.docx, посмотрите")
    assert not payload.is_attachment
    assert payload.attachment_urls == ["https://example.com/dogovor.docx"]


@pytest.mark.parametrize(
    "text",
    [
        "Привет",
        "https://example.com",
        "https://example.com/catalog/",
        "https://example.com/page.html",
        "https://download.me-talk.ru/",
        "",
    ],
)
def test_plain_text_and_links_to_pages_are_not_attachments(text: str) -> None:
    payload = payload_with_text(text)
    assert not payload.is_attachment
    assert payload.attachment_urls == []


def test_a_repeated_file_link_is_listed_once() -> None:
    assert find_file_links("https://x.ru/a.png https://x.ru/a.png") == ["https://x.ru/a.png"]


@pytest.mark.parametrize(
    ("url", "is_file"),
    [
        ("https://download.me-talk.ru/f/123", True),
        ("http://example.com/scan.PDF", True),
        ("https://example.com/a/b/photo.jpeg?size=large", True),
        ("https://example.com/index.php", False),
        ("ftp://example.com/a.pdf", False),
        ("not a url", False),
    ],
)
def test_what_counts_as_a_file_link(url: str, is_file: bool) -> None:
    assert is_file_link(url) is is_file


# --- keeping secrets out of logs -------------------------------------------------------------


def test_the_repr_of_a_payload_shows_neither_token_nor_phone(
    captured_webhook: dict[str, Any],
) -> None:
    captured_webhook["client"]["phone"] = "+7 916 123-45-67"
    text = repr(WebhookPayload.model_validate(captured_webhook))
    assert TOKEN not in text
    assert "123-45-67" not in text


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+7 (916) 123-45-67", "+7 (916) ***-**-67"),
        ("+79161234567", "+7916*****67"),
        ("8 916 123 45 67", "8 916 *** ** 67"),
        ("123-45-67", "***-**-67"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_phone_keeps_country_and_operator_code_and_the_last_two_digits(
    phone: str, masked: str
) -> None:
    assert mask_phone(phone) == masked


def test_mask_token_shows_only_a_prefix_and_the_length() -> None:
    assert mask_token(TOKEN) == f"tm-9***({len(TOKEN)})"
    assert mask_token("short") == "***(5)"
    assert mask_token("") == "<none>"
    assert mask_token(None) == "<none>"
