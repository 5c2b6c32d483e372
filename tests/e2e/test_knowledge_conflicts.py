"""A new price list that disagrees with an old one, over real HTTP: the newest price is the one
a visitor gets through TalkMe, and the owner sees the disagreement on the knowledge page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from talkme_consultant.talkme.simulator import running_simulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.console_client import signed_in_client
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

        async with signed_in_client(service) as console:
            page = (await console.get("/console/knowledge")).text
        [item] = re.findall(r'data-testid="kb-conflict".*?</li>', page, flags=re.S)
        assert "Камуфляж седины для мужчин" in item
        assert "прайс-2026.csv" in item and "prices.xlsx" in item
        assert "1 500 ₽" in item and "1 800 ₽" in item
