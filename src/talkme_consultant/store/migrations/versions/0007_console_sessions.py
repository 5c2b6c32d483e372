"""the console's sessions signed in on the server, and its signing secret for several hosts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The key that signs the console's cookies, shared by processes on hosts of their own.
    op.create_table(
        "console_secrets",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    # A signed-in session lives here until its owner signs out or it expires: a copied cookie
    # is refused after sign-out on every process.
    op.create_table(
        "console_sessions",
        sa.Column("digest", sa.String(length=64), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_expires_at", "console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_secrets")
