"""The console's long-lived parts: its templates, the session key and the sign-in throttle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi.templating import Jinja2Templates

from talkme_consultant.talkme.payloads import mask_phone
from talkme_consultant.web.console.session import SignInThrottle, session_key
from talkme_consultant.web.console.wording import register

CONSOLE_DIR = Path(__file__).parent
TEMPLATES_DIR = CONSOLE_DIR / "templates"
STATIC_DIR = CONSOLE_DIR / "static"


@dataclass
class ConsoleState:
    """Built once in the app's lifespan: templates, the session key and the sign-in throttle."""

    templates: Jinja2Templates
    key: bytes
    throttle: SignInThrottle


def build_console_state(admin_token: str) -> ConsoleState:
    """The console's long-lived parts (the key is derived here, never stored or logged)."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["phone"] = lambda value: mask_phone(value) if value else ""
    templates.env.filters["pct"] = _percent
    templates.env.filters["quote"] = lambda value: quote(str(value), safe="")
    register(templates.env.filters)
    return ConsoleState(
        templates=templates, key=session_key(admin_token), throttle=SignInThrottle()
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"
