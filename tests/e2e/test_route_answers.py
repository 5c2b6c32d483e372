"""Every route answers in the shape `/openapi.json` documents, so `/docs` is the truth.

The description is read from the service over real HTTP. One spec checks what it promises: a
documented success answer with a schema for every route (Prometheus text for /metrics, a file for
the download), the app's error shape for 401 on every admin route. The other holds the service to
it: after a short real conversation (the simulator as TalkMe, a scripted model booking the
visitor), every route is called and each answer is validated against the schema documented for
its status code, and against the pydantic model of that name in strict mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from talkme_consultant.web import schemas
from tests.support.booking_model import booking_model
from tests.support.eventually import eventually
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.service import (
    ADMIN_TOKEN,
    RunningService,
    model_settings,
    running_service,
    service_settings,
)

TIMEOUT = 20.0
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
WEBHOOK = ("post", "/webhook/talkme")
PUBLIC = {WEBHOOK, ("get", "/webhook/talkme/health"), ("get", "/metrics")}
DOWNLOAD = ("get", "/files/{filename}")
XLSX = ("get", "/admin/owner-faq.xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
METRICS = ("get", "/metrics")

# The fields each answer has always had: scripts of the replaced system and of owners read them.
FIELDS: dict[str, set[str]] = {
    "health": {"status", "checks"},
    "health.checks": {
        "store",
        "knowledge_base",
        "answerer",
        "talkme_test_mode",
        "webhook",
        "llm",
    },
    "stats": {
        "total_sessions",
        "active_sessions",
        "messages_received",
        "messages_processed",
        "messages_pending",
        "errors",
        "turn_errors",
        "turns_failed",
        "failed_calls",
        "pending_calls",
        "sent_calls",
        "recorded_calls",
        "handoffs_by_reason",
        "events",
        "leads",
        "llm",
        "sessions",
    },
    "stats.llm": {"prompt_tokens", "completion_tokens", "estimated_cost", "latency", "outages"},
    "stats.sessions": {
        "user_id",
        "messages_count",
        "client_name",
        "phone_number",
        "state",
        "created_at",
        "last_activity",
        "prompt_tokens",
        "completion_tokens",
        "estimated_cost",
    },
    "files": {"filename", "size", "sha256", "origin", "records", "error", "updated_at"},
    "kb_status": {
        "ready",
        "version",
        "stored_version",
        "records",
        "files",
        "file_errors",
        "rebuilding",
        "evaluation",
        "answering",
        "conflicts",
    },
    "rebuild": {
        "running",
        "state",
        "done",
        "total",
        "started_at",
        "finished_at",
        "error",
        "file_errors",
    },
    "calls": {
        "id",
        "conversation",
        "method",
        "body",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "done_at",
    },
    "events": {"id", "conversation_key", "kind", "data", "created_at"},
    "leads": {
        "id",
        "conversation",
        "name",
        "phone",
        "phone_masked",
        "interest",
        "summary",
        "created_at",
    },
    "conversation": {
        "user_id",
        "state",
        "client_name",
        "visitor_name",
        "phone_number",
        "summary",
        "messages",
    },
    "conversation.messages": {"id", "role", "text", "at", "meta"},
}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, by_method in document["paths"].items()
        for method, operation in by_method.items()
    ]


def component_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[1] if isinstance(ref, str) else None


class Contract:
    """The service's own OpenAPI description, used to judge its answers."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = document["components"]
        self.checked: set[tuple[str, str, int]] = set()

    def check(self, response: httpx.Response, method: str, path: str) -> httpx.Response:
        """Assert the answer is one the operation documents, in the documented shape."""
        status = response.status_code
        where = f"{method.upper()} {path} → {status}"
        documented = self.document["paths"][path][method]["responses"].get(str(status))
        assert documented is not None, f"{where} is not documented: {response.text[:300]}"
        media = response.headers["content-type"].split(";")[0].strip()
        content = documented["content"]
        assert media in content, f"{where} sent {media}, documented {sorted(content)}"
        if media == "application/json":
            schema = content[media]["schema"]
            validator = jsonschema_rs.Draft202012Validator(
                {**schema, "components": self.components}
            )
            problems = [
                f"{'/'.join(map(str, e.instance_path))}: {e.message}"
                for e in validator.iter_errors(response.json())
            ]
            assert problems == [], f"{where} does not match its documented schema: {problems}"
            name = component_name(schema)
            model = getattr(schemas, name, None) if name else None
            if model is not None:
                model.model_validate_json(response.content, strict=True)
        self.checked.add((method, path, status))
        return response


