"""What the service does with bad input and unauthorised callers, over real HTTP.

A webhook that is refused must leave no trace: nothing stored (the store's message count does
not move) and nothing sent to TalkMe (a good message sent afterwards is the only one answered).
The service and the simulator are shared by the module's tests (a start costs a second or two);
every test measures from its own starting point.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from talkme_consultant.talkme.simulator import RunningSimulator, running_simulator
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body, webhook_url
from tests.support.service import ADMIN_TOKEN, RunningService, running_service, service_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPLY_TIMEOUT = 20.0
SECRET = "webhook-secret-7d4f1a9c"
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def module_data_dir(
    sample_store_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("bad-input") / "data"
    shutil.copytree(sample_store_template, target)
    yield target


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator() as simulator:
        yield simulator


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(module_data_dir: Path, sim: RunningSimulator) -> AsyncIterator[RunningService]:
    async with running_service(service_settings(module_data_dir, sim)) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def guarded(
    sample_store_template: Path, tmp_path_factory: pytest.TempPathFactory, sim: RunningSimulator
) -> AsyncIterator[RunningService]:
    """A service whose webhook wants the shared secret."""
    data = tmp_path_factory.mktemp("guarded") / "data"
    shutil.copytree(sample_store_template, data)
    async with running_service(service_settings(data, sim, webhook_secret=SECRET)) as running:
        yield running


def admin(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Before:
    received: int
    seq: int


async def before(service: RunningService, sim: RunningSimulator) -> Before:
    stats = await service.admin_get("/webhook/talkme/stats")
    return Before(received=stats["messages_received"], seq=sim.state.last_seq)


async def assert_nothing_stored(
    service: RunningService, sim: RunningSimulator, start: Before
) -> None:
    """No message was stored, and a good message sent now is the only thing TalkMe hears about."""
    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["messages_received"] == start.received, "a refused webhook was stored"
    probe = Visitor.new()
    response = await service.post_message(probe, "Здравствуйте!", 1)
    assert response.status_code == 200
    await sim.state.wait_for_calls(
        1, method="send", token=probe.token, delivered=True, timeout=REPLY_TIMEOUT
    )
    strangers = [c for c in sim.state.calls_matching(since=start.seq) if c.token != probe.token]
    assert strangers == [], "a call reached TalkMe for a refused webhook"
    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["messages_received"] == start.received + 1


async def post_raw(service: RunningService, content: bytes, **kwargs: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return await service.http.post(
        webhook_url(service.url), content=content, headers=headers, **kwargs
    )


def body(**changes: Any) -> dict[str, Any]:
    """A valid webhook body of a fresh visitor, with top-level keys replaced (None deletes)."""
    payload = build_webhook_body(Visitor.new(), "Сколько стоит стрижка?", 1)
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def named_fields(response: httpx.Response) -> set[str]:
    return {item["field"] for item in response.json()["fields"]}


# -- the webhook's bad bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"this is not json", id="text"),
        pytest.param(b'{"token": "abc", "message": {"text": "hi"', id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00garbage", id="binary"),
    ],
)
async def test_a_body_that_is_not_json_is_refused_with_400(
    service: RunningService, sim: RunningSimulator, raw: bytes
) -> None:
    start = await before(service, sim)
    response = await post_raw(service, raw)
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "request body is not valid JSON"}
    await assert_nothing_stored(service, sim, start)


@pytest.mark.parametrize(
    "value", [[1, 2], "a string", 42, None, [build_webhook_body(Visitor.new(), "hi", 1)]]
)
async def test_json_that_is_not_an_object_is_refused_with_400(
    service: RunningService, sim: RunningSimulator, value: Any
) -> None:
    start = await before(service, sim)
    response = await post_raw(service, orjson.dumps(value))
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "request body must be a JSON object"}
    await assert_nothing_stored(service, sim, start)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param(body(token=None), "token", id="no token"),
        pytest.param(body(token="   "), "token", id="blank token"),
        pytest.param(body(token=123), "token", id="numeric token"),
        pytest.param(body(message={}), "message.text", id="no message.text"),
        pytest.param(body(message=None), "message", id="no message"),
        pytest.param(body(message={"text": 5}), "message.text", id="numeric text"),
        pytest.param(body(message={"text": None}), "message.text", id="null text"),
        pytest.param(body(message="hi"), "message", id="message not an object"),
        pytest.param(body(client="x"), "client", id="client not an object"),
        pytest.param(body(client={}), "client", id="client without identity"),
        pytest.param(body(client={"name": "Анна", "phone": None}), "client", id="only a name"),
        pytest.param(body(client={"clientId": "  "}), "client", id="blank clientId"),
        pytest.param(body(client=None), "client", id="no client"),
        pytest.param(body(client={"searchId": True}), "client.searchId", id="boolean searchId"),
        pytest.param(
            body(originalOnlineChatMessage={"id": "abc"}),
            "originalOnlineChatMessage.id",
            id="non-numeric message id",
        ),
        pytest.param(
            body(originalOnlineChatMessage={"id": 1, "dialogId": 2**63}),
            "originalOnlineChatMessage.dialogId",
            id="dialogId past 64 bits",
        ),
        pytest.param(
            body(client={"clientId": "a\u0000b"}), "client.clientId", id="NUL in clientId"
        ),
        pytest.param(body(client={"clientId": "x" * 129}), "client.clientId", id="long clientId"),
        pytest.param(body(message={"text": "hi\u0000"}), "message.text", id="NUL in text"),
        pytest.param(body(nested={"a": [[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]}), "body", id="too deep"),
    ],
)
async def test_an_invalid_payload_is_refused_with_422_naming_the_field(
    service: RunningService, sim: RunningSimulator, payload: dict[str, Any], field: str
) -> None:
    start = await before(service, sim)
    response = await service.http.post(webhook_url(service.url), json=payload)
    assert response.status_code == 422
    error = response.json()
    assert error["success"] is False
    assert field in named_fields(response)
    assert field in error["error"]
    assert all(item["message"] for item in error["fields"])
    await assert_nothing_stored(service, sim, start)


async def test_several_problems_are_all_named(
    service: RunningService, sim: RunningSimulator
) -> None:
    start = await before(service, sim)
    response = await service.http.post(
        webhook_url(service.url), json=body(token=None, message={"text": 5}, client={})
    )
    assert response.status_code == 422
    assert {"token", "message.text", "client"} <= named_fields(response)
    await assert_nothing_stored(service, sim, start)


def padded(size: int) -> bytes:
    """A valid webhook body of exactly `size` bytes (padding in an ignored field)."""
    payload = body(padding="")
    base = len(orjson.dumps(payload))
    payload["padding"] = "x" * (size - base)
    raw = orjson.dumps(payload)
    assert len(raw) == size
    return raw


async def test_a_body_over_64_kib_with_a_content_length_is_refused_with_413(
    service: RunningService, sim: RunningSimulator
) -> None:
    start = await before(service, sim)
    response = await post_raw(service, padded(LIMIT + 1))
    assert response.status_code == 413
    assert "larger than 65536 bytes" in response.json()["error"]
    await assert_nothing_stored(service, sim, start)


async def test_a_chunked_body_over_64_kib_is_refused_with_413(
    service: RunningService, sim: RunningSimulator
) -> None:
    start = await before(service, sim)
    raw = padded(LIMIT + 10_000)

    async def chunks() -> AsyncIterator[bytes]:
        for offset in range(0, len(raw), 4096):
            yield raw[offset : offset + 4096]

    request = service.http.build_request(
        "POST",
        webhook_url(service.url),
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await service.http.send(request)
    assert response.status_code == 413
    await assert_nothing_stored(service, sim, start)


async def test_a_body_of_exactly_64_kib_is_accepted(
    service: RunningService, sim: RunningSimulator
) -> None:
    response = await post_raw(service, padded(LIMIT))
    assert response.status_code == 200
    assert response.json() == {"success": True, "duplicate": False}


async def test_unknown_fields_are_ignored_and_the_message_is_answered(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    payload = build_webhook_body(visitor, "Здравствуйте!", 1)
    payload["newTopLevelThing"] = {"nested": [1, 2, 3]}
    payload["client"]["vipLevel"] = "gold"
    payload["message"]["attachments"] = []
    payload["site"]["region"] = 77
    response = await service.http.post(webhook_url(service.url), json=payload)
    assert response.status_code == 200
    assert response.json() == {"success": True, "duplicate": False}
    [reply] = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
    )
    assert reply.text is not None
    assert "Здравствуйте" in reply.text


# -- the webhook secret ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        pytest.param({}, {}, id="none"),
        pytest.param({"X-Webhook-Secret": "wrong"}, {}, id="wrong header"),
        pytest.param({}, {"secret": "wrong"}, id="wrong query"),
        pytest.param({"X-Webhook-Secret": SECRET[:-1]}, {}, id="a prefix"),
        pytest.param({"X-Webhook-Secret": ""}, {}, id="empty header"),
        pytest.param({"Authorization": f"Bearer {SECRET}"}, {}, id="as a bearer token"),
    ],
)
async def test_without_the_right_secret_the_webhook_answers_401(
    guarded: RunningService, sim: RunningSimulator, headers: dict[str, str], params: dict[str, str]
) -> None:
    start = await before(guarded, sim)
    visitor = Visitor.new()
    response = await guarded.http.post(
        webhook_url(guarded.url),
        json=build_webhook_body(visitor, "Здравствуйте!", 1),
        headers=headers,
        params=params,
    )
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "webhook secret missing or wrong"}
    assert SECRET not in response.text
    stats = await guarded.admin_get("/webhook/talkme/stats")
    assert stats["messages_received"] == start.received


async def test_a_wrong_secret_is_refused_before_the_body_is_read(
    guarded: RunningService, sim: RunningSimulator
) -> None:
    response = await post_raw(guarded, b"not even json")
    assert response.status_code == 401


@pytest.mark.parametrize("where", ["header", "query"])
async def test_the_right_secret_in_the_header_or_the_query_is_accepted(
    guarded: RunningService, sim: RunningSimulator, where: str
) -> None:
    visitor = Visitor.new()
    kwargs: dict[str, Any] = (
        {"headers": {"X-Webhook-Secret": SECRET}}
        if where == "header"
        else {"params": {"secret": SECRET}}
    )
    response = await guarded.post_message(visitor, "Здравствуйте!", 1, **kwargs)
    assert response.status_code == 200
    assert response.json() == {"success": True, "duplicate": False}
    assert SECRET not in response.text
    await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
    )


async def test_the_secret_appears_in_no_response(guarded: RunningService) -> None:
    pages = [
        await guarded.http.get(guarded.url + "/webhook/talkme/health"),
        await guarded.http.get(guarded.url + "/openapi.json"),
        await guarded.http.get(guarded.url + "/metrics"),
        await guarded.http.get(guarded.url + "/webhook/talkme/stats", headers=admin()),
        await guarded.http.get(guarded.url + "/admin/events", headers=admin()),
        await guarded.http.get(guarded.url + "/admin/calls", headers=admin()),
        await guarded.http.get(guarded.url + "/knowledge-base/status", headers=admin()),
    ]
    for page in pages:
        assert page.status_code == 200, page.url
        assert SECRET not in page.text, page.url


# -- admin surfaces -------------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/webhook/talkme/stats"),
    ("DELETE", "/webhook/talkme/session/someone"),
    ("DELETE", "/webhook/talkme/sessions"),
    ("GET", "/files"),
    ("GET", "/admin/calls"),
    ("GET", "/admin/events"),
    ("GET", "/knowledge-base/status"),
    ("DELETE", "/files"),
]


REFUSED_CREDENTIALS = {
    "no token": {},
    "wrong token": admin("wrong-token"),
    "empty token": {"Authorization": "Bearer"},
    "no scheme": {"Authorization": ADMIN_TOKEN},
    "basic scheme": {"Authorization": f"Basic {ADMIN_TOKEN}"},
    "other header": {"X-Admin-Token": ADMIN_TOKEN},
}


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_admin_routes_answer_401_without_the_bearer_token(
    service: RunningService, sim: RunningSimulator, method: str, path: str
) -> None:
    visitor = Visitor.new()
    await service.post_message(visitor, "Здравствуйте!", 1)
    await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=REPLY_TIMEOUT)
    sessions = (await service.admin_get("/webhook/talkme/stats"))["total_sessions"]
    files = (await service.admin_get("/files"))["files"]

    for name, headers in REFUSED_CREDENTIALS.items():
        response = await service.http.request(method, service.url + path, headers=headers)
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == "Bearer", name
        assert response.json()["success"] is False, name
        assert ADMIN_TOKEN not in response.text, name

    # The refused calls changed nothing (a DELETE above would have emptied these).
    assert (await service.admin_get("/webhook/talkme/stats"))["total_sessions"] == sessions
    assert (await service.admin_get("/files"))["files"] == files


async def test_health_is_public_and_reports_the_store_and_knowledge_base(
    service: RunningService,
) -> None:
    response = await service.http.get(service.url + "/webhook/talkme/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    checks = health["checks"]
    assert checks["store"] == "ok"
    assert checks["knowledge_base"]["ready"] is True
    assert checks["knowledge_base"]["records"] > 50
    assert checks["knowledge_base"]["version"] >= 1
    assert checks["talkme_test_mode"] is False


# -- sessions -------------------------------------------------------------------------------------


async def test_deleting_an_unknown_session_is_404(service: RunningService) -> None:
    response = await service.http.delete(
        service.url + "/webhook/talkme/session/nobody-at-all", headers=admin()
    )
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "session 'nobody-at-all' not found"}


async def test_deleting_a_known_session_forgets_it(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    await service.post_message(visitor, "Здравствуйте!", 1)
    await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
    )
    stats = await service.admin_get("/webhook/talkme/stats")
    assert visitor.client_id in {s["user_id"] for s in stats["sessions"]}

    response = await service.http.delete(
        service.url + f"/webhook/talkme/session/{visitor.client_id}", headers=admin()
    )
    assert response.status_code == 200
    assert response.json() == {"success": True, "deleted": visitor.client_id}

    after = await service.admin_get("/webhook/talkme/stats")
    assert visitor.client_id not in {s["user_id"] for s in after["sessions"]}
    assert after["total_sessions"] == stats["total_sessions"] - 1
    transcript = await service.http.get(
        service.url + f"/admin/conversations/{visitor.client_id}", headers=admin()
    )
    assert transcript.status_code == 404
    again = await service.http.delete(
        service.url + f"/webhook/talkme/session/{visitor.client_id}", headers=admin()
    )
    assert again.status_code == 404


async def test_deleting_every_session_says_how_many(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitors = [Visitor.new() for _ in range(3)]
    for visitor in visitors:
        await service.post_message(visitor, "Здравствуйте!", 1)
    for visitor in visitors:
        await sim.state.wait_for_calls(
            1, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
        )
    total = (await service.admin_get("/webhook/talkme/stats"))["total_sessions"]
    assert total >= 3

    response = await service.http.delete(service.url + "/webhook/talkme/sessions", headers=admin())
    assert response.status_code == 200
    assert response.json() == {"success": True, "deleted": total}
    stats = await service.admin_get("/webhook/talkme/stats")
    assert (stats["total_sessions"], stats["sessions"]) == (0, [])

    response = await service.http.delete(service.url + "/webhook/talkme/sessions", headers=admin())
    assert response.json() == {"success": True, "deleted": 0}


# -- documentation --------------------------------------------------------------------------------

SEED_ENDPOINTS = {
    ("post", "/webhook/talkme"),
    ("get", "/webhook/talkme/health"),
    ("get", "/webhook/talkme/stats"),
    ("delete", "/webhook/talkme/session/{user_id}"),
    ("delete", "/webhook/talkme/sessions"),
    ("get", "/files"),
    ("get", "/files/{filename}"),
    ("post", "/files/upload"),
    ("delete", "/files/{filename}"),
    ("delete", "/files"),
    ("post", "/knowledge-base/regenerate"),
    ("get", "/knowledge-base/regeneration/status"),
    ("get", "/knowledge-base/status"),
}


async def test_the_docs_page_serves(service: RunningService) -> None:
    response = await service.http.get(service.url + "/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "swagger" in response.text.lower()
    assert "/openapi.json" in response.text


async def test_the_openapi_schema_lists_the_seeds_endpoints(service: RunningService) -> None:
    response = await service.http.get(service.url + "/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "talkme-consultant"
    listed = {
        (method, path) for path, operations in schema["paths"].items() for method in operations
    }
    missing = SEED_ENDPOINTS - listed
    assert not missing, f"not in the OpenAPI schema: {sorted(missing)}"
    assert all(
        operation.get("summary")
        for path, operations in schema["paths"].items()
        for operation in operations.values()
    ), "every endpoint has a summary"
