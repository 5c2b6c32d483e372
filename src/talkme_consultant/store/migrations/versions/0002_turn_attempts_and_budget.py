"""turn attempts and the daily token budget

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        # How many times the waiting turn has failed; reset when a turn ends.
        batch.add_column(
            sa.Column("turn_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        # Model tokens spent on the conversation on `budget_day` (YYYY-MM-DD).
        batch.add_column(sa.Column("budget_day", sa.String(length=10), nullable=True))
        batch.add_column(
            sa.Column("budget_tokens", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("budget_tokens")
        batch.drop_column("budget_day")
        batch.drop_column("turn_attempts")
