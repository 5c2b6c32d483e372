"""A visitor's personal data stays private: owner-only files, a real "forget", bounded lists.

The service runs over real HTTP with the simulator as TalkMe and the scripted model server; what
is left after "forget this session" is read from the database file itself, every table.
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from talkme_consultant.store.forgotten_words import PLACEHOLDER_QUESTION
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
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
DATABASE = "talkme.sqlite3"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def llm(llm: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    """The scripted model, answering with `booking_model`."""
    llm.handler = booking_model
    return llm


@pytest.fixture
async def service(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> AsyncIterator[RunningService]:
    settings = service_settings(
        data_dir,
        sim,
        **model_settings(
            llm.base_url,
            llm_max_retries=0,
        ),
    )
    async with running_service(settings) as running:
        yield running


def rows_holding(database: Path, needles: list[str]) -> list[tuple[str, str]]:
    """(table, needle) for every row of every table in the file that holds one of `needles`."""
    found = []
    with sqlite3.connect(database) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                cells = [
                    value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                    for value in row
                ]
                found += [(table, n) for n in needles for cell in cells if n in cell]
    return found


def personal_data(visitor: Visitor) -> list[str]:
    """Everything that identifies this visitor or repeats what they wrote."""
    return [
        visitor.client_id,
        visitor.token,
        visitor.login,
        "+79161234567",
        "916 123-45-67",
        "anna.petrova@example.ru",
        "хочу записаться на маникюр",
    ]


async def book(service: RunningService, sim: RunningSimulator, visitor: Visitor) -> None:
    """A whole conversation ending in a lead and a handoff."""
    await service.post_message(visitor, "Здравствуйте! Хочу записаться на маникюр", 1)
    await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=TIMEOUT)
    await service.post_message(
        visitor, "Я Анна, хочу записаться на маникюр: 8 916 123-45-67, anna.petrova@example.ru", 2
    )
    await sim.state.wait_for_calls(1, method="finish", token=visitor.token, timeout=TIMEOUT)

    async def lead_recorded() -> bool:
        leads = await service.admin_get("/admin/leads")
        return any(lead["conversation"] == visitor.client_id for lead in leads["leads"])

    await eventually(lead_recorded, what="the lead")


async def test_forgetting_a_session_after_a_whole_conversation_leaves_nothing_about_the_visitor(
    service: RunningService, sim: RunningSimulator, data_dir: Path
) -> None:
    anna = Visitor.new(name="Анна", phone="+7 916 123-45-67")
    other = Visitor.new(name="Пётр")
    await book(service, sim, anna)
    await service.post_message(other, "Здравствуйте! Хочу записаться на маникюр", 1)
    await sim.state.wait_for_calls(1, method="send", token=other.token, timeout=TIMEOUT)
    database = data_dir / DATABASE
    tables = {table for table, _ in rows_holding(database, [anna.client_id])}
    assert {"conversations", "inbound_messages", "dialog_messages", "outbox", "leads"} <= tables

    response = await service.http.delete(
        f"{service.url}/webhook/talkme/session/{anna.client_id}", headers=ADMIN
    )

    assert response.status_code == 200, response.text
    assert rows_holding(database, personal_data(anna)) == []
    assert rows_holding(database, [other.client_id, other.token]), "only Anna was forgotten"
    leads = await service.admin_get("/admin/leads")
    assert [x for x in leads["leads"] if x["conversation"] == anna.client_id] == []
    again = await service.http.delete(
        f"{service.url}/webhook/talkme/session/{anna.client_id}", headers=ADMIN
    )
    assert again.status_code == 404


async def test_forgetting_every_session_leaves_no_visitor_behind(
    service: RunningService, sim: RunningSimulator, data_dir: Path
) -> None:
    anna = Visitor.new(name="Анна", phone="+7 916 123-45-67")
    await book(service, sim, anna)

    response = await service.http.delete(f"{service.url}/webhook/talkme/sessions", headers=ADMIN)

    assert response.status_code == 200, response.text
    assert response.json()["deleted"] == 1
    assert rows_holding(data_dir / DATABASE, personal_data(anna)) == []
    stats = await service.admin_get("/webhook/talkme/stats")
    assert (stats["total_sessions"], stats["leads"], stats["messages_received"]) == (0, 0, 0)


TATTOO = "Делаете ли вы татуировки?"
TATTOO_AGAIN = "тату делаете?"
TATTOO_ANSWER = "Татуировки мы не делаем, но делаем перманентный макияж бровей и губ."


async def handed_over_asking(service: RunningService, sim: RunningSimulator, text: str) -> Visitor:
    """A new visitor asks what the bot does not know; returns them once the bot has replied."""
    visitor = Visitor.new()
    await service.post_message(visitor, text, 1)
    await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=TIMEOUT)
    return visitor


async def top_hit(service: RunningService, query: str) -> dict[str, Any]:
    """The served index's best record for `query`."""
    found = await service.admin_get("/admin/knowledge/search", params={"q": query, "k": 1})
    hit: dict[str, Any] = found["hits"][0]
    return hit


