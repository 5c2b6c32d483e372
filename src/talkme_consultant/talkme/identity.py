"""A TalkMe client's identity as the key its conversation is kept under, and back.

The key is the client's ``clientId`` as TalkMe sends it (a string, which may be all digits);
without one, ``searchId:<searchId>``; without either, the ``login``. The key says what it is, so
the account API is told the client by the identity it came from (`client_reference`), never by
what its characters look like: an all-digit ``clientId`` is sent as a ``clientId``. The prefix
also keeps a ``clientId`` "33538" and a client known only by ``searchId`` 33538 two
conversations.

A ``clientId`` is taken as it is, so one that itself read ``searchId:<digits>`` would be taken
for a ``searchId``: TalkMe's clientIds are 32 letters and digits, and a sender who could make one
up could as well leave it out and send that ``searchId``.

Keys stored before the prefix existed held a bare number for a client without a ``clientId``;
such a key is now read as a ``clientId``. The captured TalkMe traffic always carries a
``clientId``, so none is expected; a visitor who had one starts a new conversation.
"""

from __future__ import annotations

import re
from typing import Any

SEARCH_ID_PREFIX = "searchId:"
_SEARCH_ID_KEY = re.compile(re.escape(SEARCH_ID_PREFIX) + r"(-?[0-9]+)")


def search_id_key(search_id: int) -> str:
    """The key of a conversation with a client known only by ``searchId``."""
    return f"{SEARCH_ID_PREFIX}{search_id}"


def key_for_client(client_id: str | None, search_id: int | None, login: str | None) -> str | None:
    """The key of a client's conversation: ``clientId``, else its ``searchId`` key, else the
    ``login``; None when TalkMe named none of them."""
    if client_id:
        return client_id
    if search_id is not None:
        return search_id_key(search_id)
    return login or None


def client_reference(key: str) -> dict[str, Any]:
    """How the account API is told the client of conversation `key`: by ``searchId`` for a
    `search_id_key`, else by ``clientId`` (a ``login`` key too, as before: the account API as we
    know it takes no login)."""
    search_id = _search_id(key)
    if search_id is not None:
        return {"searchId": search_id}
    return {"clientId": key}


def _search_id(key: str) -> int | None:
    found = _SEARCH_ID_KEY.fullmatch(key)
    return int(found.group(1)) if found else None
