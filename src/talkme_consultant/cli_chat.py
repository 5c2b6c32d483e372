"""`talkme-consultant chat`: the dialog engine in a terminal, remembering the session."""

from __future__ import annotations

import asyncio
import itertools

from rich.console import Console

from talkme_consultant.answer.base import HistoryMessage
from talkme_consultant.dialog.engine import MemoryMessage, TurnInput
from talkme_consultant.service.runtime import Runtime

_EXIT_WORDS = {"/exit", "/quit", "exit", "quit"}


async def chat_loop(runtime: Runtime, console: Console) -> None:
    """Read visitor lines until EOF or /exit and print the bot's replies and actions."""
    console.print(
        f"[bold]talkme-consultant[/bold] — {runtime.knowledge.record_count} records, "
        f"answerer: {runtime.components.primary.name}. Type /exit to leave.\n"
    )
    memory: list[MemoryMessage] = []
    ids = itertools.count(1)
    summary: str | None = None
    visitor_name: str | None = None
    phone: str | None = None
    while True:
        try:
            line = await asyncio.to_thread(console.input, "[cyan]вы>[/cyan] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if line.strip().lower() in _EXIT_WORDS:
            return
        if not line.strip():
            continue
        outcome = await runtime.engine.run_turn(
            TurnInput(
                conversation_key="terminal",
                texts=[line],
                attachments_only=False,
                memory=memory,
                summary=summary,
                visitor_name=visitor_name,
                phone=phone,
            )
        )
        for reply in outcome.replies:
            console.print(f"[green]бот>[/green] {reply}")
        if outcome.finish_code:
            console.print(f"[dim](finish: {outcome.finish_code})[/dim]")
        for kind, data in outcome.events:
            if kind in ("handoff", "guard", "llm_outage", "lead"):
                console.print(f"[dim]({kind}: {data})[/dim]")
        memory.append(MemoryMessage(next(ids), HistoryMessage(role="visitor", text=line)))
        if outcome.replies:
            text = "\n\n".join(outcome.replies)
            memory.append(
                MemoryMessage(next(ids), HistoryMessage(role="bot", text=text), outcome.meta)
            )
        if outcome.summary is not None and outcome.summarized_upto is not None:
            summary = outcome.summary
            memory = [m for m in memory if m.id > outcome.summarized_upto]
        visitor_name = outcome.visitor_name or visitor_name
        phone = outcome.phone or phone
