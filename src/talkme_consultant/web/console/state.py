"""The console's long-lived parts: its templates, the session key and the sign-in throttle."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi.templating import Jinja2Templates

from talkme_consultant.helpers.private_files import SECRET_BYTES, shared_secret
from talkme_consultant.store.store import Store
from talkme_consultant.web.console import plurals, wording
from talkme_consultant.web.console.phone_links import linked_phones, phone_link
from talkme_consultant.web.console.session import SignInThrottle, session_key
from talkme_consultant.web.console.text_view import unbroken_prices
from talkme_consultant.web.console.upload_words import file_reason_words

CONSOLE_DIR = Path(__file__).parent
TEMPLATES_DIR = CONSOLE_DIR / "templates"
STATIC_DIR = CONSOLE_DIR / "static"
KEY_FILE = "console_key"
KEY_SECRET_NAME = "cookie-key"


async def signing_secret(store: Store, data_dir: Path) -> bytes:
    """The random secret behind the console's cookie key, made once per installation.

    Every process that serves the console must hold the same one, or a cookie from one would
    be refused by the next behind the proxy. On SQLite they share a host and DATA_DIR, where it
    is kept in `console_key` (0600, beside the database). On PostgreSQL the processes may run on
    hosts with DATA_DIRs of their own, so it is kept in the database they share
    (`console_secrets`); a copy of the database still signs no one in, since it holds only
    digests of the signed-in sessions' ids.
    """
    if store.engine.dialect.name == "postgresql":
        candidate = secrets.token_bytes(SECRET_BYTES)
        return await store.console.secret(KEY_SECRET_NAME, candidate, time.time())
    return await asyncio.to_thread(shared_secret, data_dir / KEY_FILE)


@dataclass
class ConsoleState:
    """Built once in the app's lifespan: templates, the session key and the sign-in throttle."""

    templates: Jinja2Templates
    key: bytes
    throttle: SignInThrottle


def build_console_state(admin_token: str, secret: bytes) -> ConsoleState:
    """The console's long-lived parts (the key is made here from `signing_secret` and the
    token, never stored or logged)."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    # The owner is signed in: visitors' phones are shown whole, as links to call.
    templates.env.filters["phone"] = phone_link
    templates.env.filters["phones"] = linked_phones
    # Applied last to a text: «2 800 ₽» stays on one line on a phone.
    templates.env.filters["prices"] = unbroken_prices
    templates.env.filters["pct"] = _percent
    templates.env.filters["quote"] = lambda value: quote(str(value), safe="")
    templates.env.filters["file_error"] = file_reason_words
    wording.register(templates.env.filters)
    plurals.register(templates.env.filters)
    return ConsoleState(
        templates=templates, key=session_key(secret, admin_token), throttle=SignInThrottle()
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"
