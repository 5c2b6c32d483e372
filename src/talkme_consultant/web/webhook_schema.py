"""How the webhook is described in OpenAPI: its body, its secret and every answer it gives.

The handler reads the raw body itself (so it can answer 400 and 413 on its own terms), which
hides the body's model from FastAPI; the description is therefore given here explicitly and the
body's schemas are added to the components by the app (`request_schemas`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from talkme_consultant.talkme.payloads import SECRET_HEADER, SECRET_QUERY_PARAM, WebhookPayload
from talkme_consultant.web.schemas import FieldProblem

MAX_BODY_BYTES = 64 * 1024


class WebhookAccepted(BaseModel):
    """The message is stored (or was already stored: a duplicate is acknowledged too)."""

    success: Literal[True] = True
    duplicate: bool


class WebhookError(BaseModel):
    """The webhook was refused; ``error`` says why."""

    success: Literal[False] = False
    error: str


class WebhookRejected(WebhookError):
    """The body is JSON but not a webhook we can take; every problem is listed (a body field by
    its wire name, ``client.clientId``, or ``body``)."""

    fields: list[FieldProblem]


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookAccepted, "description": "Stored; the reply follows through TalkMe."},
    400: {"model": WebhookError, "description": "The body is not a JSON object."},
    401: {"model": WebhookError, "description": "WEBHOOK_SECRET missing or wrong."},
    413: {"model": WebhookError, "description": f"The body is over {MAX_BODY_BYTES} bytes."},
    422: {"model": WebhookRejected, "description": "Invalid fields, each named."},
    503: {"model": WebhookError, "description": "The store failed; nothing was stored, retry."},
}

OPENAPI_EXTRA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/WebhookPayload"}}
        },
    },
    "parameters": [
        {
            "name": SECRET_QUERY_PARAM,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": f"WEBHOOK_SECRET (or send it in the {SECRET_HEADER} header).",
        },
        {
            "name": SECRET_HEADER,
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "WEBHOOK_SECRET.",
        },
    ],
}


def request_schemas() -> dict[str, Any]:
    """JSON schemas of the webhook body and its parts, for the OpenAPI components."""
    _, schema = models_json_schema(
        [(WebhookPayload, "validation")], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = schema["$defs"]
    return schemas
