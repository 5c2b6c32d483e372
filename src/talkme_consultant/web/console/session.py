"""The console's signed session cookie, its CSRF token and the sign-in throttle.

The cookie holds a CSRF token, when it was issued and, once signed in, the id of a session the
store keeps until sign-out (so a copied cookie dies with it). It is signed with HMAC-SHA256
under a key made from a random secret kept on the server (see `state.signing_secret`) and the
admin token. The secret is what makes the key unguessable: a cookie anyone can fetch is no way
to try tokens offline. The token in it means a new ADMIN_TOKEN still signs everyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

COOKIE_NAME = "talkme_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# A signed-in session lasts a working week; the owner signs in again after that.
SESSION_SECONDS = 7 * 24 * 3600
# v1 keys were derived from the admin token alone; their cookies no longer verify.
_KEY_LABEL = b"talkme-console-session-v2"


class ConsoleSession(BaseModel):
    """What the cookie carries."""

    csrf: str
    # The signed-in session's id, kept by the store (as a digest) until sign-out: a signed
    # cookie alone signs no one in. None before sign-in.
    sid: str | None = None
    issued_at: float

    @property
    def signed_in(self) -> bool:
        """True when the cookie names a session; `base.current_session` checks it is alive."""
        return self.sid is not None


def session_key(secret: bytes, admin_token: str) -> bytes:
    """The signing key: keyed by the server's random secret, bound to the admin token; never
    stored or logged."""
    return hmac.new(secret, _KEY_LABEL + b"\x00" + admin_token.encode(), hashlib.sha256).digest()


def new_session(*, signed_in: bool) -> ConsoleSession:
    """A fresh session with its own CSRF token (and, signed in, its own id)."""
    return ConsoleSession(
        csrf=secrets.token_urlsafe(24),
        sid=secrets.token_urlsafe(32) if signed_in else None,
        issued_at=time.time(),
    )


def encode(session: ConsoleSession, key: bytes) -> str:
    """`payload.signature`, both URL-safe base64."""
    payload = base64.urlsafe_b64encode(session.model_dump_json().encode()).decode().rstrip("=")
    signature = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return payload + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")


def decode(cookie: str | None, key: bytes) -> ConsoleSession | None:
    """The session when the cookie is intact and not expired; None otherwise."""
    if not cookie or "." not in cookie:
        return None
    payload, _, signature = cookie.partition(".")
    expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    try:
        supplied = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        if not hmac.compare_digest(expected, supplied):
            return None
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = ConsoleSession.model_validate(data)
    except (ValueError, ValidationError):
        return None
    if time.time() - session.issued_at > SESSION_SECONDS:
        return None
    return session


def over_https(request: Request) -> bool:
    """True when the browser reached us over HTTPS, directly or through a proxy."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(response: Response, request: Request, session: ConsoleSession, key: bytes) -> None:
    """Write the session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        encode(session, key),
        max_age=SESSION_SECONDS,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=over_https(request),
    )


def clear_cookie(response: Response, request: Request) -> None:
    """Forget the session in the browser."""
    response.delete_cookie(
        COOKIE_NAME, path="/console", httponly=True, samesite="strict", secure=over_https(request)
    )


def client_key(host: str) -> str:
    """Who a failed sign-in is counted against: the address, or for IPv6 its /64 network (one
    subscriber gets a whole /64, so its single addresses would be 2**64 clients)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass
class SignInThrottle:
    """At most `attempts` failed sign-ins per client (see `client_key`) within `window` seconds,
    and at most `total` from everyone together.

    The cap on everyone slows guessing from many addresses taking turns, which the per-client
    count alone lets through. It holds the owner too, but never longer than the window: attempts
    refused while held are not counted, so the wait ends one window after the last failure that
    was. Each web process counts its own (in memory: a failure never writes to the store).
    """

    attempts: int = 5
    total: int = 20
    window: float = 300.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _everyone: deque[float] = field(default_factory=deque)

    def retry_after(self, client: str, now: float) -> float:
        """Seconds until `client` may try again; 0 when it may try now."""
        key = client_key(client)
        failures = self._failures.get(key)
        own = self._wait(failures, now, self.attempts) if failures is not None else 0.0
        if failures is not None and not failures:
            del self._failures[key]
        return max(own, self._wait(self._everyone, now, self.total))

    def failed(self, client: str, now: float) -> None:
        """Count a failed sign-in."""
        self._failures.setdefault(client_key(client), deque()).append(now)
        self._everyone.append(now)
        if len(self._everyone) == self.total:
            log.warning(
                "console sign-in: %d wrong tokens within %d s from any address; sign-in waits",
                self.total,
                self.window,
            )
        if len(self._failures) > 10_000:
            # A flood from many addresses must not grow memory without end: forget the oldest.
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, client: str) -> None:
        """A right token clears the client's count (not everyone's)."""
        self._failures.pop(client_key(client), None)

    def _wait(self, failures: deque[float], now: float, limit: int) -> float:
        """Forget failures older than the window; the wait until fewer than `limit` remain."""
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < limit:
            return 0.0
        # Concurrent attempts may all have been checked before any failed: count the extra.
        return failures[len(failures) - limit] + self.window - now
