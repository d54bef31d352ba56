"""inbox_state: each user's read and star state per story (the dashboard's inbox); matches indexed by entry

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keyed by user name and story id (cluster id, else article id); no row means unread and not starred.
    op.create_table(
        "inbox_state",
        sa.Column("user_name", sa.String(length=200), primary_key=True),
        sa.Column("story_id", sa.String(length=64), primary_key=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starred_at", sa.DateTime(timezone=True), nullable=True),
    )
    # The inbox's watchlist and entry filters start from that entry's matches instead of reading every article.
    op.create_index("ix_matches_entry", "matches", ["watchlist", "entry_id"])


def downgrade() -> None:
    op.drop_index("ix_matches_entry", table_name="matches")
    op.drop_table("inbox_state")
