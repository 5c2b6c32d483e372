"""open questions keep their group: the id of the group's first question

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: not grouped yet. Rows stored before this revision are grouped on first use.
    op.add_column("open_questions", sa.Column("group_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_open_questions_group_id", "open_questions", ["group_id"])
    op.create_index(
        "ix_open_questions_groups", "open_questions", ["status", "group_id", "asked_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_open_questions_groups", table_name="open_questions")
    op.drop_index("ix_open_questions_group_id", table_name="open_questions")
    with op.batch_alter_table("open_questions") as batch:
        batch.drop_column("group_id")
