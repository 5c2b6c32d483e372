"""The closed sets the rooms share: who answers a conversation, where an outbox call stands, who
wrote a message, where a knowledge file came from, what kind of event was recorded and why a
visitor was handed to a person.

They are `StrEnum`s: a member is the very string stored in the database and sent in JSON, so
the store, the service, the dialog engine and the web answers name the same values without a
migration or an API change, and mypy sees a misspelt one. Reading code still takes whatever the
store holds: older rows, or rows of a newer version, may carry a value missing here.
"""

from __future__ import annotations

from enum import StrEnum


class ConversationState(StrEnum):
    """Who answers the visitor: the consultant, or a person until TalkMe gives it back."""

    BOT = "bot"
    OPERATOR = "operator"


class CallStatus(StrEnum):
    """An outbox call: waiting, delivered, recorded instead of sent (test mode), or given up on."""

    PENDING = "pending"
    SENT = "sent"
    RECORDED = "recorded"
    FAILED = "failed"


class MessageRole(StrEnum):
    """Who wrote a remembered message of the dialogue."""

    VISITOR = "visitor"
    BOT = "bot"
    OPERATOR = "operator"


class FileOrigin(StrEnum):
    """Where a stored knowledge file came from."""

    UPLOAD = "upload"  # the admin API or the console
    DIR = "dir"  # KNOWLEDGE_DIR, kept in step with the folder
    CLI = "cli"  # `talkme-consultant kb ingest`


class EventKind(StrEnum):
    """What an event records, for the owner's views and counts."""

    HANDOFF = "handoff"  # data: reason (a `HandoffReason`)
    UNANSWERED = "unanswered"  # the question the bot could not answer becomes an open question
    LEAD = "lead"
    GUARD = "guard"  # the grounding guard refused a model reply
    LLM_OUTAGE = "llm_outage"
    BUDGET = "budget"  # the conversation's daily model budget is spent
    TURN_ERROR = "turn_error"  # one failed attempt of a turn (it is retried)
    TURN_FAILED = "turn_failed"  # a turn ran out of attempts and was handed over
    CALLBACK_OFFERED = "callback_offered"  # nobody online: a call-back offered instead
    CALLBACK_LEAD = "callback_lead"  # the visitor left a phone number for the call-back
    CLARIFY = "clarify"  # the bot asked which of a few records is meant
    CLARIFY_CHOICE = "clarify_choice"
    LIST_CHOICE = "list_choice"
    ANSWER_MARKED_WRONG = "answer_marked_wrong"  # by the owner, in the console
    # a booking turn: data `status` (what was asked, booked, slot_taken, calendar_failed, …);
    # a made record adds record_id, service, master and at
    BOOKING = "booking"


class HandoffReason(StrEnum):
    """Why a visitor was handed to a person (the `reason` of a `handoff` event)."""

    VISITOR_REQUEST = "visitor_request"
    LOW_CONFIDENCE = "low_confidence"
    # the question names something no record found speaks of («лазерная эпиляция» in a salon
    # that does not do it): the knowledge holds no answer, not merely a doubtful one
    NOT_IN_KNOWLEDGE = "not_in_knowledge"
    UNCLEAR_CHOICE = "unclear_choice"  # the reply to a clarifying question left it unclear
    BOOKING = "booking"
    ATTACHMENT = "attachment"
    BUDGET = "budget"
    TURN_FAILED = "turn_failed"
