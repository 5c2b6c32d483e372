"""Admin authentication: a bearer token compared in constant time."""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request, status

from talkme_consultant.config import ADMIN_TOKEN_MIN_CHARS
from talkme_consultant.helpers.private_files import ensure_private_dir, make_private_file
from talkme_consultant.web.deps import AdminTokenDep

log = logging.getLogger(__name__)

TOKEN_FILE = "admin_token"


class AdminTokenTooShort(ValueError):
    """The token kept in DATA_DIR was edited down to something guessable: refuse to start."""


def resolve_admin_token(configured: str | None, data_dir: Path) -> str:
    """ADMIN_TOKEN when set (the settings refuse a short one); otherwise a random token kept in
    DATA_DIR/admin_token (mode 0600), so a fresh install is never open. The token itself is
    never logged."""
    if configured:
        return configured
    path = data_dir / TOKEN_FILE
    if path.exists():
        make_private_file(path)  # an older install or a copied file may be readable by others
        token = path.read_text(encoding="utf-8").strip()
        if token and len(token) < ADMIN_TOKEN_MIN_CHARS:
            raise AdminTokenTooShort(
                f"{path} holds a token shorter than {ADMIN_TOKEN_MIN_CHARS} characters: delete "
                "the file to have a new one generated, or set ADMIN_TOKEN"
            )
        if token:
            return token
    ensure_private_dir(data_dir)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    log.warning("ADMIN_TOKEN is not set: generated one and stored it in %s", path)
    return token


ADMIN_TOKEN_REQUIRED = "admin token required: send Authorization: Bearer <ADMIN_TOKEN>"
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def bearer_matches(authorization: str, expected: str) -> bool:
    """True when an `Authorization` header's value is `Bearer <expected>` (constant time).

    The one check of the admin token: the routes' dependency and the early check of
    web/body_gate.py, which looks before a request's body is read, both use it.
    """
    scheme, _, supplied = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode(), expected.encode()
    )


def require_admin(request: Request, expected: AdminTokenDep) -> None:
    """FastAPI dependency: 401 unless `Authorization: Bearer <ADMIN_TOKEN>`."""
    if not bearer_matches(request.headers.get("authorization", ""), expected):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=ADMIN_TOKEN_REQUIRED,
            headers=BEARER_CHALLENGE,
        )
