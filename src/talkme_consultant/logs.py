"""Logging: one JSON object per line, with secrets and personal data masked on the way out.

Whatever a line carries — our own messages, uvicorn's access lines, library records, exception
tracebacks — passes through :func:`redact` before it is written: tokens and keys (as `name=value`,
headers, JSON fields, URL query parameters and URL passwords), phone numbers, e-mail addresses and
card numbers. Only our own loggers and uvicorn's go below WARNING: libraries, which log request
bodies, headers or SQL parameters at DEBUG, are held at WARNING whatever LOG_LEVEL says.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from talkme_consultant.helpers.phones import phone_spans

# `name=value`, `name: value`, `"name": "value"`, `Authorization: Bearer value`; the value stops
# at whitespace, a quote, a comma, a brace or `&` (the next URL query parameter).
_SECRETS = re.compile(
    r"(?i)(x-token|authorization|token|api[_-]?key|secret|password|passwd)"
    r"([\"']?\s*[=:]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)([^\s\"',}&]+)"
)
# A bearer or basic credential on its own, without the header name in front. Credentials carry
# digits or punctuation; plain words ("basic understanding") are left alone.
_BEARER = re.compile(
    r"(?i)\b(bearer|basic)(\s+)(?!\*\*\*)(?=[\w.~+/=\-]*[\d.~+/=\-_])[\w.~+/=\-]{8,}"
)
# The password of `scheme://user:password@host` (a DATABASE_URL, a proxy URL).
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/:@]+:)([^\s/@]+)@")
_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# A run of digits with single spaces or dashes between them: where card numbers hide.
_DIGIT_RUN = re.compile(r"(?<![\d])\d+(?:[ \-]\d+)*(?![\d])")
_CARD_DIGITS = range(13, 20)
# SQLAlchemy's "[parameters: (...)]" line; engines hide them, this catches any other source.
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")

# Loggers below WARNING pass only from these: our own code and uvicorn (server life, requests).
VERBOSE_LOGGERS = ("talkme_consultant", "uvicorn")
# Libraries known to print request bodies, headers, URLs or SQL parameters below WARNING; their
# loggers are also set to WARNING so the records are not even built.
QUIET_LIBRARIES = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "httpcore",
    "httpcore2",
    "httpx",
    "httpx2",
    "openai",
    "multipart",
    "python_multipart",
    "watchfiles",
    "asyncio",
    "h11",
    "hpack",
    "urllib3",
    "filelock",
    "huggingface_hub",
)


def _belongs_to(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_cards_in_run(run: str) -> str:
    """Mask every Luhn-valid 13-19 digit stretch that starts and ends on a group boundary."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run)]
    pieces: list[str] = []
    last = 0
    first = 0
    while first < len(groups):
        found = None
        digits = ""
        for final in range(first, len(groups)):
            digits += run[groups[final][0] : groups[final][1]]
            if len(digits) > max(_CARD_DIGITS):
                break
            if len(digits) in _CARD_DIGITS and _luhn_valid(digits):
                found = final, digits  # keep looking: the longest card wins
        if found is None:
            first += 1
            continue
        final, digits = found
        start, end = groups[first][0], groups[final][1]
        pieces.append(run[last:start] + f"**** {digits[-4:]}")
        last = end
        first = final + 1
    return "".join(pieces) + run[last:]


def _mask_cards(text: str) -> str:
    return _DIGIT_RUN.sub(lambda m: _mask_cards_in_run(m.group(0)), text)


def _mask_phones(text: str) -> str:
    # The same notion of "a phone" as the bot's own, so whatever it takes for a phone is masked.
    pieces: list[str] = []
    last = 0
    for start, end, phone in phone_spans(text):
        country = "+7" if phone.startswith("+7") else "+"
        pieces.append(text[last:start] + f"{country} *** ***-**-{phone[-2:]}")
        last = end
    return "".join(pieces) + text[last:]


def redact(text: str, known_secrets: Iterable[str] = ()) -> str:
    """Mask secrets and personal data in one log text.

    Token-like values and URL passwords become `***`; e-mail addresses `***@***`; card numbers
    keep their last four digits, phone numbers their last two. `known_secrets` (the configured
    keys and tokens) are masked wherever they appear, whatever surrounds them.
    """
    for secret in known_secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _SQL_PARAMETERS.sub("[parameters hidden]", text)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _SECRETS.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _BEARER.sub(r"\1\2***", text)
    text = _EMAIL.sub("***@***", text)
    # Cards before phones: a card's digits would otherwise be half taken for a phone number.
    return _mask_phones(_mask_cards(text))


class JsonFormatter(logging.Formatter):
    """Structured log lines that a log shipper can parse, redacted (see :func:`redact`)."""

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in known_secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line with every text field redacted."""
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage(), self._secrets),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info), self._secrets)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info), self._secrets)
        return json.dumps(entry, ensure_ascii=False)


class ReadableFormatter(JsonFormatter):
    """One plain line per record for a person at a terminal, redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        """`HH:MM:SS level logger: message`, then any traceback, every part redacted."""
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return redact(line, self._secrets)


def use_json(log_format: str, stream: object) -> bool:
    """JSON for `json`, plain lines for `text`; `auto` picks plain lines only for a terminal."""
    choice = log_format.strip().lower()
    if choice == "json":
        return True
    if choice == "text":
        return False
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


class QuietLibraries(logging.Filter):
    """Below WARNING, lets through only `VERBOSE_LOGGERS`: a library's DEBUG and INFO records
    (request bodies, headers, SQL parameters) never reach the log, even when the library, or an
    env var such as OPENAI_LOG, turns its own logger up after start-up, and whatever library a
    dependency brings in next."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a library's record below WARNING."""
        return record.levelno >= logging.WARNING or _belongs_to(record.name, VERBOSE_LOGGERS)


def setup_logging(
    level: str = "INFO", known_secrets: Iterable[str] = (), log_format: str = "auto"
) -> None:
    """Send every logger's records to stderr, redacted: JSON lines, or readable lines when
    stderr is a terminal (LOG_FORMAT: auto, json or text).

    `known_secrets`: configured tokens and keys, masked wherever they appear in a line.
    """
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter if use_json(log_format, sys.stderr) else ReadableFormatter
    handler.setFormatter(formatter(known_secrets))
    handler.addFilter(QuietLibraries())
    # Some libraries set DEBUG on their own loggers; the handler keeps the chosen level anyway.
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # An earlier server in this process (uvicorn's own log config, `access_log=False`) may
        # have set these up its way; ours decide from here on.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
        uvicorn_logger.disabled = False
        uvicorn_logger.setLevel(logging.NOTSET)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
