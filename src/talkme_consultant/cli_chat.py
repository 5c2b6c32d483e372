"""`talkme-consultant chat`: the dialog engine in a terminal, remembering the session."""

from __future__ import annotations

import asyncio

from rich.console import Console

from talkme_consultant.dialog.local import LocalDialogue
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.service.runtime import Runtime

_EXIT_WORDS = {"/exit", "/quit", "exit", "quit"}
# What the person at the terminal wants to see beside the replies.
_SHOWN_EVENTS = {EventKind.HANDOFF, EventKind.GUARD, EventKind.LLM_OUTAGE, EventKind.LEAD}


async def chat_loop(runtime: Runtime, console: Console) -> None:
    """Read visitor lines until EOF or /exit and print the bot's replies and actions."""
    console.print(
        f"[bold]talkme-consultant[/bold] — {runtime.knowledge.record_count} records, "
        f"answerer: {runtime.answerer_name}. Type /exit to leave.\n"
    )
    dialogue = LocalDialogue(runtime.engine, "terminal")
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
        outcome = await dialogue.say(line)
        for reply in outcome.replies:
            console.print(f"[green]бот>[/green] {reply}")
        if outcome.finish_code:
            console.print(f"[dim](finish: {outcome.finish_code})[/dim]")
        for event in outcome.events:
            if event.kind in _SHOWN_EVENTS:
                console.print(f"[dim]({event.kind}: {event.data})[/dim]")
