"""What the bot asks TalkMe to do, as (method, body) pairs: the one place `customBot/*` bodies
are built, so the client, the outbox and the simulator agree on the wire shape."""

from __future__ import annotations

from typing import Any, NamedTuple

METHOD_SEND = "customBot/send"
METHOD_SIMULATE_TYPING = "customBot/simulateTyping"
METHOD_FINISH = "customBot/finish"


class BotCall(NamedTuple):
    """One custom-bot API call: the method path and its JSON body."""

    method: str
    body: dict[str, Any]


def send_call(text: str) -> BotCall:
    """Send ``text`` to the visitor."""
    return BotCall(METHOD_SEND, {"content": {"text": text}})


def typing_call(ttl: int) -> BotCall:
    """Show the visitor "typing…" for ``ttl`` seconds."""
    return BotCall(METHOD_SIMULATE_TYPING, {"ttl": ttl})


def finish_call(code: str) -> BotCall:
    """End the bot's part of the dialogue with a finish ``code`` the TalkMe scenario maps to an
    action (hand over to an operator, lead form…)."""
    return BotCall(METHOD_FINISH, {"code": code})
