"""The OpenAPI description is the contract: generated requests to any route never get a 5xx.

Schemathesis reads the service's own `/openapi.json` over real HTTP and throws valid and invalid
requests at every operation, with the admin token, so the admin routes are exercised past their
authentication. The webhook's description names its body (`WebhookPayload`) and every answer it
gives, so the generated webhooks are close to what TalkMe sends, and the odd ones must be refused
with a 4xx, not a crash.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from talkme_consultant.talkme.payloads import WEBHOOK_PATH
from tests.store.test_store_postgres import postgres_url  # noqa: F401  (fixture)
from tests.support.service import ADMIN_TOKEN, running_service, service_settings

EXAMPLES_PER_OPERATION = 12
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def server_errors(base_url: str) -> list[str]:
    """Fuzz every operation; the 5xx answers found (one line each), empty when none."""
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def call(case: Any) -> None:
            response = case.call(base_url=base_url, headers=AUTH)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} → {response.status_code}: "
                f"{response.text[:300]}"
            )

        try:
            call()
        except AssertionError as error:
            found.append(str(error).splitlines()[0])
    return found


async def fuzz_service(data_dir: Path, **overrides: Any) -> None:
    # Keyword search only: uploads and rebuilds the fuzzer triggers then cost next to nothing.
    settings_ = service_settings(
        data_dir,
        None,
        embedder="none",
        debounce_seconds=600,
        debounce_question_seconds=600,
        **overrides,
    )
    async with running_service(settings_) as service:
        schema = (await service.http.get(service.url + "/openapi.json")).json()
        assert len(schema["paths"]) >= 15
        assert "post" in schema["paths"][WEBHOOK_PATH]
        # The fuzzer's client is synchronous; the service keeps serving on this event loop.
        found = await asyncio.to_thread(server_errors, service.url)
    assert found == []


async def test_no_route_answers_generated_requests_with_a_server_error_on_sqlite(
    data_dir: Path,
) -> None:
    await fuzz_service(data_dir)


async def test_no_route_answers_generated_requests_with_a_server_error_on_postgres(
    data_dir: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    # PostgreSQL refuses NUL in text and checks every length: stricter than SQLite.
    await fuzz_service(data_dir, database_url=postgres_url)


async def test_the_webhook_is_described_with_its_body_and_every_answer(data_dir: Path) -> None:
    async with running_service(service_settings(data_dir, None)) as service:
        schema = (await service.http.get(service.url + "/openapi.json")).json()
    operation = schema["paths"][WEBHOOK_PATH]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/WebhookPayload"}
    components = schema["components"]["schemas"]
    payload = components["WebhookPayload"]
    assert set(payload["required"]) == {"client", "message", "token"}
    client = components["WebhookClient"]["properties"]
    assert client["clientId"]["anyOf"][0]["maxLength"] == 128
    dialog = components["OriginalMessage"]["properties"]["dialogId"]["anyOf"][0]
    assert (dialog["minimum"], dialog["maximum"]) == (-(2**63), 2**63 - 1)
    answers = {
        status: answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for status, answer in operation["responses"].items()
    }
    assert answers == {
        "200": "WebhookAccepted",
        "400": "WebhookError",
        "401": "WebhookError",
        "413": "WebhookError",
        "422": "WebhookRejected",
        "503": "WebhookError",
    }
    assert {"fields"} <= set(components["WebhookRejected"]["properties"])
    parameters = {(p["in"], p["name"]) for p in operation["parameters"]}
    assert parameters == {("query", "secret"), ("header", "X-Webhook-Secret")}


NUL_REQUESTS = [
    ("GET", "/admin/conversations/a%00b", "path.key"),
    ("DELETE", "/webhook/talkme/session/a%00b", "path.user_id"),
    ("GET", "/admin/events?kind=a%00b", "query.kind"),
    ("GET", "/admin/events?conversation=a%00b", "query.conversation"),
    ("GET", "/admin/calls?status=a%00b", "query.status"),
    ("DELETE", "/files/a%00b.md", "path.filename"),
]


async def test_a_nul_in_a_path_or_query_value_is_a_422_naming_it_on_postgres(
    data_dir: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    # The fuzzer does not put NUL into URLs; PostgreSQL cannot even compare a text holding one.
    settings_ = service_settings(data_dir, None, embedder="none", database_url=postgres_url)
    async with running_service(settings_) as service:
        files_before = (await service.admin_get("/files"))["files"]
        for method, path, field in NUL_REQUESTS:
            response = await service.http.request(method, service.url + path, headers=AUTH)
            assert response.status_code == 422, (path, response.text)
            answer = response.json()
            assert answer["success"] is False
            assert field in {item["field"] for item in answer["fields"]}, path
        assert (await service.admin_get("/files"))["files"] == files_before
