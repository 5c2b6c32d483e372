"""A new price list that disagrees with an old one, over real HTTP: the newest price is the one
a visitor gets through TalkMe, and the owner sees the disagreement on the knowledge page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from talkme_consultant.talkme.simulator import RunningSimulator, running_simulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.console_client import csrf_of, signed_in_client
from tests.support.eventually import eventually
from tests.support.service import ADMIN_TOKEN, RunningService, running_service, service_settings

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEADLINE = 30.0
QUESTION = "Сколько стоит камуфляж седины для мужчин?"
# The sample's prices.xlsx says 1800 for this service.
NEW_PRICES = "Услуга;Цена, руб.\nКамуфляж седины для мужчин;1500\n".encode()


async def served(service: RunningService, version: int) -> dict[str, Any]:
    async def current() -> dict[str, Any] | None:
        now: dict[str, Any] = await service.admin_get("/knowledge-base/status")
        return now if now["version"] >= version and not now["rebuilding"] else None

    return await eventually(current, timeout=DEADLINE, what=f"version {version} to be served")


async def test_a_newer_price_list_is_the_one_the_bot_answers_with(data_dir: Path) -> None:
    async with (
        running_simulator() as sim,
        running_service(service_settings(data_dir, sim)) as service,
    ):
        upload = await service.http.post(
            service.url + "/files/upload",
            files=[("files", ("прайс-2026.csv", NEW_PRICES, "text/csv"))],
            headers=ADMIN,
        )
        assert upload.status_code == 200, upload.text
        status = await served(service, upload.json()["version"])
        [conflict] = status["conflicts"]
        assert conflict["subject"] == "Камуфляж седины для мужчин"
        assert conflict["differ"] == ["price"]
        assert (conflict["used"]["file"], conflict["used"]["value"]) == (
            "прайс-2026.csv",
            "1 500 ₽",
        )
        assert [(side["file"], side["value"]) for side in conflict["older"]] == [
            ("prices.xlsx", "1 800 ₽")
        ]

        visitor = Visitor.new()
        await service.post_message(visitor, QUESTION, 1)
        [reply] = await sim.state.wait_for_calls(
            1, method="send", token=visitor.token, delivered=True, timeout=DEADLINE
        )
        assert reply.text is not None
        assert "1 500 ₽" in reply.text
        assert "1 800" not in reply.text

        # Reading every file again changes none of them: the newest stays the newest.
        regenerate = await service.http.post(
            service.url + "/knowledge-base/regenerate", headers=ADMIN
        )
        assert regenerate.status_code == 202
        stored = (await service.admin_get("/knowledge-base/status"))["stored_version"]
        [again] = (await served(service, stored + 1))["conflicts"]
        assert again["used"]["file"] == "прайс-2026.csv"
        assert again["used"]["updated_at"] == conflict["used"]["updated_at"]

        async with signed_in_client(service) as console:
            page = (await console.get("/console/knowledge")).text
        [item] = re.findall(r'data-testid="kb-conflict".*?</li>', page, flags=re.S)
        assert "Камуфляж седины для мужчин" in item
        assert "прайс-2026.csv" in item and "prices.xlsx" in item
        assert "1 500 ₽" in item and "1 800 ₽" in item


REMOVAL = "Можно ли снять у вас покрытие, сделанное в другом салоне?"  # faq.csv: 400 ₽


async def replied(service: RunningService, sim: RunningSimulator, text: str) -> str:
    """What a new visitor asking `text` through TalkMe is told."""
    visitor = Visitor.new()
    await service.post_message(visitor, text, 1)
    [reply] = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=DEADLINE
    )
    assert reply.text is not None
    return reply.text


async def test_an_owners_answer_and_a_file_take_turns_as_the_newest(data_dir: Path) -> None:
    async with (
        running_simulator() as sim,
        running_service(service_settings(data_dir, sim)) as service,
    ):
        added = await service.http.post(
            service.url + "/admin/owner-faq",
            json={"question": REMOVAL, "answer": "Да, снятие стоит 500 ₽, минут 15."},
            headers=ADMIN,
        )
        assert added.status_code == 201, added.text
        stored = (await service.admin_get("/knowledge-base/status"))["stored_version"]
        [conflict] = (await served(service, stored))["conflicts"]
        assert conflict["used"]["file"] == "owner-faq"
        assert [side["value"] for side in conflict["older"]] == ["400 ₽"]
        assert "500 ₽" in await replied(service, sim, REMOVAL)

        upload = await service.http.post(
            service.url + "/files/upload",
            files=[("files", ("faq-2026.csv", f'Вопрос,Ответ\n"{REMOVAL}",Да: 600 ₽.\n'))],
            headers=ADMIN,
        )
        assert upload.status_code == 200, upload.text
        [conflict] = (await served(service, upload.json()["version"]))["conflicts"]
        assert conflict["used"]["file"] == "faq-2026.csv"
        assert {side["file"] for side in conflict["older"]} == {"owner-faq", "faq.csv"}
        assert "600 ₽" in await replied(service, sim, REMOVAL)

        async with signed_in_client(service) as console:
            page = (await console.get("/console/knowledge")).text
            [listed] = re.findall(r'data-testid="kb-conflicts".*?</section>', page, flags=re.S)
            [action] = re.findall(r'action="(/console/knowledge/owner-faq/\d+/delete)"', listed)
            assert "Удалить ваш ответ" in listed
            deleted = await console.post(action, data={"csrf": csrf_of(page)})
            assert deleted.status_code == 303
        stored = (await service.admin_get("/knowledge-base/status"))["stored_version"]
        [conflict] = (await served(service, stored))["conflicts"]
        assert [side["file"] for side in conflict["older"]] == ["faq.csv"]
        assert (await service.admin_get("/admin/owner-faq"))["answers"] == []
