"""A clarifying question over real HTTP: the choice arrives in the next webhook, even after a
restart of the service on the same data."""

from __future__ import annotations

from pathlib import Path

from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.eventually import eventually
from tests.support.service import RunningService, running_service, service_settings

REPLY_TIMEOUT = 20.0
AMBIGUOUS = "а сколько коррекция стоит"


async def sent_texts(sim: RunningSimulator, visitor: Visitor, count: int) -> list[str]:
    """Wait for `count` delivered replies to this visitor and return their texts."""
    await sim.state.wait_for_calls(
        count, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
    )
    calls = sim.state.calls_matching(token=visitor.token, delivered=True)
    return [c.text for c in calls if c.text is not None]


def option_line(question: str, number: int) -> str:
    """The title offered as option `number` in a clarifying question."""
    prefix = f"{number}) "
    return next(line for line in question.splitlines() if line.startswith(prefix))[len(prefix) :]


async def clarify_counted(service: RunningService) -> bool:
    stats = await service.admin_get("/webhook/talkme/stats")
    return bool(stats["events"].get("clarify"))


async def test_the_visitor_answers_a_clarifying_question_with_a_number_in_the_next_message(
    data_dir: Path, sim: RunningSimulator
) -> None:
    async with running_service(service_settings(data_dir, sim)) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, AMBIGUOUS, 1)
        question = (await sent_texts(sim, visitor, 1))[0]
        assert question.startswith("Уточните, пожалуйста, что вас интересует:\n1) ")
        await eventually(lambda: clarify_counted(service), what="the clarification in stats")

        await service.post_message(visitor, "2", 2)

        answer = (await sent_texts(sim, visitor, 2))[1]
        assert answer.startswith(f"{option_line(question, 2)} — ")
        assert "₽" in answer
        calls = sim.state.calls_matching(token=visitor.token)
        assert all(c.code is None for c in calls), "neither turn hands the visitor over"


async def test_a_choice_made_after_a_restart_is_still_understood(
    data_dir: Path, sim: RunningSimulator
) -> None:
    settings = service_settings(data_dir, sim)
    visitor = Visitor.new()
    async with running_service(settings) as service:
        await service.post_message(visitor, AMBIGUOUS, 1)
        question = (await sent_texts(sim, visitor, 1))[0]

    async with running_service(settings) as restarted:
        await restarted.post_message(visitor, "первое", 2)

        answer = (await sent_texts(sim, visitor, 2))[1]
        assert answer.startswith(f"{option_line(question, 1)} — ")
        transcript = await restarted.admin_get(f"/admin/conversations/{visitor.client_id}")
        roles = [m["role"] for m in transcript["messages"]]
        assert roles == ["visitor", "bot", "visitor", "bot"]
