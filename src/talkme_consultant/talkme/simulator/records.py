"""What the simulator writes down: each ``customBot/*`` call it received and each dialogue line.

Plain values, shared by the in-process state, the control routes and the remote client (which
reads them back from JSON), and the filters both the state and the remote client select calls by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypedDict

from talkme_consultant.talkme.calls import METHOD_FINISH, METHOD_SEND, METHOD_SIMULATE_TYPING

API_PREFIX = "/json/v1.0"
METHODS: tuple[str, ...] = (METHOD_SEND, METHOD_SIMULATE_TYPING, METHOD_FINISH)

Outcome = Literal[
    "ok", "rejected", "http500", "http429", "http400", "success_false", "timeout", "drop"
]
Role = Literal["visitor", "bot", "typing", "finish"]

# The ``error.code`` of an application error, answered as TalkMe does: HTTP 200 with
# ``{"success": false, "error": {"code", "descr"}}``.
ERROR_NO_TOKEN = 401
"""No ``X-Token`` header."""
ERROR_UNKNOWN_TOKEN = 403
"""Token not known (only when the state restricts tokens)."""
ERROR_BAD_BODY = 400
"""Body is not JSON, or not the shape the method takes."""
ERROR_SIMULATED = 500
"""An injected ``success_false`` fault."""


def canonical_method(method: str) -> str:
    """``"send"``, ``"/customBot/send"`` or ``"customBot/send"`` → ``"customBot/send"``."""
    name = method.strip("/")
    if name.startswith(API_PREFIX.strip("/") + "/"):
        name = name[len(API_PREFIX.strip("/")) + 1 :]
    for known in METHODS:
        if name in (known, known.split("/", 1)[1]):
            return known
    raise ValueError(f"unknown TalkMe method {method!r}; expected one of {', '.join(METHODS)}")


@dataclass(frozen=True, slots=True)
class SimCall:
    """One request the simulator received, whatever became of it."""

    seq: int
    method: str
    token: str | None
    body: Any
    at: float
    outcome: Outcome
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """True when the call succeeded, i.e. the visitor would have seen its effect."""
        return self.outcome == "ok"

    @property
    def text(self) -> str | None:
        """The text of a ``customBot/send`` body, if any."""
        if self.method != METHOD_SEND or not isinstance(self.body, dict):
            return None
        content = self.body.get("content")
        text = content.get("text") if isinstance(content, dict) else None
        return text if isinstance(text, str) else None

    @property
    def code(self) -> str | None:
        """The code of a ``customBot/finish`` body, if any."""
        if self.method != METHOD_FINISH or not isinstance(self.body, dict):
            return None
        code = self.body.get("code")
        return code if isinstance(code, str) else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``/_sim/calls`` item shape)."""
        return {
            "seq": self.seq,
            "method": self.method,
            "token": self.token,
            "body": self.body,
            "at": self.at,
            "outcome": self.outcome,
            "delivered": self.delivered,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimCall:
        """The inverse of :meth:`to_json`."""
        return cls(
            seq=int(data["seq"]),
            method=str(data["method"]),
            token=data.get("token"),
            body=data.get("body"),
            at=float(data["at"]),
            outcome=data["outcome"],
            error=data.get("error"),
        )


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One line of a dialogue as the visitor would experience it."""

    role: Role
    text: str
    at: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"role": self.role, "text": self.text, "at": self.at}


class CallFilters(TypedDict, total=False):
    """Which recorded calls to look at, as keyword arguments; any of them may be left out.

    * ``method`` — the method's short or full name (``"send"``, ``"customBot/send"``);
    * ``token`` — the dialogue's token;
    * ``since`` — only calls with a higher ``seq`` (see ``SimulatorState.last_seq``); default 0;
    * ``delivered`` — only the calls that were (True) or were not (False) delivered.

    The in-process state and the remote client take the same filters, declared once here.
    """

    method: str | None
    token: str | None
    since: int
    delivered: bool | None


class CallFilter(NamedTuple):
    """:class:`CallFilters` checked, with every default filled in."""

    method: str | None
    token: str | None
    since: int
    delivered: bool | None

    @classmethod
    def of(cls, filters: CallFilters) -> CallFilter:
        """The filters a caller passed; ``TypeError`` names a keyword that is not a filter,
        since a misspelt one would otherwise widen the match without a word."""
        unknown = sorted(set(filters) - CallFilters.__optional_keys__)
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
        return cls(
            method=filters.get("method"),
            token=filters.get("token"),
            since=filters.get("since", 0),
            delivered=filters.get("delivered"),
        )

    def select(self, calls: Sequence[SimCall]) -> list[SimCall]:
        """The ``calls`` that pass, in their order."""
        wanted = canonical_method(self.method) if self.method is not None else None
        return [
            call
            for call in calls
            if call.seq > self.since
            and (wanted is None or call.method == wanted)
            and (self.token is None or call.token == self.token)
            and (self.delivered is None or call.delivered == self.delivered)
        ]
