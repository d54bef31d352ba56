"""feeds.kind: the format of the feed's last parsed body (rss, atom, rdf, json, sitemap)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
# Follows the spike state (0012).
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Recorded on each parsed poll (monitor/store/feeds.py record_poll_in); NULL until a feed is next parsed.
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("kind")
