"""What the model must return, as pydantic models and as JSON schemas, and how to read it.

The JSON schemas are written out by hand rather than generated: OpenAI's strict mode wants every
property required and `additionalProperties: false`, which pydantic's generated schemas are not.
A test keeps the two in step. Validation is deliberately forgiving where a slightly sloppy model
is still clearly right ("R1" written as "r1", an empty string for "no name"), and strict where it
matters (a reply must be there).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError, field_validator

MAX_QUERIES = 3

T = TypeVar("T", bound=BaseModel)


class SearchQueries(BaseModel):
    """Step (a): the visitor's message as knowledge-base queries."""

    queries: list[str]

    @field_validator("queries")
    @classmethod
    def _clean(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for query in value:
            query = " ".join(query.split())
            if query and query.casefold() not in {seen.casefold() for seen in cleaned}:
                cleaned.append(query[:200])
        if not cleaned:
            raise ValueError("at least one non-empty query is required")
        return cleaned[:MAX_QUERIES]


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in {"", "null", "none", "нет"}:
        return None
    return value


class ReplyOutput(BaseModel):
    """Step (c): the reply and what the model noticed about the turn."""

    reply: str
    used_record_ids: list[str] = []
    wants_person: bool = False
    wants_booking: bool = False
    off_topic: bool = False
    not_found: bool = False
    greeting: bool = False
    thanks: bool = False
    closing: bool = False
    # A clarifying question: the records the visitor should choose from (their titles become
    # the numbered options, as the offline answerer asks them).
    clarify: bool = False
    clarify_record_ids: list[str] = []
    phone: str | None = None
    visitor_name: str | None = None
    interest: str | None = None

    @field_validator("reply")
    @classmethod
    def _reply_not_empty(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the reply text must not be empty")
        return value

    @field_validator("used_record_ids", "clarify_record_ids", mode="before")
    @classmethod
    def _record_ids(cls, value: object) -> object:
        # Models write "R1", "r1", "[R1]" or just 1; the prompt shows "R1".
        if isinstance(value, list):
            ids = []
            for item in value:
                text = re.sub(r"[^0-9A-Za-z]", "", str(item)).upper()
                ids.append(text if text.startswith("R") else f"R{text}")
            return ids
        return value

    @field_validator("phone", "visitor_name", "interest", mode="before")
    @classmethod
    def _optional_text(cls, value: object) -> object:
        return _blank_to_none(value)


def _nullable_string() -> dict[str, Any]:
    return {"type": ["string", "null"]}


SEARCH_QUERIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "queries": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": MAX_QUERIES,
        }
    },
    "required": ["queries"],
    "additionalProperties": False,
}

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reply": {"type": "string"},
        "used_record_ids": {"type": "array", "items": {"type": "string"}},
        "wants_person": {"type": "boolean"},
        "wants_booking": {"type": "boolean"},
        "off_topic": {"type": "boolean"},
        "not_found": {"type": "boolean"},
        "greeting": {"type": "boolean"},
        "thanks": {"type": "boolean"},
        "closing": {"type": "boolean"},
        "clarify": {"type": "boolean"},
        "clarify_record_ids": {"type": "array", "items": {"type": "string"}},
        "phone": _nullable_string(),
        "visitor_name": _nullable_string(),
        "interest": _nullable_string(),
    },
    "required": [
        "reply",
        "used_record_ids",
        "wants_person",
        "wants_booking",
        "off_topic",
        "not_found",
        "greeting",
        "thanks",
        "closing",
        "clarify",
        "clarify_record_ids",
        "phone",
        "visitor_name",
        "interest",
    ],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class OutputSpec(Generic[T]):
    """One structured output: its name, JSON schema, pydantic model and an example for prompts."""

    name: str
    schema: dict[str, Any]
    model: type[T]
    example: dict[str, Any]

    def response_format(self) -> dict[str, Any]:
        """The `response_format` argument for servers with JSON-schema mode."""
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.schema, "strict": True},
        }


QUERIES_SPEC = OutputSpec(
    name="search_queries",
    schema=SEARCH_QUERIES_SCHEMA,
    model=SearchQueries,
    example={"queries": ["стрижка женская цена"]},
)

REPLY_SPEC = OutputSpec(
    name="consultant_reply",
    schema=REPLY_SCHEMA,
    model=ReplyOutput,
    example={
        "reply": "Женская стрижка стоит 1 500 ₽.",
        "used_record_ids": ["R1"],
        "wants_person": False,
        "wants_booking": False,
        "off_topic": False,
        "not_found": False,
        "greeting": False,
        "thanks": False,
        "closing": False,
        "clarify": False,
        "clarify_record_ids": [],
        "phone": None,
        "visitor_name": None,
        "interest": "женская стрижка",
    },
)


class OutputError(ValueError):
    """The model's output could not be read; the message says why, for the repair request."""

    def __init__(self, message: str, *, not_json: bool) -> None:
        super().__init__(message)
        self.not_json = not_json  # True: no JSON at all; False: JSON of the wrong shape


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def extract_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's text: bare, in a ``` fence, or wrapped in prose."""
    candidates = [text.strip()]
    candidates += [match.group(1).strip() for match in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise OutputError("the answer is not a JSON object", not_json=True)


def parse_output(text: str | None, spec: OutputSpec[T]) -> T:
    """Read and validate one structured output; raises `OutputError`."""
    if not text or not text.strip():
        raise OutputError("the answer is empty", not_json=True)
    value = extract_json_object(text)
    try:
        return spec.model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'object'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise OutputError(
            f"the JSON does not match the schema: {problems}", not_json=False
        ) from None
