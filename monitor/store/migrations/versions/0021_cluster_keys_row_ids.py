"""cluster_keys: rows by id, with an index on `key` alone (was: primary key (key, article_id))

Each band-key row landed at a random place in a B-tree whose entries carried the 32-character article
id; every page so touched is written again at commit. Now the rows are appended in id order and the
random inserts go to an index of (key, row id) entries about a third of the size: on SQLite ingest
wrote ~30% fewer bytes to the WAL. A (key, article) pair stored twice is harmless (candidates are looked up
by key and deduplicated), so no uniqueness is kept.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot change a table's primary key (nor WITHOUT ROWID) in place: copy it over.
        op.execute(
            "CREATE TABLE cluster_keys_new (id INTEGER NOT NULL, key BIGINT NOT NULL, "
            "article_id VARCHAR(64) NOT NULL, PRIMARY KEY (id))"
        )
        op.execute("INSERT INTO cluster_keys_new (key, article_id) SELECT key, article_id FROM cluster_keys")
        op.drop_table("cluster_keys")
        op.rename_table("cluster_keys_new", "cluster_keys")
    else:
        op.execute("ALTER TABLE cluster_keys DROP CONSTRAINT cluster_keys_pkey")
        op.execute("ALTER TABLE cluster_keys ADD COLUMN id BIGSERIAL PRIMARY KEY")
    op.create_index("ix_cluster_keys_key", "cluster_keys", ["key"])


def downgrade() -> None:
    op.drop_index("ix_cluster_keys_key", table_name="cluster_keys")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TABLE cluster_keys_old (key BIGINT NOT NULL, article_id VARCHAR(64) NOT NULL, "
            "PRIMARY KEY (key, article_id)) WITHOUT ROWID"
        )
        # A pair stored twice (allowed since 0021) is one row again.
        op.execute("INSERT OR IGNORE INTO cluster_keys_old (key, article_id) SELECT key, article_id FROM cluster_keys")
        op.drop_table("cluster_keys")
        op.rename_table("cluster_keys_old", "cluster_keys")
        return
    op.execute(
        "DELETE FROM cluster_keys a USING cluster_keys b "
        "WHERE a.key = b.key AND a.article_id = b.article_id AND a.id > b.id"
    )
    op.execute("ALTER TABLE cluster_keys DROP COLUMN id")
    op.execute("ALTER TABLE cluster_keys ADD CONSTRAINT cluster_keys_pkey PRIMARY KEY (key, article_id)")
