"""A follow-up question over real HTTP: the topic of the first message is kept in the store, so a
restart of the service between the two messages changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.service import running_service, service_settings

REPLY_TIMEOUT = 20.0
FIRST = "Где филиал в Сокольниках?"
SECOND = "а до скольки он работает в воскресенье?"
SOKOLNIKI_SUNDAY = "Филиал в Сокольниках в воскресенье работает с 10:00 до 18:00."


async def sent_texts(sim: RunningSimulator, visitor: Visitor, count: int) -> list[str]:
    """Wait for `count` delivered replies to this visitor and return their texts."""
    await sim.state.wait_for_calls(
        count, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
    )
    calls = sim.state.calls_matching(token=visitor.token, delivered=True)
    return [c.text for c in calls if c.text is not None]


async def test_a_follow_up_after_a_restart_is_read_against_the_first_message(
    data_dir: Path, sim: RunningSimulator
) -> None:
    settings = service_settings(data_dir, sim)
    visitor = Visitor.new()
    async with running_service(settings) as service:
        await service.post_message(visitor, FIRST, 1)
        first = (await sent_texts(sim, visitor, 1))[0]
        assert "Верхняя Кленовая" in first

    async with running_service(settings) as restarted:
        await restarted.post_message(visitor, SECOND, 2)

        answer = (await sent_texts(sim, visitor, 2))[1]
        assert answer == SOKOLNIKI_SUNDAY
        transcript = await restarted.admin_get(f"/admin/conversations/{visitor.client_id}")
        metas = [json.loads(m["meta"]) for m in transcript["messages"] if m["role"] == "bot"]
        # Each reply keeps the dialogue's topic in the store: the branch spoken of.
        assert [meta["topic"]["branch"] for meta in metas] == ["sokolniki", "sokolniki"]
