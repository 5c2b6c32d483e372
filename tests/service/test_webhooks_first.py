"""Where one process acknowledges webhooks and runs turns, a burst of webhooks holds turns back to
`BURST_TURNS` at a time (two: "a" and "b" below), first come first served; at an ordinary pace
turns run side by side, and no turn ever waits for nothing. Most specs count a single webhook
being stored as a burst (`burst_webhooks=1`), so that they can hold one open."""

from __future__ import annotations

import asyncio
import contextlib

from talkme_consultant.service.webhooks_first import BURST_TURNS, BURST_WEBHOOKS, WebhooksFirst
from tests.support.eventually import eventually


class Turns:
    """Turns that enter through the gate, note it, and run until released."""

    def __init__(self, first: WebhooksFirst) -> None:
        self.first = first
        self.log: list[str] = []
        self.running: set[str] = set()
        self._release: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str) -> asyncio.Task[None]:
        self._release[name] = asyncio.Event()
        self._tasks[name] = asyncio.create_task(self._turn(name))
        return self._tasks[name]

    def finish(self, name: str) -> None:
        self._release[name].set()

    async def until_running(self, name: str) -> None:
        await eventually(lambda: _true(name in self.running), what=f"turn {name!r} running")

    async def done(self, name: str) -> None:
        await self._tasks[name]

    async def all_done(self) -> None:
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _turn(self, name: str) -> None:
        async with self.first.turn():
            self.log.append(f"{name} in")
            self.running.add(name)
            await self._release[name].wait()
            self.running.discard(name)
            self.log.append(f"{name} out")


async def _two_running(turns: Turns) -> None:
    """Start "a" and "b" and wait until both run: as many as a burst lets run."""
    assert BURST_TURNS == 2, "the specs start this many turns before the one that must wait"
    turns.start("a")
    turns.start("b")
    await eventually(lambda: _true(turns.running == {"a", "b"}), what="two turns running")


async def _c_in_line(turns: Turns) -> None:
    """ "a" and "b" running, "c" started after them."""
    await _two_running(turns)
    turns.start("c")
    await _let_the_loop_run()


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


async def test_a_webhook_now_and_then_holds_no_turn_back_but_a_burst_does() -> None:
    first = WebhooksFirst()
    turns = Turns(first)
    with first.storing():
        for name in ("a", "b", "c"):
            turns.start(name)
        await eventually(lambda: _true(len(turns.running) == 3), what="three turns running")
    with contextlib.ExitStack() as burst:
        for _ in range(BURST_WEBHOOKS):
            burst.enter_context(first.storing())
        turns.start("d")
        await _let_the_loop_run()
        assert "d" not in turns.running, "a burst lets no turn start beside the three running"
    for name in ("a", "b", "c", "d"):
        turns.finish(name)
    await turns.all_done()


async def test_while_a_webhook_is_stored_the_next_turn_waits_for_a_running_one() -> None:
    first = WebhooksFirst(burst_webhooks=1)
    turns = Turns(first)
    with first.storing():
        await _c_in_line(turns)
        assert turns.running == {"a", "b"}
        turns.finish("a")
        await turns.until_running("c")
        turns.finish("b")
        turns.finish("c")
        await turns.all_done()
    assert turns.log.index("c in") > turns.log.index("a out")


async def test_a_turn_that_just_ended_does_not_let_its_next_overtake_those_in_line() -> None:
    first = WebhooksFirst(burst_webhooks=1)
    turns = Turns(first)
    with first.storing():
        await _c_in_line(turns)
        turns.finish("a")
        await turns.done("a")
        turns.start("d")  # the same worker's next turn, at once
        await turns.until_running("c")
        await _let_the_loop_run()
        assert "d" not in turns.running
        turns.finish("b")
        await turns.until_running("d")
        turns.finish("c")
        turns.finish("d")
        await turns.all_done()
    assert turns.log.index("d in") > turns.log.index("c in")


async def test_a_turn_alone_starts_even_while_webhooks_keep_coming() -> None:
    first = WebhooksFirst(burst_webhooks=1)
    turns = Turns(first)
    with first.storing():
        a = turns.start("a")
        await turns.until_running("a")
        turns.finish("a")
        await a


async def test_once_webhooks_pause_waiting_turns_start_beside_the_running_ones() -> None:
    first = WebhooksFirst(burst_webhooks=1)
    turns = Turns(first)
    with first.storing():
        await _c_in_line(turns)
    # The last webhook is stored; after a short pause "c" goes while "a" and "b" still run.
    await eventually(lambda: _true(turns.running == {"a", "b", "c"}), what="all turns running")
    for name in ("a", "b", "c"):
        turns.finish(name)
    await turns.all_done()


async def test_a_cancelled_waiting_turn_leaves_the_others_unharmed() -> None:
    first = WebhooksFirst(burst_webhooks=1)
    turns = Turns(first)
    with first.storing():
        await _two_running(turns)
        cancelled = turns.start("c")
        turns.start("d")
        await _let_the_loop_run()
        cancelled.cancel()
        turns.finish("a")
        await turns.until_running("d")
        for name in ("b", "d"):
            turns.finish(name)
        await eventually(lambda: _true(cancelled.done()), what="the cancelled turn ended")
        await turns.all_done()
    assert cancelled.cancelled()
    assert "c in" not in turns.log


async def test_a_turn_cancelled_just_as_it_was_let_in_passes_its_place_on() -> None:
    first = WebhooksFirst(burst_webhooks=1)
    turns = Turns(first)
    with first.storing():
        await _two_running(turns)
        handed = turns.start("c")
        turns.start("d")
        await _let_the_loop_run()
        turns.finish("a")
        await turns.done("a")  # "a" let "c" in; "c" has not run yet
        handed.cancel()
        await turns.until_running("d")
        assert turns.running == {"b", "d"}
        turns.finish("b")
        turns.start("e")
        await turns.until_running("e")
        for name in ("d", "e"):
            turns.finish(name)
        await turns.all_done()
    assert handed.cancelled()
    assert "c in" not in turns.log


async def _true(value: bool) -> bool:
    return value
