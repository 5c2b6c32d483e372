"""join the open questions' groups (0008) and the bookings (0011), made side by side on 0007

Revision ID: 0008_0011
Revises: 0008, 0011
Create Date: 2026-12-12 15:00:00

A database upgraded along either branch gets the other one's revision, then this one.
"""

from __future__ import annotations

revision = "0008_0011"
down_revision = ("0008", "0011")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both revisions are applied by now."""


def downgrade() -> None:
    """Nothing to change: each revision undoes itself."""
