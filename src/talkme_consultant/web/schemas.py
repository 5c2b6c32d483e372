"""What the monitoring and admin routes answer, as models: the OpenAPI description at `/docs`.

Every field is named as the routes have always sent it (existing scripts read them). Answers
built by a route are closed (`extra="forbid"`): an undocumented field is a bug, and mypy sees a
misspelt one. Only the case-file score, which the knowledge service writes as a dict, stays open
to figures added later.

A value the route itself decides from a small fixed set is a literal, or one of the shared
enums of `helpers/kinds.py` (`Listed`: its values inline, as a literal's are). Values read back
from stored history (event kinds, handoff reasons, file origins) and values other rooms extend
freely (TalkMe methods, answerer names) are strings whose known values the field descriptions
list, so a row of another version never turns an owner's view into a 500.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetPydanticSchema
from pydantic_core import CoreSchema, core_schema

from talkme_consultant.helpers.kinds import (
    CallStatus,
    ConversationState,
    EventKind,
    FileOrigin,
    HandoffReason,
    MessageRole,
)
from talkme_consultant.service.knowledge_base import BuildState
from talkme_consultant.service.open_questions import GroupStatus, QuestionKind
from talkme_consultant.web.webhook_access import WebhookAccess

# -- shared -------------------------------------------------------------------------------------


def _by_value(kind: Any, _handler: GetCoreSchemaHandler) -> CoreSchema:
    """A member of the enum `kind` read from its value, described as a literal of the values."""
    values = [member.value for member in kind]
    return core_schema.no_info_after_validator_function(kind, core_schema.literal_schema(values))


_Kind = TypeVar("_Kind", bound=StrEnum)
Listed = Annotated[_Kind, GetPydanticSchema(_by_value)]
"""A field of one of the shared closed sets, e.g. `Listed[ConversationState]`. Pydantic would
describe a bare enum by reference; listing its values inline keeps each field's description and
the 422 message of a bad value as they have always been (FastAPI also lists the enum itself
among the components)."""


def _known(kind: type[StrEnum]) -> str:
    """A closed set's values for a field description."""
    return ", ".join(kind)


Seconds = float
"""UNIX time in seconds, as the store keeps it."""


class Answer(BaseModel):
    """Base of every answer a route builds: only documented fields."""

    model_config = ConfigDict(extra="forbid")


class ErrorAnswer(Answer):
    """The app's error shape: `error` says what was wrong (never a secret)."""

    success: Literal[False] = False
    error: str


class FieldProblem(Answer):
    """One invalid field by its location (`query.limit`, `path.key`, `client.clientId`, `body`)."""

    field: str
    message: str


class InvalidRequest(ErrorAnswer):
    """A path, query or body value was refused; every problem is listed."""

    fields: list[FieldProblem]


def error_response(description: str, model: type[BaseModel] = ErrorAnswer) -> dict[str, Any]:
    """One entry of a route's `responses=`: the model of an error answer and when it is given."""
    return {"model": model, "description": description}


INVALID_REQUEST = error_response(
    "A path or query value is invalid (a NUL character, a limit out of range…); each is named.",
    InvalidRequest,
)
ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    401: {
        **error_response("ADMIN_TOKEN missing or wrong: send `Authorization: Bearer <token>`."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    },
}


# -- monitoring ---------------------------------------------------------------------------------


class KnowledgeBaseHealth(Answer):
    """The knowledge index being served."""

    ready: bool = Field(description="An index is loaded and answers searches.")
    records: int
    version: int


class LlmHealth(Answer):
    """The language model, when one is configured."""

    enabled: bool
    outages: int = Field(description="Model outages seen by this instance since it started.")
    last_outage_at: str | None = Field(description="ISO 8601 time of the latest outage.")
    degraded: bool = Field(description="An outage happened within the last five minutes.")


class HealthChecks(Answer):
    """Each part of the service, checked."""

    store: str = Field(description='"ok", or "error: <exception type>" when the store failed.')
    knowledge_base: KnowledgeBaseHealth
    answerer: str = Field(description='The answerer in use: "llm" or "offline".')
    talkme_test_mode: bool = Field(description="Replies are recorded instead of sent to TalkMe.")
    webhook: WebhookAccess = Field(
        description='"secret": WEBHOOK_SECRET is required; "open": anyone with the URL may post.'
    )
    llm: LlmHealth


class HealthReport(Answer):
    """Liveness and readiness; the same body comes with 503 when the service is not ready."""

    status: Literal["ok", "unhealthy"]
    checks: HealthChecks


class ModelLatency(Answer):
    """Model time per turn over the recent window of this instance."""

    p50_ms: float | None = Field(description="Median, in milliseconds; null before any turn.")
    p95_ms: float | None
    turns: float = Field(description="How many turns the window holds.")


