"""subscriber_state.unsubscribed_at/_address and stored_secrets: unsubscribe links that work

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriber_state") as batch:
        batch.add_column(sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("unsubscribed_address", sa.Text(), nullable=True))
    # The key that signs unsubscribe links, generated on first use (monitor/store/subscriptions.py).
    op.create_table(
        "stored_secrets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("stored_secrets")
    with op.batch_alter_table("subscriber_state") as batch:
        batch.drop_column("unsubscribed_address")
        batch.drop_column("unsubscribed_at")
