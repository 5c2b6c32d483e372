"""Constants and helpers shared by the talkme tests (imported by name; conftest holds fixtures)."""

from __future__ import annotations

import socket
from typing import Any

TOKEN = "tm-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
"""A token long and distinctive enough that finding it in a message is unambiguous."""

CAPTURED_WEBHOOK: dict[str, Any] = {
    "site": {"id": "2a5r9kq1", "domain": "iteira"},
    "client": {
        "searchId": 33538,
        "login": "1_posetitel_v_sentyabre_2025",
        "clientId": "xI4WylKDvtas8rgfe7n6BJMfPRlTZnpA",
        "name": "1 посетитель в сентябре 2025 года",
        "phone": None,
    },
    "message": {"text": "Привет"},
    "originalOnlineChatMessage": {"id": 33688, "text": "Привет", "dialogId": 3120},
    "token": TOKEN,
}
"""The webhook body captured from real TalkMe traffic (identifiers shortened)."""


def free_port() -> int:
    """A port nobody listens on right now (for tests that must know it in advance)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
