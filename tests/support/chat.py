"""A visitor's side of a chat over real HTTP: send a message through the service's webhook and
read the bot's replies as TalkMe's stand-in received them."""

from __future__ import annotations

from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.service import RunningService

REPLY_TIMEOUT = 30.0


async def replies(sim: RunningSimulator, visitor: Visitor, count: int) -> list[str]:
    """Wait for `count` delivered replies to this visitor and return their texts."""
    await sim.state.wait_for_calls(
        count, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
    )
    calls = sim.state.calls_matching(method="send", token=visitor.token, delivered=True)
    return [c.text for c in calls if c.text is not None]


async def say(
    service: RunningService, sim: RunningSimulator, visitor: Visitor, text: str, number: int
) -> str:
    """Send the visitor's `number`-th message and return the bot's reply to it."""
    await service.post_message(visitor, text, number)
    return (await replies(sim, visitor, number))[-1]
