"""the owner's answers, extra phrasings of records, and open questions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "owner_faq",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "record_phrasings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_phrasings_record_id", "record_phrasings", ["record_id"])
    op.create_table(
        "open_questions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("conversation_key", sa.String(length=128), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("asked_at", sa.Float(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("bot_message_id", sa.BigInteger(), nullable=True),
        sa.Column("bot_answer", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("bot_message_id"),
    )
    op.create_index("ix_open_questions_conversation_key", "open_questions", ["conversation_key"])
    op.create_index("ix_open_questions_status", "open_questions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_open_questions_status", table_name="open_questions")
    op.drop_index("ix_open_questions_conversation_key", table_name="open_questions")
    op.drop_table("open_questions")
    op.drop_index("ix_record_phrasings_record_id", table_name="record_phrasings")
    op.drop_table("record_phrasings")
    op.drop_table("owner_faq")
