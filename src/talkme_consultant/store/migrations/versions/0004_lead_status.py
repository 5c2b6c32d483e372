"""lead status, per-reply figures for the owner's console, and the indexes its pages read by

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        # Where the owner is with the lead: new, called, done.
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="new")
        )
    with op.batch_alter_table("dialog_messages") as batch:
        # A bot reply's intent, answerer, turn latency and model spend, copied out of `meta`
        # so the console aggregates them in SQL instead of reading every reply's JSON.
        batch.add_column(sa.Column("intent", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("answerer", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("latency_ms", sa.Float(), nullable=True))
        batch.add_column(sa.Column("tokens", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cost", sa.Float(), nullable=False, server_default="0"))
    # Covers the overview's aggregates over bot replies, so they read the index alone.
    op.create_index(
        "ix_dialog_messages_bot_figures",
        "dialog_messages",
        ["role", "created_at", "intent", "latency_ms", "tokens", "cost"],
    )
    op.create_index("ix_events_kind_created", "events", ["kind", "created_at"])
    op.create_index("ix_events_conversation_kind", "events", ["conversation_key", "kind"])
    op.create_index("ix_inbound_received", "inbound_messages", ["received_at"])
    op.create_index("ix_conversations_created", "conversations", ["created_at"])
    op.create_index("ix_conversations_activity", "conversations", ["last_activity"])
    op.create_index("ix_leads_created", "leads", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_leads_created", "leads")
    op.drop_index("ix_conversations_activity", "conversations")
    op.drop_index("ix_conversations_created", "conversations")
    op.drop_index("ix_inbound_received", "inbound_messages")
    op.drop_index("ix_events_conversation_kind", "events")
    op.drop_index("ix_events_kind_created", "events")
    op.drop_index("ix_dialog_messages_bot_figures", "dialog_messages")
    with op.batch_alter_table("dialog_messages") as batch:
        for column in ("cost", "tokens", "latency_ms", "answerer", "intent"):
            batch.drop_column(column)
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("status")
