"""The wire shapes of TalkMe's account API (``chat/*`` methods, the owner's cabinet key).

Built from the public clients of that API; the service reads only the fields named here, and
unknown fields are ignored, because TalkMe adds fields over time. Every request body is built
here and every answer read here, so a difference found in production is a one-place fix.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from talkme_consultant.talkme.identity import client_reference, key_for_client

METHOD_OPERATORS = "chat/operator/getList"
METHOD_CLIENT_SET_INFO = "chat/client/setInfo"
METHOD_CLIENT_MESSAGES = "chat/message/getClientMessageList"
METHOD_MESSAGES = "chat/message/getList"
ACCOUNT_METHODS: tuple[str, ...] = (
    METHOD_OPERATORS,
    METHOD_CLIENT_SET_INFO,
    METHOD_CLIENT_MESSAGES,
    METHOD_MESSAGES,
)

STATUS_ONLINE = 1
"""``statusId`` of an operator who is in the chat now."""
MAX_RANGE = timedelta(days=14)
"""TalkMe answers ``getList`` for at most this long a ``dateRange``."""
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
"""How TalkMe writes times (``dateTimeUTC``, ``dateRange``)."""

Sender = Literal["client", "operator", "bot"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def format_time(moment: datetime) -> str:
    """A moment as TalkMe writes it, in UTC."""
    return moment.astimezone(UTC).strftime(DATE_FORMAT)


def parse_time(value: str) -> datetime:
    """TalkMe's ``YYYY-MM-DD HH:MM:SS`` (UTC), also accepting ISO 8601 with a ``T`` or zone."""
    text = value.strip().replace("T", " ").removesuffix("Z")
    try:
        moment = datetime.strptime(text[:19], DATE_FORMAT)
    except ValueError:
        moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- chat/operator/getList ----------------------------------------------------------------------


class Operator(_Wire):
    """One operator of the account; ``statusId`` 1 means online."""

    id: int | str | None = None
    login: str | None = None
    name: str | None = None
    status_id: int | None = Field(default=None, alias="statusId")

    @property
    def online(self) -> bool:
        """True when the operator is in the chat now."""
        return self.status_id == STATUS_ONLINE


class OperatorList(_Wire):
    """The ``result`` of ``chat/operator/getList``: a list, or an object holding ``items``."""

    items: list[Operator] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"items": data}
        if isinstance(data, dict) and "items" not in data and "operators" in data:
            return {"items": data["operators"]}
        return data

    @property
    def anyone_online(self) -> bool:
        """True when at least one operator is online."""
        return any(operator.online for operator in self.items)


# --- chat/client/setInfo ------------------------------------------------------------------------


class ClientCard(_Wire):
    """What the operator sees about the visitor. Only the fields set are sent."""

    name: str | None = None
    phone: str | None = Field(default=None, repr=False)
    email: str | None = Field(default=None, repr=False)
    custom_data: dict[str, str] = Field(default_factory=dict, alias="customData")


def set_info_body(conversation_key: str, card: ClientCard) -> dict[str, Any]:
    """The body of ``chat/client/setInfo`` for one conversation's client."""
    client: dict[str, Any] = dict(client_reference(conversation_key))
    if "searchId" in client:
        client = {"id": client["searchId"]}
    client.update(card.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True))
    return {"client": client}


# --- messages -----------------------------------------------------------------------------------


class ChatMessage(_Wire):
    """One message of a dialogue as the account API lists it."""

    id: int | str | None = None
    text: str = ""
    who_send: str = Field(alias="whoSend")
    message_type: str | int | None = Field(default=None, alias="messageType")
    date_time_utc: datetime = Field(alias="dateTimeUTC")

    @field_validator("date_time_utc", mode="before")
    @classmethod
    def _talkme_time(cls, value: Any) -> Any:
        return parse_time(value) if isinstance(value, str) else value

    @field_validator("text", mode="before")
    @classmethod
    def _no_text(cls, value: Any) -> Any:
        return "" if value is None else value

    @property
    def by_operator(self) -> bool:
        """True for a message an operator (a person) wrote."""
        return self.who_send == "operator"

    @property
    def by_client(self) -> bool:
        """True for the visitor's own message."""
        return self.who_send == "client"


class ClientMessages(_Wire):
    """The ``result`` of ``chat/message/getClientMessageList``."""

    items: list[ChatMessage] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        return {"items": data} if isinstance(data, list) else data


def client_messages_body(
    conversation_key: str,
    *,
    limit: int = 100,
    order: Literal["asc", "desc"] = "asc",
    first_message_id: int | None = None,
) -> dict[str, Any]:
    """The body of ``chat/message/getClientMessageList``."""
    body: dict[str, Any] = {
        "client": client_reference(conversation_key),
        "orderDirection": order,
        "limit": limit,
    }
    if first_message_id is not None:
        body["firstMessageId"] = first_message_id
    return body


class ClientWithMessages(_Wire):
    """One client of ``chat/message/getList`` with their messages in the range."""

    client_id: str | None = Field(default=None, alias="clientId")
    search_id: int | None = Field(default=None, alias="searchId")
    messages: list[ChatMessage] = Field(default_factory=list)

    @property
    def conversation_key(self) -> str | None:
        """The key the service keeps this client's conversation under."""
        return key_for_client(self.client_id, self.search_id, None)


class MessagesInRange(_Wire):
    """The ``result`` of ``chat/message/getList``: clients, each with their messages."""

    clients: list[ClientWithMessages] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"clients": data}
        if isinstance(data, dict) and "items" in data:
            return {"clients": data["items"]}
        return data


def messages_body(start: datetime, stop: datetime) -> dict[str, Any]:
    """The body of ``chat/message/getList`` for ``[start, stop]``, at most :data:`MAX_RANGE`."""
    if stop < start:
        raise ValueError("the range ends before it starts")
    if stop - start > MAX_RANGE:
        raise ValueError(f"TalkMe lists messages for at most {MAX_RANGE.days} days per call")
    return {"dateRange": {"start": format_time(start), "stop": format_time(stop)}}
