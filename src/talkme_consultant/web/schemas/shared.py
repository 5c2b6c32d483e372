"""What every answer of the API shares: the closed answer base, the error shapes and the
401 and 422 descriptions, times in seconds, and how a shared closed set is described."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetPydanticSchema
from pydantic_core import CoreSchema, core_schema

__all__ = [
    "ADMIN_ONLY",
    "INVALID_REQUEST",
    "Answer",
    "ErrorAnswer",
    "FieldProblem",
    "InvalidRequest",
    "Listed",
    "Seconds",
    "error_response",
    "known",
]


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


def known(kind: type[StrEnum]) -> str:
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
    }
}
