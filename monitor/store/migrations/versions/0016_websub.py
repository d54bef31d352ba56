"""WebSub push: feeds.hub_url/hub_topic/push_until, the subscriptions and the push inbox

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Recorded by each parsed poll (hub, topic) and by the WebSub tick and callback (push_until).
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("hub_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("hub_topic", sa.Text(), nullable=True))
        batch.add_column(sa.Column("push_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "websub_subscriptions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("feed_id", sa.String(length=200), nullable=False),
        sa.Column("hub", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pending_mode", sa.String(length=16), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_seconds", sa.Integer(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_push_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pushes", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_websub_subscriptions_feed_id", "websub_subscriptions", ["feed_id"])
    op.create_table(
        "websub_pushes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("feed_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_websub_pushes_feed_id", "websub_pushes", ["feed_id"])


def downgrade() -> None:
    op.drop_index("ix_websub_pushes_feed_id", table_name="websub_pushes")
    op.drop_table("websub_pushes")
    op.drop_index("ix_websub_subscriptions_feed_id", table_name="websub_subscriptions")
    op.drop_table("websub_subscriptions")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("push_until")
        batch.drop_column("hub_topic")
        batch.drop_column("hub_url")
