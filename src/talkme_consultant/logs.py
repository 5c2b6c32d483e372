"""Logging: one JSON object per line, with phone numbers and tokens masked on the way out."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# Russian-style phone numbers in free text: +7 / 8 followed by ten digits in any grouping.
_PHONE = re.compile(r"(?<!\d)(?:\+7|8)[\s\-()]*\d{3}[\s\-()]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)")
_SECRETS = re.compile(
    r"(?i)(x-token|authorization|token|api[_-]?key|secret)"
    r"(\"?\s*[=:]\s*\"?(?:bearer\s+)?)([^\s\"',}]+)"
)


def redact(text: str) -> str:
    """Mask phone numbers (keeping the last two digits) and values of token-like fields."""
    text = _PHONE.sub(lambda m: "+7 *** ***-**-" + re.sub(r"\D", "", m.group())[-2:], text)
    return _SECRETS.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


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
