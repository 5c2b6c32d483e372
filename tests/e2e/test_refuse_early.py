"""Bodies are refused before they are read: credentials first, then size.

FastAPI reads a route's body before the route checks who is asking, so a stranger could make the
service read (and spool to disk) a body as large as they liked before its 401. Now the headers
alone decide (web/body_gate.py). The specs talk to a running service over a raw socket: they
declare a 30 MB body, send a few bytes of it and never the rest — an answer can only come from a
service that did not wait for the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import ValidationError

from talkme_consultant.config import Settings
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body, webhook_url
from tests.support.console_client import csrf_of, signed_in_client
from tests.support.raw_http import Streamed, answer_before_the_body, send_until_answered
from tests.support.service import ADMIN_TOKEN, RunningService, running_service, service_settings

THIRTY_MB = 30 * 1024 * 1024
MEGABYTE = 1024 * 1024
UPLOAD_LIMIT = MEGABYTE
REQUEST_LIMIT = 2 * MEGABYTE
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON_HEAD = {"Content-Type": "application/json", "Content-Length": str(THIRTY_MB)}
FORM_HEAD = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Content-Length": str(THIRTY_MB),
}
MULTIPART_HEAD = {
    "Content-Type": "multipart/form-data; boundary=b",
    "Content-Length": str(THIRTY_MB),
}
MULTIPART_START = b'--b\r\nContent-Disposition: form-data; name="answer"\r\n\r\n'
# A console form that FastAPI would parse (and spool) before its sign-in check.
CONSOLE_FORM = "/console/knowledge/owner-faq/1"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    settings = service_settings(
        tmp_path_factory.mktemp("early") / "data",
        None,
        embedder="none",
        upload_max_request_bytes=UPLOAD_LIMIT,
        max_request_bytes=REQUEST_LIMIT,
    )
    async with running_service(settings) as running:
        yield running


async def console_cookie(service: RunningService, *, signed_in: bool) -> tuple[str, str]:
    """A `Cookie` header of a console session, signed in or only given by the sign-in page,
    and the session's CSRF token."""
    if signed_in:
        async with signed_in_client(service) as client:
            page = await client.get("/console/knowledge")
            return f"talkme_console={client.cookies['talkme_console']}", csrf_of(page.text)
    page = await service.http.get(service.url + "/console/login")
    return f"talkme_console={page.cookies['talkme_console']}", csrf_of(page.text)


# -- without credentials: 401 before the body ----


@pytest.mark.asyncio(loop_scope="module")
async def test_30_mb_of_json_to_an_admin_route_without_the_token_is_answered_401_unread(
    service: RunningService,
) -> None:
    for head in (JSON_HEAD, {**JSON_HEAD, "Authorization": "Bearer guess"}):
        answer = await answer_before_the_body(
            service.url, head, b'{"question": "', path="/admin/owner-faq"
        )
        assert answer.status == 401
        assert b"admin token required" in answer.body
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["connection"] == "close", "the unread rest is not drained"


@pytest.mark.asyncio(loop_scope="module")
async def test_a_client_sending_30_mb_without_the_token_gets_to_send_almost_none_of_it(
    service: RunningService,
) -> None:
    body = Streamed(THIRTY_MB, head=b'{"question": "')
    answer = await send_until_answered(service.url, JSON_HEAD, body, path="/admin/owner-faq")
    assert answer.status == 401
    assert body.sent < THIRTY_MB // 10, f"the client got to send {body.sent} bytes first"


@pytest.mark.asyncio(loop_scope="module")
async def test_30_mb_to_a_console_form_without_a_signed_in_session_is_answered_401_unread(
    service: RunningService,
) -> None:
    anonymous, csrf = await console_cookie(service, signed_in=False)
    attempts = [
        (MULTIPART_HEAD, MULTIPART_START),
        ({**MULTIPART_HEAD, "Cookie": anonymous, "X-CSRF-Token": csrf}, MULTIPART_START),
        ({**FORM_HEAD, "Cookie": anonymous}, f"csrf={csrf}&answer=".encode()),
    ]
    for head, first in attempts:
        answer = await answer_before_the_body(service.url, head, first, path=CONSOLE_FORM)
        assert answer.status == 401
        assert "Нужно войти в консоль заново" in answer.body.decode()
        assert answer.headers["connection"] == "close"
    htmx = await answer_before_the_body(
        service.url,
        {**FORM_HEAD, "HX-Request": "true"},
        b"answer=",
        path="/console/questions/1/answer",
    )
    assert (htmx.status, htmx.headers["hx-redirect"]) == (401, "/console/login")


# -- with credentials: 413 before a body over MAX_REQUEST_BYTES ----


