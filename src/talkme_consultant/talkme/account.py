"""A client for TalkMe's account API: operators, client cards and message history.

It speaks through :class:`~talkme_consultant.talkme.client.TalkMeClient`, so calls have the same
envelope reading, timeout and error classification as ``customBot/*`` (one attempt per call;
``TalkMeError.retryable`` says whether trying again can help). The key is the owner's cabinet
key (``TALKME_ACCOUNT_API_KEY``); it goes only into the ``X-Token`` header, never into a message.
Request bodies and answer shapes live in :mod:`talkme_consultant.talkme.account_wire`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from talkme_consultant.talkme.account_wire import (
    METHOD_CLIENT_MESSAGES,
    METHOD_CLIENT_SET_INFO,
    METHOD_MESSAGES,
    METHOD_OPERATORS,
    ChatMessage,
    ClientCard,
    ClientMessages,
    ClientWithMessages,
    MessagesInRange,
    OperatorList,
    client_messages_body,
    messages_body,
    set_info_body,
)
from talkme_consultant.talkme.client import TalkMeClient, TalkMeError, TalkMeResult

_Model = TypeVar("_Model", bound=BaseModel)


class AccountClient:
    """The account API with one key; share the underlying client's connection pool."""

    def __init__(self, client: TalkMeClient, key: str) -> None:
        self._client = client
        self._key = key

    async def call(self, method: str, body: dict[str, Any]) -> TalkMeResult:
        """One call with the account key (the outbox sends prepared bodies this way)."""
        return await self._client.call(method, self._key, body)

    async def operators(self) -> OperatorList:
        """The account's operators and whether each is online."""
        result = await self.call(METHOD_OPERATORS, {})
        return _read(METHOD_OPERATORS, result.result, OperatorList)

    async def anyone_online(self) -> bool:
        """True when at least one operator is online now."""
        return (await self.operators()).anyone_online

    async def set_client_info(self, conversation_key: str, card: ClientCard) -> None:
        """Write name, phone and notes to the client card the operator sees."""
        await self.call(METHOD_CLIENT_SET_INFO, set_info_body(conversation_key, card))

    async def client_messages(
        self,
        conversation_key: str,
        *,
        limit: int = 100,
        order: Literal["asc", "desc"] = "asc",
    ) -> list[ChatMessage]:
        """One client's messages (visitor, operator and bot), in ``order`` of time."""
        body = client_messages_body(conversation_key, limit=limit, order=order)
        result = await self.call(METHOD_CLIENT_MESSAGES, body)
        return _read(METHOD_CLIENT_MESSAGES, result.result, ClientMessages).items

    async def messages(self, start: datetime, stop: datetime) -> list[ClientWithMessages]:
        """Every client's messages in ``[start, stop]`` (at most 14 days), grouped by client."""
        result = await self.call(METHOD_MESSAGES, messages_body(start, stop))
        return _read(METHOD_MESSAGES, result.result, MessagesInRange).clients


def _read(method: str, result: Any, model: type[_Model]) -> _Model:
    """TalkMe's ``result`` as ``model``; an answer of another shape is a retryable error (as an
    unreadable answer is for ``customBot/*``), described without quoting it."""
    try:
        return model.model_validate(result if result is not None else {})
    except ValidationError as error:
        where = ", ".join(".".join(str(p) for p in e["loc"]) or "result" for e in error.errors())
        raise TalkMeError(
            True, 200, None, f"answer of an unexpected shape at {where}", method=method
        ) from None
