"""Where one process acknowledges webhooks and runs turns, a burst of webhooks holds turns back to
one at a time; at an ordinary pace turns run side by side, and no turn ever waits for nothing."""

from __future__ import annotations

import asyncio

from talkme_consultant.service.webhooks_first import WebhooksFirst
from tests.support.eventually import eventually


class Turns:
    """Turns that enter through the gate, note it, and run until released."""

    def __init__(self, first: WebhooksFirst) -> None:
        self.first = first
        self.log: list[str] = []
        self.running: set[str] = set()
        self._release: dict[str, asyncio.Event] = {}

    def start(self, name: str) -> asyncio.Task[None]:
        self._release[name] = asyncio.Event()
        return asyncio.create_task(self._turn(name))

    def finish(self, name: str) -> None:
        self._release[name].set()

    async def _turn(self, name: str) -> None:
        async with self.first.turn():
            self.log.append(f"{name} in")
            self.running.add(name)
            await self._release[name].wait()
            self.running.discard(name)
            self.log.append(f"{name} out")


async def _let_the_loop_run() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_without_webhooks_turns_run_side_by_side() -> None:
    turns = Turns(WebhooksFirst())
    tasks = [turns.start(name) for name in ("a", "b", "c")]
    await eventually(lambda: _true(len(turns.running) == 3), what="three turns running")
    for name in ("a", "b", "c"):
        turns.finish(name)
    await asyncio.gather(*tasks)


async def test_while_a_webhook_is_stored_the_next_turn_waits_for_the_running_one() -> None:
    first = WebhooksFirst()
    turns = Turns(first)
    with first.storing():
        a = turns.start("a")
        await eventually(lambda: _true("a" in turns.running), what="the first turn running")
        b = turns.start("b")
        await _let_the_loop_run()
        assert turns.running == {"a"}
        turns.finish("a")
        await eventually(lambda: _true("b" in turns.running), what="the second turn running")
        turns.finish("b")
        await asyncio.gather(a, b)
    assert turns.log == ["a in", "a out", "b in", "b out"]


async def test_a_turn_that_just_ended_does_not_let_its_next_overtake_those_in_line() -> None:
    first = WebhooksFirst()
    turns = Turns(first)
    with first.storing():
        a = turns.start("a")
        await eventually(lambda: _true("a" in turns.running), what="the first turn running")
        b = turns.start("b")
        await _let_the_loop_run()
        turns.finish("a")
        await a
        c = turns.start("c")  # the same worker's next turn, at once
        await eventually(lambda: _true("b" in turns.running), what="the waiting turn running")
        await _let_the_loop_run()
        turns.finish("b")
        await eventually(lambda: _true("c" in turns.running), what="the newest turn running")
        turns.finish("c")
        await asyncio.gather(b, c)
    assert turns.log == ["a in", "a out", "b in", "b out", "c in", "c out"]


async def test_a_turn_alone_starts_even_while_webhooks_keep_coming() -> None:
    first = WebhooksFirst()
    turns = Turns(first)
    with first.storing():
        a = turns.start("a")
        await eventually(lambda: _true("a" in turns.running), what="the lone turn running")
        turns.finish("a")
        await a


async def test_once_webhooks_pause_waiting_turns_start_beside_the_running_one() -> None:
    first = WebhooksFirst()
    turns = Turns(first)
    with first.storing():
        a = turns.start("a")
        await eventually(lambda: _true("a" in turns.running), what="the first turn running")
        b = turns.start("b")
        await _let_the_loop_run()
    # The last webhook is stored; after a short pause "b" goes while "a" still runs.
    await eventually(lambda: _true(turns.running == {"a", "b"}), what="both turns running")
    turns.finish("a")
    turns.finish("b")
    await asyncio.gather(a, b)


async def test_a_cancelled_waiting_turn_leaves_the_others_unharmed() -> None:
    first = WebhooksFirst()
    turns = Turns(first)
    with first.storing():
        a = turns.start("a")
        await eventually(lambda: _true("a" in turns.running), what="the first turn running")
        b = turns.start("b")
        c = turns.start("c")
        await _let_the_loop_run()
        b.cancel()
        turns.finish("a")
        await eventually(lambda: _true("c" in turns.running), what="the third turn running")
        turns.finish("c")
        await asyncio.gather(a, c)
    assert b.cancelled()
    assert "b in" not in turns.log


async def _true(value: bool) -> bool:
    return value
