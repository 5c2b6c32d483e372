"""bookings into the calendar, kept before book_record and given their record id after

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A turn retried after a crash finds its booking here instead of making a second record.
    op.create_table(
        "bookings",
        sa.Column("api_id", sa.String(length=64), primary_key=True),
        sa.Column("conversation_key", sa.String(length=128), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_bookings_conversation_key", "bookings", ["conversation_key"])


def downgrade() -> None:
    op.drop_index("ix_bookings_conversation_key", "bookings")
    op.drop_table("bookings")
