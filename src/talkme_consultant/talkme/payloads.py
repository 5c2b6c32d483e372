"""The webhook body TalkMe POSTs for every visitor message, and masking helpers for logs.

Shape, captured from real traffic (see DESIGN.md, "TalkMe protocol")::

    {"site": {"id": "2a5r…", "domain": "iteira"},
     "client": {"searchId": 33538, "login": "1_posetitel_…", "clientId": "xI4W…",
                "name": "1 посетитель в сентябре 2025 года", "phone": null},
     "message": {"text": "Привет"},
     "originalOnlineChatMessage": {"id": 33688, "text": "Привет", "dialogId": 3120},
     "token": "…"}

Validation policy:

* Required: ``token`` (a non-blank string) and ``message.text`` (a string, may be empty).
* Required in effect: a client identity. A payload whose ``client`` carries none of ``clientId``,
  ``searchId`` or ``login`` is rejected with an error located at ``client`` (FastAPI turns it into
  a 422 naming ``client``): without an identity we cannot keep the conversation's history, order
  its messages or hand it over, so accepting it would only produce a reply to nobody in particular.
  Consequently :attr:`WebhookPayload.conversation_key` is always a string.
* Everything else is optional; unknown fields are ignored, because TalkMe adds fields over time.
* Strings are strict (``"token": 123`` is an error, not ``"123"``) so a broken sender is noticed.
  Numeric ids (``searchId``, ``id``, ``dialogId``) accept integers and numeric strings, but not
  booleans or fractions. ``phone`` also accepts a JSON number, since phone numbers often travel
  as numbers.
* Nothing the store cannot hold gets through, so one odd webhook can never fail the write of
  others: ids are signed 64-bit integers; no string carries NUL or a lone surrogate; every string
  fits the column that keeps it (the identity, name, phone and site id) or a sane cap (token,
  text); and a body nested deeper than :data:`MAX_DEPTH` levels is refused as a whole. Other
  control characters are removed from the visitor's text rather than refused.

Field names follow Python style; the wire names are their aliases, and error locations use the
wire names (``clientId``, ``originalOnlineChatMessage``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from talkme_consultant.helpers.cleaning import clean_text, has_unstorable
from talkme_consultant.talkme.identity import key_for_client

__all__ = [
    "ATTACHMENT_HOSTS",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "MAX_DOMAIN_CHARS",
    "MAX_IDENTITY_CHARS",
    "MAX_NAME_CHARS",
    "MAX_PHONE_CHARS",
    "MAX_SITE_ID_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_TOKEN_CHARS",
    "SECRET_HEADER",
    "SECRET_QUERY_PARAM",
    "WEBHOOK_PATH",
    "OriginalMessage",
    "WebhookClient",
    "WebhookMessage",
    "WebhookPayload",
    "WebhookSite",
    "find_file_links",
    "is_file_link",
    "mask_phone",
    "mask_token",
]

WEBHOOK_PATH = "/webhook/talkme"
"""Where TalkMe POSTs visitor messages (the URL the owner enters in the TalkMe cabinet)."""
SECRET_HEADER = "X-Webhook-Secret"
SECRET_QUERY_PARAM = "secret"
"""The webhook secret travels in this header or, since TalkMe only takes a URL, this parameter."""


INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Ids are kept in BIGINT columns (SQLite's INTEGER is the same size)."""

# Limits follow the columns in store/models.py: a longer value would fail the write.
MAX_IDENTITY_CHARS = 128
"""``clientId`` and ``login`` become the conversation key (``conversations.key``)."""
MAX_SITE_ID_CHARS = 128
MAX_NAME_CHARS = 512
MAX_PHONE_CHARS = 64
# These go to unbounded columns (or nowhere); the caps only keep absurd values out.
MAX_DOMAIN_CHARS = 255
MAX_TOKEN_CHARS = 4096
MAX_TEXT_CHARS = 20_000
"""A visitor's message; TalkMe's own widget stops far earlier."""
MAX_DEPTH = 16
"""How deeply a body may nest objects and arrays; the real one nests two levels."""


def _storable(value: str) -> str:
    if has_unstorable(value):
        raise PydanticCustomError(
            "unstorable_string",
            "contains a NUL character or a broken surrogate, which cannot be stored",
        )
    return value


def _storable_or_none(value: str | None) -> str | None:
    return None if value is None else _storable(value)


