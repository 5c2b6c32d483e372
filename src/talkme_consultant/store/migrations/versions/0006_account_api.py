"""account API: outbox lanes, handed-over questions, operator answers, sync cursors

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-29 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        # Account API calls queue apart from the bot's replies (see store/models.py).
        batch.add_column(
            sa.Column("lane", sa.String(length=16), nullable=False, server_default="bot")
        )
    op.create_table(
        "handed_over_questions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("conversation_key", sa.String(length=128), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("handed_over_at", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.Float(), nullable=True),
    )
    op.create_index(
        "ix_handed_over_questions_conversation_key",
        "handed_over_questions",
        ["conversation_key"],
    )
    op.create_index("ix_handed_over_waiting", "handed_over_questions", ["status", "handed_over_at"])
    op.create_table(
        "operator_answers",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("conversation_key", sa.String(length=128), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("operator_at", sa.Float(), nullable=False),
        sa.Column("harvested_at", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_operator_answers_conversation_key", "operator_answers", ["conversation_key"]
    )
    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("position", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_cursors")
    op.drop_index("ix_operator_answers_conversation_key", table_name="operator_answers")
    op.drop_table("operator_answers")
    op.drop_index("ix_handed_over_waiting", table_name="handed_over_questions")
    op.drop_index("ix_handed_over_questions_conversation_key", table_name="handed_over_questions")
    op.drop_table("handed_over_questions")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lane")