@pytest.mark.asyncio(loop_scope="module")
async def test_an_authenticated_body_declared_over_max_request_bytes_is_413_unread(
    service: RunningService,
) -> None:
    admin = await answer_before_the_body(
        service.url, {**JSON_HEAD, **ADMIN}, b'{"question": "', path="/admin/owner-faq"
    )
    assert admin.status == 413
    assert f"larger than {REQUEST_LIMIT} bytes (MAX_REQUEST_BYTES)" in admin.body.decode()
    assert admin.headers["connection"] == "close"

    cookie, csrf = await console_cookie(service, signed_in=True)
    console = await answer_before_the_body(
        service.url,
        {**MULTIPART_HEAD, "Cookie": cookie, "X-CSRF-Token": csrf},
        MULTIPART_START,
        path="/console/knowledge/upload",
    )
    assert console.status == 413
    assert f"Запрос больше {REQUEST_LIMIT} байт (MAX_REQUEST_BYTES)" in console.body.decode()


@pytest.mark.asyncio(loop_scope="module")
async def test_an_authenticated_body_sent_without_a_length_is_cut_off_at_max_request_bytes(
    service: RunningService,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield '{"question": "Парковка?", "answer": "'.encode()
        for _ in range(REQUEST_LIMIT // (64 * 1024) + 2):
            yield b"x" * 64 * 1024
        yield b'"}'

    response = await service.http.post(
        service.url + "/admin/owner-faq",
        content=chunks(),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "MAX_REQUEST_BYTES" in response.json()["error"]
    assert (await service.admin_get("/admin/owner-faq"))["answers"] == [], "nothing stored"


# -- the public doors ----


@pytest.mark.asyncio(loop_scope="module")
async def test_the_sign_in_form_needs_no_session_but_takes_only_a_small_body(
    service: RunningService,
) -> None:
    async with signed_in_client(service) as client:
        assert (await client.get("/console")).status_code == 200, "signing in still works"
    anonymous, csrf = await console_cookie(service, signed_in=False)
    answer = await answer_before_the_body(
        service.url,
        {**FORM_HEAD, "Cookie": anonymous},
        f"csrf={csrf}&token=".encode(),
        path="/console/login",
    )
    assert answer.status == 413
    assert "Форма входа больше" in answer.body.decode()


@pytest.mark.asyncio(loop_scope="module")
async def test_the_webhook_keeps_its_own_secret_and_its_64_kib_gate(
    tmp_path: Path,
) -> None:
    settings = service_settings(
        tmp_path / "data", None, embedder="none", webhook_secret="s3cret-for-this-spec"
    )
    async with running_service(settings) as guarded:
        visitor = Visitor.new()
        url = webhook_url(guarded.url)
        body = build_webhook_body(visitor, "Здравствуйте", 1)
        no_secret = await guarded.http.post(url, json=body)
        assert no_secret.status_code == 401 and "webhook secret" in no_secret.json()["error"]
        secret = {"X-Webhook-Secret": "s3cret-for-this-spec"}
        assert (await guarded.http.post(url, json=body, headers=secret)).status_code == 200
        big = build_webhook_body(visitor, "я" * 70_000, 2)
        too_big = await guarded.http.post(url, json=big, headers=secret)
        assert too_big.status_code == 413
        assert "larger than 65536 bytes" in too_big.json()["error"]


# -- everything within the limits is as it was ----


@pytest.mark.asyncio(loop_scope="module")
async def test_requests_within_the_limits_are_answered_as_before(service: RunningService) -> None:
    http, url = service.http, service.url
    added = await http.post(
        url + "/admin/owner-faq",
        json={"question": "Есть ли парковка?", "answer": "Да, во дворе."},
        headers=ADMIN,
    )
    assert added.status_code == 201
    uploaded = await http.post(
        url + "/files/upload",
        files=[("files", ("parking.md", "# Парковка\n\nВо дворе.\n".encode(), "text/markdown"))],
        headers=ADMIN,
    )
    assert uploaded.status_code == 200
    assert (await http.get(url + "/console/static/console.css")).status_code == 200
    away = await http.get(url + "/console/questions")
    assert (away.status_code, away.headers["location"]) == (303, "/console/login")
    async with signed_in_client(service) as client:
        csrf = csrf_of((await client.get("/console/knowledge")).text)
        faq_id = added.json()["id"]
        edited = await client.post(
            f"/console/knowledge/owner-faq/{faq_id}",
            data={"question": "Есть ли парковка?", "answer": "Да, бесплатная.", "csrf": csrf},
        )
        assert edited.status_code == 303
    [entry] = (await service.admin_get("/admin/owner-faq"))["answers"]
    assert entry["answer"] == "Да, бесплатная."


def test_max_request_bytes_below_the_upload_limit_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="UPLOAD_MAX_REQUEST_BYTES"):
        Settings(
            data_dir=tmp_path,
            upload_max_request_bytes=4 * MEGABYTE,
            max_request_bytes=2 * MEGABYTE,
        )
