"""What a turn writes and reads: its outcome as the store keeps it (cleaned, with the meta the
transcript shows and the TalkMe calls that send it), the account API's part, and the
remembered dialogue as the engine reads it; and where an error was raised, for a log line that
must not quote it."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator, Mapping
from typing import Any

from talkme_consultant.answer.base import HistoryMessage
from talkme_consultant.dialog.memory import MemoryMessage
from talkme_consultant.helpers.kinds import EventKind, HandoffReason, MessageRole
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.service.client_card import card_update
from talkme_consultant.store.conversations import RememberedMessage
from talkme_consultant.store.models import Conversation
from talkme_consultant.store.turn_writes import PlannedCall, TurnResult
from talkme_consultant.talkme.calls import finish_call, send_call

# Stored messages of any other role are not the dialogue's.
_HISTORY_ROLES: set[str] = set(MessageRole)

# Handoffs whose question an operator's answer is worth keeping for: the bot did not know, or
# could not finish. A request for a person or a booking carries no question of its own.
QUESTION_HANDOFFS: set[str] = {
    HandoffReason.LOW_CONFIDENCE,
    HandoffReason.NOT_IN_KNOWLEDGE,
    HandoffReason.UNCLEAR_CHOICE,
    HandoffReason.BUDGET,
    HandoffReason.TURN_FAILED,
}


def to_result(outcome: TurnOutcome, consumed: list[int]) -> TurnResult:
    """What the turn writes: its outcome with every text cleaned (models emit NUL and lone
    surrogates at times, and one such character would make the commit fail on every attempt),
    the meta the transcript shows, and the TalkMe calls that send it."""
    cleaned = outcome.cleaned()
    cleaned.meta = _with_outcome(cleaned)
    calls = [PlannedCall(*send_call(text)) for text in cleaned.replies]
    if cleaned.finish_code:
        calls.append(PlannedCall(*finish_call(cleaned.finish_code)))
    return TurnResult(consumed_ids=consumed, outcome=cleaned, calls=calls)


def add_account_effects(
    result: TurnResult, conversation: Conversation, outcome: TurnOutcome
) -> None:
    """The account API's part of a turn: the visitor's card, and the question to harvest."""
    card = card_update(conversation, outcome)
    if card is not None:
        result.calls.append(card)
    reasons = {str(data.get("reason")) for data in outcome.events_of(EventKind.HANDOFF)}
    visitor_text = result.outcome.visitor_text
    if outcome.handed_off and reasons & QUESTION_HANDOFFS and visitor_text.strip():
        result.handed_over_question = visitor_text


def _with_outcome(outcome: TurnOutcome) -> dict[str, Any]:
    """The reply's meta plus what the owner's transcript shows beside it: the finish code, the
    handoff reason and the grounding guard's findings of this turn."""
    meta = dict(outcome.meta)
    meta["finish_code"] = outcome.finish_code
    for event in outcome.events:
        if event.kind == EventKind.HANDOFF:
            meta["handoff_reason"] = event.data.get("reason")
        elif event.kind == EventKind.GUARD:
            meta.setdefault("guard", []).append(event.data)
    return meta


def memory_of(history: list[RememberedMessage]) -> list[MemoryMessage]:
    """The remembered dialogue as the engine reads it, a bot message with its meta."""
    return [
        MemoryMessage(
            m.id,
            HistoryMessage.model_validate({"role": m.role, "text": m.text}),
            _StoredMeta(m.meta) if m.role == MessageRole.BOT and m.meta else None,
        )
        for m in history
        if m.role in _HISTORY_ROLES
    ]


class _StoredMeta(Mapping[str, Any]):
    """A remembered bot message's meta, read from its JSON only when the engine looks at it:
    the engine mostly reads the last bot message's, and decoding all of a dialogue's (up to
    `memory_messages`) on every turn was a few percent of an answer's CPU. Unreadable meta
    reads as empty, which the engine takes as none."""

    __slots__ = ("_raw", "_value")

    def __init__(self, raw: str) -> None:
        self._raw = raw
        self._value: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._value is None:
            self._value = _stored_meta(self._raw) or {}
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def _stored_meta(raw: str | None) -> dict[str, Any] | None:
    """A remembered bot message's meta (JSON); None when absent or unreadable."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def where(error: BaseException) -> str:
    """Where the error was raised (file:line in function), for the log without its message:
    database errors quote the statement's parameters, which hold visitors' words and tokens."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"