# -- what the description promises ---------------------------------------------------------------


async def test_every_route_documents_its_answers_and_admin_routes_document_401(
    data_dir: Path,
) -> None:
    async with running_service(service_settings(data_dir, None, embedder="none")) as service:
        response = await service.http.get(service.url + "/openapi.json")
    document = response.json()
    components = document["components"]["schemas"]
    found = operations(document)
    assert len(found) >= 18

    for method, path, operation in found:
        where = f"{method.upper()} {path}"
        answers = operation["responses"]
        successes = [status for status in answers if status.startswith("2")]
        assert len(successes) == 1, f"{where} documents one success, not {successes}"
        content = answers[successes[0]]["content"]
        if (method, path) == METRICS:
            assert content == {"text/plain": {"schema": {"type": "string"}}}
        elif (method, path) == DOWNLOAD:
            assert content["application/octet-stream"]["schema"]["format"] == "binary"
        elif (method, path) == XLSX:
            assert content[XLSX_TYPE]["schema"]["format"] == "binary"
        else:
            name = component_name(content["application/json"]["schema"])
            assert name in components, f"{where}: its success answer names no model"
            assert components[name]["properties"], f"{where}: {name} has no fields"

        for status, answer in answers.items():
            assert answer.get("description"), f"{where} {status} says when it is given"
            schemas_given = [entry.get("schema") for entry in answer.get("content", {}).values()]
            assert schemas_given and all(schemas_given), f"{where} {status} has no schema"
        # The app answers a bad parameter in its own shape, never FastAPI's default one.
        assert "HTTPValidationError" not in str(answers), where
        error_answer = answers["422"]["content"]["application/json"]["schema"]
        own_shape = "WebhookRejected" if (method, path) == WEBHOOK else "InvalidRequest"
        assert own_shape in str(error_answer), where

        if (method, path) not in PUBLIC:
            unauthorized = answers.get("401")
            assert unauthorized is not None, f"{where} does not document 401"
            ref = unauthorized["content"]["application/json"]["schema"]["$ref"]
            shape = components[component_name({"$ref": ref}) or ""]
            assert set(shape["required"]) == {"error"}
            assert shape["properties"]["success"]["const"] is False
            assert shape["properties"]["error"]["type"] == "string"
            assert "WWW-Authenticate" in unauthorized["headers"]

    states = components["RebuildStatus"]["properties"]["state"]["enum"]
    assert set(states) == {"idle", "parsing", "embedding", "failed"}
    assert components["ConversationView"]["properties"]["state"]["enum"] == ["bot", "operator"]
    upload_refused = document["paths"]["/files/upload"]["post"]["responses"]["422"]
    assert "UploadRefused" in str(upload_refused)
    regenerate = document["paths"]["/knowledge-base/regenerate"]["post"]["responses"]
    assert {"202", "409"} <= set(regenerate)
    assert "503" in document["paths"]["/webhook/talkme/health"]["get"]["responses"]


# -- what the service actually sends -------------------------------------------------------------


