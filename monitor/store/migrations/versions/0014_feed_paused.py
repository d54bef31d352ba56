"""feeds.paused: a feed paused in feeds.yaml (`paused: true`) is kept but never claimed, and shows as paused

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Set by the configuration sync (monitor/store/feeds.py FeedRepository.sync); a paused row is also inactive.
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("paused")
