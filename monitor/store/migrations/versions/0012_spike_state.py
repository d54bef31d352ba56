"""spike_state and spike_alerts: spike alerts once per spike across ticks, restarts and processes (issue 16)

A spike delivery is a `deliveries` row of kind `spike` whose period_key is `spike:<alert id>`: the
existing unique (subscriber_id, period_key) makes one delivery per subscriber and spike, and the
delivery needs no column of its own.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
# 0011 is another branch's (one alert per story); the lead re-chains this to "0011" when both land.
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spike_state",
        sa.Column("watchlist", sa.String(200), primary_key=True),
        sa.Column("entry_id", sa.String(200), primary_key=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("alerted", sa.JSON(), nullable=False),
        sa.Column("judged_through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "spike_alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("watchlist", sa.String(200), nullable=False),
        sa.Column("entry_id", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("watchlist", "entry_id", "at", name="uq_spike_alert_hour"),
    )
    op.create_index("ix_spike_alerts_created", "spike_alerts", ["created_at"])


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE kind = 'spike'")
    op.drop_index("ix_spike_alerts_created", table_name="spike_alerts")
    op.drop_table("spike_alerts")
    op.drop_table("spike_state")
