"""articles.published_at is never later than first_seen_at: future feed dates become first-seen

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Ingest now clamps a feed date after first-seen (monitor/store/articles.py, publication_time); rows stored
    # before keep dates in the future that would sit ahead of every "last N days" window. Both columns are
    # stored the same way on each backend (timestamptz; ISO text in UTC on SQLite), so they compare directly.
    op.execute("UPDATE articles SET published_at = first_seen_at WHERE published_at > first_seen_at")


def downgrade() -> None:
    # The feeds' future dates were not kept: nothing to restore.
    pass