async def test_forgetting_visitors_takes_their_words_out_of_the_owners_lessons(
    data_dir: Path, sim: RunningSimulator
) -> None:
    async with running_service(service_settings(data_dir, sim)) as service:
        first = await handed_over_asking(service, sim, TATTOO)
        second = await handed_over_asking(service, sim, TATTOO_AGAIN)
        page = await service.admin_get("/admin/questions")
        [group] = page["groups"]
        answered = await service.http.post(
            f"{service.url}/admin/questions/{group['id']}/answer",
            json={"answer": TATTOO_ANSWER},
            headers=ADMIN,
        )
        assert answered.status_code == 201, answered.text

        async def question_served(question: str) -> bool:
            hit = await top_hit(service, TATTOO)
            return (hit["file"], hit["title"]) == ("owner-faq", question)

        await eventually(lambda: question_served(TATTOO), what="the owner's answer served")
        phrasings = await service.admin_get("/admin/knowledge/phrasings")
        assert [p["text"] for p in phrasings["phrasings"]] == [TATTOO_AGAIN]
        database = data_dir / DATABASE

        forgotten = await service.http.delete(
            f"{service.url}/webhook/talkme/session/{first.client_id}", headers=ADMIN
        )

        assert forgotten.status_code == 200, forgotten.text
        assert rows_holding(database, [TATTOO]) == []
        listed = await service.admin_get("/admin/owner-faq")
        assert [(a["question"], a["answer"]) for a in listed["answers"]] == [
            (TATTOO_AGAIN, TATTOO_ANSWER)
        ], "the other visitor's wording is the question now"
        assert (await service.admin_get("/admin/knowledge/phrasings"))["phrasings"] == []
        await eventually(
            lambda: question_served(TATTOO_AGAIN), what="the index rebuilt without the words"
        )

        forgotten = await service.http.delete(
            f"{service.url}/webhook/talkme/session/{second.client_id}", headers=ADMIN
        )

        assert forgotten.status_code == 200, forgotten.text
        assert rows_holding(database, [TATTOO, TATTOO_AGAIN]) == []
        listed = await service.admin_get("/admin/owner-faq")
        assert [(a["question"], a["answer"]) for a in listed["answers"]] == [
            (PLACEHOLDER_QUESTION, TATTOO_ANSWER)
        ]
        await eventually(
            lambda: question_served(PLACEHOLDER_QUESTION), what="the answer still served"
        )
        answered_groups = await service.admin_get("/admin/questions", params={"status": "answered"})
        assert answered_groups["groups"] == [], "their questions went with them"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    """The permission bits of every file in `folder`, by name."""
    return {path.name: mode(path) for path in folder.iterdir()}


def open_to_everyone(folder: Path) -> None:
    """What an installation made before DATA_DIR was private looks like."""
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


async def test_the_data_dir_and_every_database_file_are_readable_by_the_owner_only(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    open_to_everyone(data_dir)
    settings = service_settings(data_dir, sim, admin_token=None)

    async with running_service(settings) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, "Здравствуйте!", 1)
        await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=TIMEOUT)
        files = modes(data_dir)

    assert mode(data_dir) == 0o700
    secrets = {"admin_token", "console_key"}
    assert {DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", *secrets} <= set(files)
    assert files == dict.fromkeys(files, 0o600)


async def test_a_fresh_data_dir_is_created_owner_only(
    tmp_path: Path, sim: RunningSimulator
) -> None:
    fresh = tmp_path / "new" / "data"
    settings = service_settings(fresh, sim, embedder="none")
    async with running_service(settings):
        files = modes(fresh)
    assert mode(fresh) == 0o700
    assert DATABASE in files
    assert files == dict.fromkeys(files, 0o600)


LIST_ROUTES = ["/admin/calls", "/admin/events", "/admin/leads", "/admin/operator-answers"]
BAD_LIMITS = ["-1", "0", "abc", "1.5", str(10**9), ""]


async def test_every_list_endpoint_refuses_a_limit_outside_one_to_a_thousand(
    service: RunningService,
) -> None:
    for route in LIST_ROUTES:
        for value in BAD_LIMITS:
            response = await service.http.get(
                service.url + route, params={"limit": value}, headers=ADMIN
            )
            assert response.status_code == 422, (route, value, response.text)
            body = response.json()
            assert body["success"] is False
            assert "limit" in body["error"], (route, value, body)
        for value, rows in (("1", 1), ("1000", 1000)):
            response = await service.http.get(
                service.url + route, params={"limit": value}, headers=ADMIN
            )
            assert response.status_code == 200, (route, value, response.text)
            assert len(next(iter(response.json().values()))) <= rows


async def test_an_unknown_call_status_is_refused_by_name(service: RunningService) -> None:
    response = await service.http.get(
        service.url + "/admin/calls", params={"status": "everything"}, headers=ADMIN
    )
    assert response.status_code == 422
    assert "status" in response.json()["error"]
    recorded = await service.http.get(
        service.url + "/admin/calls", params={"status": "sent"}, headers=ADMIN
    )
    assert recorded.status_code == 200
