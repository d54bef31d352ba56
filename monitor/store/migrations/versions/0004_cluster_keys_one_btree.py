"""cluster_keys: the primary key alone (no foreign key, no article_id index; WITHOUT ROWID on SQLite)

Ingest writes ~16 band-key rows per new article; each extra B-tree and foreign-key check cost time
on every row. Keys are now deleted by recomputing them from the article's stored text.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a foreign key or turn a table WITHOUT ROWID in place: copy it over.
        op.execute(
            "CREATE TABLE cluster_keys_new (key BIGINT NOT NULL, article_id VARCHAR(64) NOT NULL, "
            "PRIMARY KEY (key, article_id)) WITHOUT ROWID"
        )
        op.execute("INSERT INTO cluster_keys_new (key, article_id) SELECT key, article_id FROM cluster_keys")
        op.drop_index("ix_cluster_keys_article_id", table_name="cluster_keys")
        op.drop_table("cluster_keys")
        op.rename_table("cluster_keys_new", "cluster_keys")
        return
    op.drop_index("ix_cluster_keys_article_id", table_name="cluster_keys")
    op.drop_constraint("cluster_keys_article_id_fkey", "cluster_keys", type_="foreignkey")


def downgrade() -> None:
    # Keys of articles deleted meanwhile have no article: drop them so the foreign key holds.
    op.execute("DELETE FROM cluster_keys WHERE article_id NOT IN (SELECT id FROM articles)")
    if op.get_bind().dialect.name == "sqlite":
        op.create_table(
            "cluster_keys_old",
            sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("article_id", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("key", "article_id"),
        )
        op.execute("INSERT INTO cluster_keys_old (key, article_id) SELECT key, article_id FROM cluster_keys")
        op.drop_table("cluster_keys")
        op.rename_table("cluster_keys_old", "cluster_keys")
    else:
        op.create_foreign_key(
            "cluster_keys_article_id_fkey", "cluster_keys", "articles", ["article_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index("ix_cluster_keys_article_id", "cluster_keys", ["article_id"])