class LlmUsage(Answer):
    """Tokens and money spent on the model, over every conversation in the store."""

    prompt_tokens: int
    completion_tokens: int
    estimated_cost: float
    latency: ModelLatency
    outages: int


class ActiveSession(Answer):
    """A conversation whose visitor wrote within the last 30 minutes."""

    user_id: str = Field(description="The conversation key (TalkMe's clientId).")
    messages_count: int
    client_name: str | None
    phone_number: str | None = Field(description="Masked: +7 (916) ***-**-67.")
    state: Listed[ConversationState]
    created_at: str = Field(description="ISO 8601.")
    last_activity: str = Field(description="ISO 8601.")
    prompt_tokens: int
    completion_tokens: int
    estimated_cost: float


class Stats(Answer):
    """Counters from the store (they survive restarts) and the active sessions."""

    total_sessions: int
    active_sessions: int
    messages_received: int
    messages_processed: int
    messages_pending: int
    errors: int = Field(description="turn_errors + failed_calls.")
    turn_errors: int = Field(description="Failed attempts of turns (each is retried).")
    turns_failed: int = Field(description="Turns that ran out of attempts and were handed over.")
    failed_calls: int
    pending_calls: int
    sent_calls: int
    recorded_calls: int
    handoffs_by_reason: dict[str, int] = Field(description=f"{_known(HandoffReason)}, …")
    events: dict[str, int] = Field(description="Recorded events by kind (see /admin/events).")
    leads: int
    llm: LlmUsage
    sessions: list[ActiveSession]


class SessionDeleted(Answer):
    """The conversation and everything stored about it are gone."""

    success: Literal[True] = True
    deleted: str = Field(description="The conversation key.")


class SessionsDeleted(Answer):
    """Every conversation is gone."""

    success: Literal[True] = True
    deleted: int = Field(description="How many conversations there were.")


# -- knowledge-base files -----------------------------------------------------------------------


class FileEntry(Answer):
    """A stored knowledge file."""

    filename: str
    size: int = Field(description="Bytes.")
    sha256: str
    origin: str = Field(
        description=f"Where it came from: {_known(FileOrigin)} (`dir`: KNOWLEDGE_DIR)."
    )
    records: int = Field(description="Records read from it.")
    error: str | None = Field(description="Why it could not be read; null when it was.")
    updated_at: Seconds


class FileList(Answer):
    """Every stored knowledge file, by name."""

    files: list[FileEntry]


class UploadAccepted(Answer):
    """Every file was readable and is stored; the index is rebuilt in the background."""

    success: Literal[True] = True
    uploaded: dict[str, int] = Field(description="File name → records read from it.")
    errors: dict[str, str] = Field(description="Always empty: a bad file refuses the upload.")
    version: int = Field(description="The knowledge base's new version.")


class UploadRefused(ErrorAnswer):
    """A file could not be read: nothing was stored. `errors` names each bad file and why."""

    errors: dict[str, str]


class FileDeleted(Answer):
    """The file and its records are gone; the index is rebuilt in the background."""

    success: Literal[True] = True
    deleted: str = Field(description="The file name.")
    version: int


class FilesDeleted(Answer):
    """The knowledge base is empty."""

    success: Literal[True] = True
    deleted: int = Field(description="How many files there were.")
    version: int


# -- knowledge-base rebuilds --------------------------------------------------------------------


class EvaluationMiss(BaseModel):
    """A case whose expected text was not in the first hit, with what came back instead."""

    question: str
    expected: str
    rank: int | None = Field(description="Rank of the right record within the top 10, or null.")
    top_texts: list[str]


class EvaluationScore(BaseModel):
    """How the served index does on the business's own questions (`cases.jsonl`)."""

    model_config = ConfigDict(extra="allow")

    cases: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    misses: list[EvaluationMiss] = Field(description="At most 50.")
    version: int = Field(description="The knowledge-base version that was scored.")
    at: Seconds


class EvaluationFailure(BaseModel):
    """The case file could not be read, so nothing was scored."""

    model_config = ConfigDict(extra="allow")

    error: str
    at: Seconds


class AnswerThreshold(BaseModel):
    """The confidence a record needs before the bot answers with it, and where it came from."""

    threshold: float = Field(ge=0, le=1)
    source: Literal["cases", "default"] = Field(
        description="Calibrated on the business's cases.jsonl, or the conservative default "
        "(CONFIDENCE_THRESHOLD) when there are none or too few."
    )
    target: float = Field(
        description="ANSWER_PRECISION_TARGET: the share of answers that must be right."
    )
    cases: int = Field(description="Cases the threshold was measured on.")
    precision: float | None = Field(
        description="Share of the cases answered at the threshold whose first record was right."
    )
    coverage: float | None = Field(description="Share of the cases answered at the threshold.")