def _reject_bool(value: Any) -> Any:
    # Lax int parsing would turn true/false into 1/0; a boolean id is a broken sender, not an id.
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    return value


def _phone_to_str(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _blank_to_none(value: Any) -> Any:
    # An empty clientId/login is no identity at all; treating it as absent lets the fallbacks work.
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


# Constraints come before the BeforeValidator, or the JSON schema shows them unconverted.
WireInt = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX), BeforeValidator(_reject_bool)]
"""A signed 64-bit integer that also accepts numeric strings, but never booleans or fractions."""

IdentityStr = Annotated[
    StrictStr | None,
    Field(max_length=MAX_IDENTITY_CHARS),
    AfterValidator(_storable_or_none),
    BeforeValidator(_blank_to_none),
]
Phone = Annotated[
    StrictStr | None,
    Field(max_length=MAX_PHONE_CHARS),
    AfterValidator(_storable_or_none),
    BeforeValidator(_phone_to_str),
]
SiteId = Annotated[StrictStr, Field(max_length=MAX_SITE_ID_CHARS), AfterValidator(_storable)]
Domain = Annotated[StrictStr, Field(max_length=MAX_DOMAIN_CHARS), AfterValidator(_storable)]
Name = Annotated[StrictStr, Field(max_length=MAX_NAME_CHARS), AfterValidator(_storable)]
Token = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_TOKEN_CHARS), AfterValidator(_storable)
]
OriginalText = Annotated[StrictStr, Field(max_length=MAX_TEXT_CHARS), AfterValidator(_storable)]
VisitorText = Annotated[
    StrictStr,
    Field(max_length=MAX_TEXT_CHARS),
    AfterValidator(_storable),
    AfterValidator(clean_text),
]
"""The visitor's text without invisible control characters (tabs and newlines stay)."""


def _depth_error(limit: int) -> PydanticCustomError:
    return PydanticCustomError(
        "too_deep",
        "the body is nested deeper than {limit} levels",
        {"limit": limit},
    )


def _check_depth(data: Any, limit: int) -> None:
    """Raise when `data` nests objects/arrays deeper than `limit` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if depth > limit:
            raise _depth_error(limit)
        stack.extend((child, depth + 1) for child in children)


class _WireModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        frozen=True,
    )


class WebhookSite(_WireModel):
    """The TalkMe site (widget installation) the message came from."""

    id: SiteId | None = None
    domain: Domain | None = None


class WebhookClient(_WireModel):
    """The visitor, as TalkMe identifies them."""

    search_id: WireInt | None = Field(default=None, alias="searchId")
    login: IdentityStr = None
    client_id: IdentityStr = Field(default=None, alias="clientId")
    name: Name | None = None
    # Kept out of repr so a logged payload does not leak the number; see mask_phone.
    phone: Phone = Field(default=None, repr=False)

    @property
    def identity_key(self) -> str | None:
        """The conversation key (`identity.key_for_client`): ``clientId``, else
        ``searchId:<searchId>``, else ``login``; None if none."""
        return key_for_client(self.client_id, self.search_id, self.login)

    @model_validator(mode="after")
    def _require_identity(self) -> WebhookClient:
        if self.identity_key is None:
            raise ValueError(
                "client must carry at least one of clientId, searchId or login "
                "to identify the conversation"
            )
        return self


class WebhookMessage(_WireModel):
    """The visitor's message as the bot should read it."""

    text: VisitorText


class OriginalMessage(_WireModel):
    """The message as stored in TalkMe's online chat; its id is what we deduplicate on."""

    id: WireInt | None = None
    text: OriginalText | None = None
    dialog_id: WireInt | None = Field(default=None, alias="dialogId")


