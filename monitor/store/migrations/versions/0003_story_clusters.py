"""cluster_keys: LSH band keys of article MinHash signatures, for story clusters across processes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_keys",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "article_id"),
    )
    # Deleting or re-indexing an article finds its keys by article id (and the cascade needs it too).
    op.create_index("ix_cluster_keys_article_id", "cluster_keys", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_cluster_keys_article_id", table_name="cluster_keys")
    op.drop_table("cluster_keys")