class KnowledgeBaseStatus(Answer):
    """The knowledge base being served, and the one in the store."""

    ready: bool
    version: int = Field(description="The version being served.")
    stored_version: int = Field(description="The newest version in the store.")
    records: int
    files: int
    file_errors: dict[str, str] = Field(description="File name → why it could not be read.")
    rebuilding: bool
    evaluation: EvaluationScore | EvaluationFailure | None = Field(
        description="The score of the case file; null when there is none."
    )
    answering: AnswerThreshold


class RebuildStarted(Answer):
    """A rebuild has started; follow it at /knowledge-base/regeneration/status."""

    success: Literal[True] = True
    state: Literal["started"] = "started"


class RebuildStatus(Answer):
    """The latest rebuild: its stage and progress."""

    running: bool
    state: BuildState
    done: int = Field(description="Representations embedded so far.")
    total: int
    started_at: Seconds | None
    finished_at: Seconds | None
    error: str | None = Field(description="The failure's type when the rebuild failed.")
    file_errors: dict[str, str]


# -- the owner's views --------------------------------------------------------------------------


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
    kind: str = Field(description=f"{_known(EventKind)}, …")
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


# -- open questions and lessons -----------------------------------------------------------------

QuestionText = Field(min_length=1, max_length=1000)
AnswerText = Field(min_length=1, max_length=4000)


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are refused, so a typo is a 422."""

    model_config = ConfigDict(extra="forbid")


class OwnerFaqInput(RequestBody):
    """An owner's answer: the question as visitors ask it and the answer the bot gives."""

    question: str = QuestionText
    answer: str = AnswerText


class GroupAnswerInput(RequestBody):
    """The answer to a group; `question` defaults to the group's first question."""

    answer: str = AnswerText
    question: str | None = Field(default=None, min_length=1, max_length=1000)


class GroupLinkInput(RequestBody):
    """The record that already answers a group (an id from `/admin/knowledge/search`)."""

    record_id: str = Field(min_length=1, max_length=32)


class WrongAnswerInput(RequestBody):
    """A bot message (an id from `/admin/conversations/{key}`) that answered wrongly."""

    message_id: int = Field(ge=1, le=2**63 - 1)


class OwnerFaqEntry(Answer):
    """An owner's answer, served as a knowledge record of origin `owner`."""

    id: int
    question: str
    answer: str
    record_id: str = Field(description="The id it is served and found under.")
    origin: Literal["owner"] = "owner"
    created_at: Seconds
    updated_at: Seconds


class OwnerFaqList(Answer):
    """Every owner's answer, oldest first."""

    answers: list[OwnerFaqEntry]


class OwnerFaqDeleted(Answer):
    """An owner's answer was removed; the questions it answered are open again."""

    deleted: int


class QuestionExample(Answer):
    """One visitor's question in a group."""

    id: int
    conversation_key: str
    question: str
    kind: QuestionKind
    asked_at: Seconds
    bot_answer: str | None = Field(description="The answer marked wrong (kind `wrong`).")


class QuestionGroupEntry(Answer):
    """Near-identical questions; `id` is the first question's id and names the group."""

    id: int
    status: GroupStatus
    question: str = Field(description="The group's first question.")
    count: int
    last_asked_at: Seconds
    kinds: dict[str, int] = Field(description="How many questions of each kind.")
    examples: list[QuestionExample] = Field(description="The newest questions, newest first.")
    resolution: str | None = Field(
        description="What resolved it: `faq:<id>` (an owner's answer) or a record id."
    )


class QuestionGroupPage(Answer):
    """A page of question groups, most asked first."""

    status: GroupStatus
    total_groups: int
    total_questions: int
    groups: list[QuestionGroupEntry]


class GroupAnswered(Answer):
    """The group's answer is stored and being served."""

    answer: OwnerFaqEntry
    resolved: int = Field(description="Questions marked answered.")


class GroupLinked(Answer):
    """The group's wordings are now phrasings of the record."""

    record_id: str
    phrasings_added: int
    resolved: int


class GroupDismissed(Answer):
    """The group was set aside."""

    dismissed: int


class WrongAnswerMarked(Answer):
    """The visitor's question before that bot message is an open question now."""

    marked: Literal[True] = True


class KnowledgeHit(Answer):
    """A record found for a query."""

    record_id: str
    title: str | None
    text: str
    file: str = Field(description="Its source file, or `owner-faq` for an owner's answer.")
    confidence: float


class KnowledgeSearch(Answer):
    """The best records for a query, best first."""

    query: str
    hits: list[KnowledgeHit]


class PhrasingEntry(Answer):
    """A wording taught for a record."""

    id: int
    record_id: str
    text: str
    created_at: Seconds


class PhrasingList(Answer):
    """Taught phrasings, oldest first."""

    phrasings: list[PhrasingEntry]


class PhrasingDeleted(Answer):
    """A taught phrasing was removed."""

    deleted: int