class WebhookPayload(_WireModel):
    """One webhook call: one visitor message plus the token that authorises our replies."""

    site: WebhookSite | None = None
    client: WebhookClient
    message: WebhookMessage
    original_message: OriginalMessage | None = Field(
        default=None, alias="originalOnlineChatMessage"
    )
    token: Token = Field(repr=False)

    @model_validator(mode="before")
    @classmethod
    def _not_too_deep(cls, data: Any) -> Any:
        # Checked before anything else reads the body, ignored fields included.
        _check_depth(data, MAX_DEPTH)
        return data

    @field_validator("token")
    @classmethod
    def _token_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("token must not be blank")
        return value

    @property
    def text(self) -> str:
        """The visitor's text (``message.text``)."""
        return self.message.text

    @property
    def conversation_key(self) -> str:
        """Who this conversation is with: ``clientId``, else ``searchId:<searchId>``, else
        ``login`` (`identity.key_for_client`).

        Validation guarantees one exists; a payload built with ``model_construct`` that skipped
        validation and lacks all three raises ``ValueError`` here.
        """
        key = self.client.identity_key
        if key is None:
            raise ValueError("webhook payload has no client identity")
        return key

    @property
    def message_id(self) -> str | None:
        """TalkMe's id of this message (``originalOnlineChatMessage.id``) as a string, if sent."""
        if self.original_message is None or self.original_message.id is None:
            return None
        return str(self.original_message.id)

    @property
    def dialog_id(self) -> str | None:
        """TalkMe's dialogue id (``originalOnlineChatMessage.dialogId``) as a string, if sent."""
        if self.original_message is None or self.original_message.dialog_id is None:
            return None
        return str(self.original_message.dialog_id)

    @property
    def attachment_urls(self) -> list[str]:
        """Links to files found anywhere in the text, in order of appearance, without repeats."""
        return find_file_links(self.message.text)

    @property
    def is_attachment(self) -> bool:
        """True when the text is nothing but one or more file links (a sent file or picture)."""
        words = self.message.text.split()
        return bool(words) and all(is_file_link(_trim_url(word)) for word in words)


# --- attachments -----------------------------------------------------------------------------

ATTACHMENT_HOSTS = frozenset({"download.me-talk.ru", "download.talk-me.ru"})
"""Hosts that serve files visitors send through the TalkMe widget."""

_URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_EXTENSION_RE = re.compile(r"\.([A-Za-z0-9]{1,5})$")
# A link to a web page is a link, not a file: a visitor pasting a product page is asking a question.
_PAGE_EXTENSIONS = frozenset({"html", "htm", "php", "asp", "aspx", "jsp", "shtml", "cgi"})
_TRAILING_PUNCTUATION = ".,;:!?)]}»\"'"


def _trim_url(candidate: str) -> str:
    return candidate.rstrip(_TRAILING_PUNCTUATION)


def is_file_link(url: str) -> bool:
    """True if ``url`` is an http(s) link to a file: a TalkMe download link, or a path ending in
    a file extension that is not a web page (``.pdf``, ``.jpg``, ``.docx``… but not ``.html``)."""
    if not _URL_RE.fullmatch(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host:
        return False
    if host in ATTACHMENT_HOSTS:
        return bool(parts.path.strip("/"))
    last_segment = parts.path.rsplit("/", 1)[-1]
    match = _EXTENSION_RE.search(last_segment)
    return match is not None and match.group(1).lower() not in _PAGE_EXTENSIONS


def find_file_links(text: str) -> list[str]:
    """All file links in ``text`` (see :func:`is_file_link`), in order, without repeats."""
    links: list[str] = []
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group(0))
        if is_file_link(url) and url not in links:
            links.append(url)
    return links


# --- masking for logs ------------------------------------------------------------------------

_MASK = "*"


def mask_phone(phone: str) -> str:
    """Hide a phone number for logs, keeping its formatting.

    Full international numbers (11 digits or more) keep the country and operator code and the
    last two digits: ``+7 (916) 123-45-67`` → ``+7 (916) ***-**-67``. Shorter numbers keep only
    the last two digits, and numbers of four digits or fewer are hidden entirely, because what
    is left visible must not identify the person.
    """
    digit_count = sum(ch.isdigit() for ch in phone)
    if digit_count <= 4:
        keep_head, keep_tail = 0, 0
    elif digit_count >= 11:
        keep_head, keep_tail = 4, 2
    else:
        keep_head, keep_tail = 0, 2
    result: list[str] = []
    seen = 0
    for ch in phone:
        if ch.isdigit():
            seen += 1
            visible = seen <= keep_head or seen > digit_count - keep_tail
            result.append(ch if visible else _MASK)
        else:
            result.append(ch)
    return "".join(result)


def mask_token(token: str | None) -> str:
    """A log-safe stand-in for a TalkMe token: its first four characters and its length.

    Short tokens are hidden entirely, since four characters of a short secret are too much of it.
    """
    if not token:
        return "<none>"
    if len(token) < 16:
        return f"***({len(token)})"
    return f"{token[:4]}***({len(token)})"
