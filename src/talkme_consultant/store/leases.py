"""Who holds a lease: one owner per process, grouped by installation.

A process holds leases as `<installation>:<random>`. The random part means two processes never
mistake each other's leases for their own (a restart that overlaps its predecessor, or two
instances started from one configuration); the installation part lets a restarted process free
at once whatever its killed predecessors left behind.
"""

from __future__ import annotations

import secrets

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

# `lease_owner` columns are String(64); the random suffix takes 13 of them.
OWNER_MAX_CHARS = 64
_SUFFIX_HEX = 6


def installation_name(instance_name: str) -> str:
    """The installation part of an owner, cut so that a whole owner fits its column."""
    return instance_name[: OWNER_MAX_CHARS - 1 - 2 * _SUFFIX_HEX]


def process_owner(instance_name: str) -> str:
    """A fresh owner for this process: `<installation>:<random>`."""
    return f"{installation_name(instance_name)}:{secrets.token_hex(_SUFFIX_HEX)}"


def held_by_installation(
    column: InstrumentedAttribute[str | None], instance_name: str, *, except_owner: str | None
) -> ColumnElement[bool]:
    """Rows leased by any process of this installation other than `except_owner` (and by the
    bare installation name, which owners were before they got a random part)."""
    name = installation_name(instance_name)
    condition = or_(column == name, column.startswith(f"{name}:", autoescape=True))
    if except_owner is not None:
        condition = condition & (column != except_owner)
    return condition
