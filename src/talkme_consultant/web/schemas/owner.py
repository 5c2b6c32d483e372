"""The answers of the owner's views: TalkMe calls, events, leads, operators' answers and a
conversation's remembered dialogue."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from talkme_consultant.helpers.kinds import CallStatus, ConversationState, EventKind, MessageRole
from talkme_consultant.web.schemas.shared import Answer, Listed, Seconds, known

__all__ = [
    "CallEntry",
    "CallList",
    "ConversationView",
    "EventEntry",
    "EventList",
    "LeadEntry",
    "LeadList",
    "OperatorAnswerEntry",
    "OperatorAnswerList",
    "RememberedMessage",
]


class CallEntry(Answer):
    """One TalkMe call of the outbox (its token is never shown)."""

    id: int
    conversation: str
    method: str = Field(description="customBot/send, customBot/simulateTyping or customBot/finish.")
    body: dict[str, Any] = Field(description="The JSON body sent to TalkMe.")
    status: Listed[CallStatus]
    attempts: int
    last_error: str | None
    created_at: Seconds
    done_at: Seconds | None


class CallList(Answer):
    """Outbox calls, newest first."""

    calls: list[CallEntry]


class EventEntry(Answer):
    """Something the owner should see later."""

    id: int
    conversation_key: str | None
    kind: str = Field(description=f"{known(EventKind)}, …")
    data: dict[str, Any] = Field(description="Details; their fields depend on the kind.")
    created_at: Seconds


class EventList(Answer):
    """Recorded events, newest first."""

    events: list[EventEntry]


class LeadEntry(Answer):
    """A visitor who wants to book and left a phone number."""

    id: int
    conversation: str
    name: str | None
    phone: str = Field(description="In full: the operator calls it back.")
    phone_masked: str
    interest: str | None
    summary: str | None = Field(description="The dialogue in short, for the operator.")
    created_at: Seconds


class LeadList(Answer):
    """Leads, newest first."""

    leads: list[LeadEntry]


class OperatorAnswerEntry(Answer):
    """What an operator answered to a question the bot handed over (read from TalkMe)."""

    id: int
    conversation: str
    question: str = Field(description="The visitor's words the bot handed over.")
    answer: str = Field(description="The operator's reply, as sent in the chat.")
    operator_at: Seconds = Field(description="When the operator replied.")
    harvested_at: Seconds = Field(description="When the service read the reply.")


class OperatorAnswerList(Answer):
    """Operator answers, newest first."""

    answers: list[OperatorAnswerEntry]


class RememberedMessage(Answer):
    """One message of the dialogue as the bot remembers it."""

    id: int = Field(description="The message's id (a bot reply's id marks it wrong).")
    role: Listed[MessageRole]
    text: str
    at: Seconds
    meta: str | None = Field(description="JSON text: how a bot reply was decided; null otherwise.")


class ConversationView(Answer):
    """One conversation's state, summary and remembered dialogue (at most 500 messages)."""

    user_id: str
    state: Listed[ConversationState]
    client_name: str | None
    visitor_name: str | None = Field(description="The name the visitor gave in the dialogue.")
    phone_number: str | None = Field(description="Masked.")
    summary: str | None
    messages: list[RememberedMessage]
