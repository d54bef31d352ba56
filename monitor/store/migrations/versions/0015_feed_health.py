"""Feed-health alerts: the feed's failing-since and publishing rhythm, what was alerted, the alerts raised

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written by each poll (monitor/store/feeds.py record_poll_in); NULL until a feed next fails or brings news.
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_new_item_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("item_gaps", sa.JSON(), nullable=True))
    op.create_table(
        "feed_health_state",
        sa.Column("feed_id", sa.String(length=200), primary_key=True),
        sa.Column("failing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stale_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "feed_health_alerts",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("batch", sa.String(length=40), nullable=False),
        sa.Column("feed_id", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feed_health_alerts_batch", "feed_health_alerts", ["batch"])
    op.create_index("ix_feed_health_alerts_feed_id", "feed_health_alerts", ["feed_id"])
    op.create_index("ix_feed_health_alerts_created_at", "feed_health_alerts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_feed_health_alerts_created_at", table_name="feed_health_alerts")
    op.drop_index("ix_feed_health_alerts_feed_id", table_name="feed_health_alerts")
    op.drop_index("ix_feed_health_alerts_batch", table_name="feed_health_alerts")
    op.drop_table("feed_health_alerts")
    op.drop_table("feed_health_state")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("item_gaps")
        batch.drop_column("last_new_item_at")
        batch.drop_column("failing_since")