@pytest.fixture
def llm(llm: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    """The scripted model, booking every visitor (so there are leads and handoffs to list)."""
    llm.handler = booking_model
    return llm


@pytest.fixture
async def service(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> AsyncIterator[RunningService]:
    settings = service_settings(data_dir, sim, **model_settings(llm.base_url, llm_max_retries=0))
    async with running_service(settings) as running:
        yield running


async def book(service: RunningService, sim: RunningSimulator, visitor: Visitor) -> None:
    """A short conversation: a question, then a phone number; it ends in a lead."""
    # A question the model answers (a booking request would go to the booking dialogue alone);
    # the model hears a wish to book in it, and the dialogue asks for the phone.
    await service.post_message(visitor, "Здравствуйте! Сколько стоит маникюр?", 1)
    await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=TIMEOUT)
    await service.post_message(visitor, "Я Анна, мой номер 8 916 123-45-67", 2)
    await sim.state.wait_for_calls(1, method="finish", token=visitor.token, timeout=TIMEOUT)


def items(answer: dict[str, Any], key: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = answer[key]
    assert listed, f"{key} is empty: the conversation should have filled it"
    return listed


def fields_of(answer: dict[str, Any], key: str) -> set[frozenset[str]]:
    """The distinct field sets of a non-empty list in an answer."""
    return {frozenset(item) for item in items(answer, key)}


def only(name: str) -> set[frozenset[str]]:
    return {frozenset(FIELDS[name])}


async def test_each_route_answers_in_the_shape_it_documents(
    service: RunningService, sim: RunningSimulator
) -> None:
    url, http = service.url, service.http
    contract = Contract((await http.get(url + "/openapi.json")).json())

    async def call(method: str, path: str, concrete: str | None = None, **kw: Any) -> Any:
        headers = kw.pop("headers", ADMIN)
        response = await http.request(method, url + (concrete or path), headers=headers, **kw)
        return contract.check(response, method, path)

    anna = Visitor.new(name="Анна")
    await book(service, sim, anna)
    repeated = contract.check(await service.post_message(anna, "Спасибо!", 2), *WEBHOOK)
    assert repeated.json() == {"success": True, "duplicate": True}

    async def lead_listed() -> bool:
        leads = (await service.admin_get("/admin/leads"))["leads"]
        return any(lead["conversation"] == anna.client_id for lead in leads)

    await eventually(lead_listed, what="Anna's lead")

    health = (await call("get", "/webhook/talkme/health", headers={})).json()
    assert health["status"] == "ok"
    assert (set(health), set(health["checks"])) == (FIELDS["health"], FIELDS["health.checks"])

    stats = (await call("get", "/webhook/talkme/stats")).json()
    assert set(stats) == FIELDS["stats"]
    assert set(stats["llm"]) == FIELDS["stats.llm"]
    assert fields_of(stats, "sessions") == only("stats.sessions")
    assert stats["llm"]["latency"]["p50_ms"] is not None, "the model answered turns"

    metrics = await call("get", "/metrics", headers={})
    assert "talkme_webhooks" in metrics.text

    listing = (await call("get", "/files")).json()
    assert fields_of(listing, "files") == only("files")
    download = await call("get", DOWNLOAD[1], "/files/faq.csv")
    assert download.content == (SAMPLE_KNOWLEDGE_DIR / "faq.csv").read_bytes()

    calls = (await call("get", "/admin/calls")).json()
    assert fields_of(calls, "calls") == only("calls")
    events = (await call("get", "/admin/events", params={"conversation": anna.client_id})).json()
    assert {e["kind"] for e in items(events, "events")} >= {"handoff", "lead"}
    assert fields_of(events, "events") == only("events")
    leads = (await call("get", "/admin/leads")).json()
    assert fields_of(leads, "leads") == only("leads")
    # Without an account API key nothing is read from TalkMe (tests/e2e/test_account_api.py).
    answers = (await call("get", "/admin/operator-answers")).json()
    assert answers == {"answers": []}
    dialogue_path = "/admin/conversations/{key}"
    dialogue = (await call("get", dialogue_path, f"/admin/conversations/{anna.client_id}")).json()
    assert set(dialogue) == FIELDS["conversation"]
    roles = {m["role"] for m in items(dialogue, "messages")}
    assert roles == {"visitor", "bot"}
    assert fields_of(dialogue, "messages") == only("conversation.messages")

    await service.runtime.knowledge.wait_evaluated()
    status = (await call("get", "/knowledge-base/status")).json()
    assert set(status) == FIELDS["kb_status"]
    assert status["evaluation"]["cases"] > 0, "the sample's case file is scored"

    # Knowledge-base changes: an upload, a refused upload, a rebuild, deletes.
    note = ("files", ("parking.md", "# Парковка\n\nУ салона есть парковка.".encode(), "text/md"))
    uploaded = (await call("post", "/files/upload", files=[note])).json()
    assert (uploaded["success"], list(uploaded["uploaded"]), uploaded["errors"]) == (
        True,
        ["parking.md"],
        {},
    )
    assert uploaded["uploaded"]["parking.md"] >= 1, "the note is read as a record"
    assert uploaded["version"] > status["stored_version"]
    broken = ("files", ("broken.xlsx", b"PK\x03\x04 not a workbook", "application/octet-stream"))
    refused = await call("post", "/files/upload", files=[broken])
    assert refused.status_code == 422
    assert set(refused.json()["errors"]) == {"broken.xlsx"}
    not_multipart = await call("post", "/files/upload", json={"files": []})
    assert not_multipart.status_code == 415

    async def rebuild_idle() -> dict[str, Any] | None:
        answer: dict[str, Any] = (await call("get", "/knowledge-base/regeneration/status")).json()
        return answer if not answer["running"] else None

    idle = await eventually(rebuild_idle, what="the upload's rebuild to finish")
    assert set(idle) == FIELDS["rebuild"]
    started = await call("post", "/knowledge-base/regenerate")
    assert (started.status_code, started.json()) == (202, {"success": True, "state": "started"})
    # A second request while the first runs is refused (or started, if the first has ended).
    again = await call("post", "/knowledge-base/regenerate")
    assert again.status_code in (202, 409)
    await eventually(rebuild_idle, what="the rebuild to finish")

    deleted = (await call("delete", "/files/{filename}", "/files/parking.md")).json()
    assert (deleted["success"], deleted["deleted"]) == (True, "parking.md")
    missing = await call("delete", "/files/{filename}", "/files/parking.md")
    assert missing.status_code == 404
    unknown = await call("get", dialogue_path, "/admin/conversations/nobody")
    assert unknown.status_code == 404
    bad_limit = await call("get", "/admin/calls", params={"limit": 0})
    assert bad_limit.status_code == 422
    await console_routes(call, [m["id"] for m in dialogue["messages"] if m["role"] == "bot"])

    for method, path, _ in operations(contract.document):
        if (method, path) not in PUBLIC:
            concrete = path.replace("{filename}", "faq.csv").replace("{key}", "x")
            concrete = concrete.replace("{user_id}", "x").replace("{group_id}", "1")
            concrete = concrete.replace("{faq_id}", "1").replace("{phrasing_id}", "1")
            refused_admin = await call(method, path, concrete, headers={})
            assert refused_admin.status_code == 401

    forgotten = await call(
        "delete", "/webhook/talkme/session/{user_id}", f"/webhook/talkme/session/{anna.client_id}"
    )
    assert forgotten.json() == {"success": True, "deleted": anna.client_id}
    everyone = await call("delete", "/webhook/talkme/sessions")
    assert everyone.json()["success"] is True
    emptied = (await call("delete", "/files")).json()
    assert emptied["deleted"] == len(listing["files"])

    answered = {(method, path) for method, path, _ in contract.checked}
    assert answered == {(method, path) for method, path, _ in operations(contract.document)}


async def console_routes(call: Any, bot_messages: list[int]) -> None:
    """The owner's console: answers marked wrong become groups, which are answered, linked and
    dismissed; the owner's answers and taught phrasings are listed, changed and exported."""
    for message_id in bot_messages:
        marked = await call(
            "post", "/admin/questions/wrong-answers", json={"message_id": message_id}
        )
        assert marked.status_code == 201
    again = await call(
        "post", "/admin/questions/wrong-answers", json={"message_id": bot_messages[0]}
    )
    assert again.status_code == 409
    groups = (await call("get", "/admin/questions")).json()["groups"]
    assert len(groups) >= 2, "two different questions were marked wrong"
    first, second = groups[0]["id"], groups[1]["id"]

    answer_path = "/admin/questions/{group_id}/answer"
    answered = await call(
        "post", answer_path, f"/admin/questions/{first}/answer", json={"answer": "Ответ."}
    )
    assert answered.status_code == 201
    hits = (await call("get", "/admin/knowledge/search", params={"q": "маникюр", "k": 1})).json()[
        "hits"
    ]
    link_path = "/admin/questions/{group_id}/link"
    linked = await call(
        "post",
        link_path,
        f"/admin/questions/{second}/link",
        json={"record_id": hits[0]["record_id"]},
    )
    assert linked.json()["record_id"] == hits[0]["record_id"]
    dismiss_path = "/admin/questions/{group_id}/dismiss"
    gone = await call("post", dismiss_path, f"/admin/questions/{second}/dismiss")
    assert gone.status_code == 404, "a linked group is no longer open"

    faq_path = "/admin/owner-faq/{faq_id}"
    created = (
        await call("post", "/admin/owner-faq", json={"question": "Вопрос?", "answer": "Да."})
    ).json()
    listed = (await call("get", "/admin/owner-faq")).json()["answers"]
    assert {entry["id"] for entry in listed} >= {created["id"]}
    edited = await call(
        "put",
        faq_path,
        f"/admin/owner-faq/{created['id']}",
        json={"question": "В?", "answer": "Нет."},
    )
    assert edited.json()["answer"] == "Нет."
    exported = await call("get", XLSX[1])
    assert exported.content.startswith(b"PK")
    deleted = await call("delete", faq_path, f"/admin/owner-faq/{created['id']}")
    assert deleted.json() == {"deleted": created["id"]}

    phrasings = (await call("get", "/admin/knowledge/phrasings")).json()["phrasings"]
    forget_path = "/admin/knowledge/phrasings/{phrasing_id}"
    forgotten = await call(
        "delete", forget_path, f"/admin/knowledge/phrasings/{phrasings[0]['id']}"
    )
    assert forgotten.json() == {"deleted": phrasings[0]["id"]}
