"""What one turn decided, as one type from the dialog engine through the service to the store.

The engine fills a `TurnOutcome`; the service cleans its texts (`cleaned`) and hands it to the
store inside a `TurnResult` beside what only the service knows (the TalkMe calls, the budget
day, the question kept for an operator's answer); the store writes its fields. A new field is
added here once. It lives below both rooms because the dialog and the store are siblings that
import nothing of each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from talkme_consultant.helpers.cleaning import clean_text
from talkme_consultant.helpers.kinds import EventKind


@dataclass(frozen=True)
class TurnEvent:
    """Something the owner should see later, recorded with the turn; `data` depends on `kind`
    (a handoff's `reason`, a guard's `problems`, …) and is stored as JSON."""

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class LeadInfo:
    """A visitor who wants to book and gave a phone number (one lead per conversation and
    phone); `summary` is the dialogue in short, for the operator."""

    name: str | None
    phone: str
    interest: str | None
    summary: str | None
    booked: bool = False  # the bot made the record in the calendar itself


@dataclass
class TurnOutcome:
    """What the turn decided: the replies, the memory updates, the events and the model spend."""

    visitor_text: str
    replies: list[str]
    finish_code: str | None = None
    handed_off: bool = False
    events: list[TurnEvent] = field(default_factory=list)
    lead: LeadInfo | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    visitor_name: str | None = None
    phone: str | None = None
    summary: str | None = None
    summarized_upto: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    model_latency_ms: float | None = None

    @property
    def reply_text(self) -> str:
        """The replies as the one bot message the dialogue remembers ("" when there are none)."""
        return "\n\n".join(self.replies)

    def add_event(self, kind: EventKind, **data: Any) -> None:
        """Record an event of `kind` with the turn."""
        self.events.append(TurnEvent(kind, data))

    def events_of(self, kind: EventKind) -> list[dict[str, Any]]:
        """The data of this turn's events of `kind`, in the order they were recorded."""
        return [event.data for event in self.events if event.kind == kind]

    def cleaned(self) -> TurnOutcome:
        """A copy whose every text can be stored and sent, blank replies left out.

        Models emit NUL and lone surrogates at times, and event data and meta quote the visitor,
        the model and the records: one such character would make the turn's commit fail on
        every attempt.
        """
        lead = self.lead
        return replace(
            self,
            visitor_text=clean_text(self.visitor_text),
            replies=[text for text in map(clean_text, self.replies) if text.strip()],
            finish_code=_clean_optional(self.finish_code),
            events=[TurnEvent(event.kind, _clean_data(event.data)) for event in self.events],
            lead=(
                LeadInfo(
                    _clean_optional(lead.name),
                    clean_text(lead.phone),
                    _clean_optional(lead.interest),
                    _clean_optional(lead.summary),
                    lead.booked,
                )
                if lead
                else None
            ),
            meta=_clean_data(self.meta),
            visitor_name=_clean_optional(self.visitor_name),
            phone=_clean_optional(self.phone),
            summary=_clean_optional(self.summary),
        )


def _clean_data(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with every string in it cleaned, however deep (JSON-shaped values)."""
    return {name: _clean_value(value) for name, value in data.items()}


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return _clean_data(value)
    if isinstance(value, list):
        return [_clean_value(item) for item in value]
    return value


def _clean_optional(text: str | None) -> str | None:
    return clean_text(text) if text is not None else None
