"""What every answerer takes and gives back.

The dialog engine builds a `TurnContext`, asks an `Answerer` for a `Draft`, then applies policies
(handoff, booking, closing, the grounding guard) to it. Answerers never talk to TalkMe.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from talkme_consultant.answer.attributes import Attribute
from talkme_consultant.answer.basics import BasicsQuestion
from talkme_consultant.helpers.kinds import MessageRole
from talkme_consultant.knowledge.search import Hit


class Intent(StrEnum):
    """What the visitor's turn is about, as far as the answerer could tell."""

    ANSWER = "answer"  # a question answered (or attempted) from the knowledge base
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"  # the conversation is closing
    OPERATOR = "operator"  # the visitor asks for a person
    UNKNOWN = "unknown"  # the answerer is not confident: hand over
    OFF_TOPIC = "off_topic"
    BOOKING = "booking"  # the visitor wants to book
    CLARIFY = "clarify"  # a few records are close: the visitor is asked to choose one


class HistoryMessage(BaseModel):
    """One earlier message of the dialogue."""

    role: MessageRole
    text: str


class ClarifyOption(BaseModel):
    """One choice of a clarifying question: the record's own title and its stable id."""

    title: str
    record_id: str


class DialogueTopic(BaseModel):
    """What the dialogue is about after a turn, so that the next message may lean on it.

    Kept in the bot message's meta (the store keeps it with the dialogue), so «а сколько
    длится?» is read the same way after a restart or on another instance. Records are kept by
    id and title, never their text: a record changed since is read as it is now.
    """

    # The visitor's last question as it was read: completed from the topic when it leaned on it
    # («а педикюр?» after «сколько стоит маникюр?» → «сколько стоит педикюр»).
    asked: str = ""
    # The records the last answer came from: one row or FAQ entry, or the rows of a list.
    records: list[ClarifyOption] = Field(default_factory=list)
    listed: bool = False  # the records are the rows of a list the visitor was shown
    attribute: Attribute | None = None  # what was asked about the service
    basics: BasicsQuestion | None = None  # the last question the profile answered
    branch: str | None = None  # the id of the last branch spoken of


class ReplyTools(Protocol):
    """Functions a model may call while it writes one turn's reply (OpenAI function calling).

    Defined here, with what answerers take, because the answerer only offers and runs them: the
    booking tools themselves belong to the dialog room (`dialog/booking_tools.py`), which the
    answer room may not import. One object serves one turn.
    """

    def definitions(self) -> list[dict[str, Any]]:
        """The `tools` parameter of the request: each function's name, purpose and JSON schema."""
        ...

    async def call(self, name: str, arguments: str) -> str:
        """Run one call (`arguments` as the model wrote them, a JSON string) and return what the
        model is shown; never raises for the model's mistakes, which it is told in words."""
        ...


class TurnContext(BaseModel):
    """Everything an answerer may use for one turn."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    conversation_key: str
    text: str  # the visitor's message(s) of this turn, merged
    history: list[HistoryMessage] = Field(default_factory=list)
    summary: str | None = None
    visitor_name: str | None = None
    phone: str | None = None  # phone already known for this conversation (normalised)
    # Set when the previous draft of this same turn failed the grounding guard: names the problem
    # (e.g. "the price 1700 is not in the cited records") so the answerer can write it again.
    guard_feedback: str | None = None
    # What the dialogue was about before this turn (None in a new dialogue).
    topic: DialogueTopic | None = None
    # Functions the model may call in this turn (the booking tools when a calendar is there);
    # an object of the turn, not data: never dumped, never validated.
    tools: Annotated[ReplyTools | None, SkipValidation] = Field(
        default=None, exclude=True, repr=False
    )


class Usage(BaseModel):
    """Model tokens spent on a turn."""

    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0


class Draft(BaseModel):
    """An answerer's proposal for the turn; the dialog engine decides what is actually sent."""

    text: str
    intent: Intent
    reason: str = ""  # why this intent (handoff reason, low confidence, ...)
    used_records: list[Hit] = Field(default_factory=list)
    found: list[Hit] = Field(default_factory=list)  # everything retrieval returned
    phone: str | None = None  # a phone number the visitor gave, normalised to +7XXXXXXXXXX
    visitor_name: str | None = None
    interest: str | None = None  # what the visitor wants (for leads)
    usage: Usage | None = None
    answerer: str = ""  # "offline" or "llm"
    options: list[ClarifyOption] = Field(default_factory=list)  # with `Intent.CLARIFY`
    # The rows an answer lists, in the order shown («1) … 2) …»): the visitor may pick one next.
    listed: list[ClarifyOption] = Field(default_factory=list)
    # The visitor's words naming a thing the knowledge found does not speak of (see
    # `knowledge.coverage`): the reply says they are missing, or a person is asked.
    missing: list[str] = Field(default_factory=list)
    # What the dialogue is about after this draft; None keeps the topic it had.
    topic: DialogueTopic | None = None


class AnswererUnavailable(Exception):
    """The answerer could not produce a draft (model outage after its own bounded retries).

    The message is safe to log: it never contains keys or visitor text.
    """


class Answerer(Protocol):
    """Turns a visitor's message into a draft reply."""

    name: str

    async def answer(self, ctx: TurnContext) -> Draft:
        """Produce the draft for one turn; raises `AnswererUnavailable` on outage."""
        ...

    async def summarize(
        self,
        previous_summary: str | None,
        messages: list[HistoryMessage],
        *,
        usage: Usage | None = None,
    ) -> str:
        """Fold older messages into a rolling summary; model tokens spent are added to `usage`."""
        ...
