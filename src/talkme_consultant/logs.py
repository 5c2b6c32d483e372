"""Logging: one JSON object per line, with phone numbers and tokens masked on the way out."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from talkme_consultant.helpers.phones import phone_spans

_SECRETS = re.compile(
    r"(?i)(x-token|authorization|token|api[_-]?key|secret|password)"
    r"([\"']?\s*[=:]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)([^\s\"',}]+)"
)


def _mask_phones(text: str) -> str:
    # The same notion of "a phone" as the bot's own, so whatever it takes for a phone is masked.
    pieces: list[str] = []
    last = 0
    for start, end, phone in phone_spans(text):
        country = "+7" if phone.startswith("+7") else "+"
        pieces.append(text[last:start] + f"{country} *** ***-**-{phone[-2:]}")
        last = end
    return "".join(pieces) + text[last:]


def redact(text: str) -> str:
    """Mask phone numbers (keeping the last two digits) and values of token-like fields."""
    return _mask_phones(_SECRETS.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text))


class JsonFormatter(logging.Formatter):
    """Structured log lines that a log shipper can parse."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    # Some libraries set DEBUG on their own loggers; the handler keeps the chosen level anyway.
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # httpx logs full request URLs at INFO; they may carry secrets in query strings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
