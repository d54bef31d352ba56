"""cheaper article inserts: one index fewer, the search queue filled once per statement, lz4 text

Each stored article paid for work that bought nothing (benchmarks/README.md, PostgreSQL's CPU):

- `ix_articles_published_at` is a prefix of `ix_articles_published_story` (published_at, id,
  cluster_id, migration 0010): every query by publication time can use the longer index, so the
  short one was only one more B-tree to update per article (both backends).
- PostgreSQL: the search queue's insert trigger (migration 0019) ran a PL/pgSQL function and its
  INSERT for each new article; a statement trigger with a transition table queues all the
  statement's new articles with one INSERT, in the same order (the queue's `seq`), so the indexer
  sees exactly the same queue. The update trigger stays per row (it compares old and new values).
- PostgreSQL 14+ built with lz4: the articles' texts are compressed with lz4 instead of pglz when
  they are stored out of line or compressed (new values only; both read back the same).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TEXTS = ("summary_html", "content_html", "summary_text", "content_text")

_STATEMENT_TRIGGER = (
    "CREATE FUNCTION search_queue_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO search_pending (article_id) SELECT id FROM new_articles; RETURN NULL; END $$",
    "DROP TRIGGER search_queue_insert ON articles",
    "CREATE TRIGGER search_queue_insert AFTER INSERT ON articles REFERENCING NEW TABLE AS new_articles "
    "FOR EACH STATEMENT EXECUTE FUNCTION search_queue_statement()",
)
_ROW_TRIGGER = (
    "DROP TRIGGER search_queue_insert ON articles",
    "CREATE TRIGGER search_queue_insert AFTER INSERT ON articles FOR EACH ROW EXECUTE FUNCTION search_queue()",
    "DROP FUNCTION search_queue_statement()",
)


def _has_lz4() -> bool:
    bind = op.get_bind()
    return bool(bind.exec_driver_sql(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
    ).scalar())


def upgrade() -> None:
    op.drop_index("ix_articles_published_at", table_name="articles")
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _STATEMENT_TRIGGER:
        op.execute(statement)
    if _has_lz4():
        for column in _TEXTS:
            op.execute(f"ALTER TABLE articles ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in _TEXTS:
            op.execute(f"ALTER TABLE articles ALTER COLUMN {column} SET COMPRESSION default")
        for statement in _ROW_TRIGGER:
            op.execute(statement)
    op.create_index("ix_articles_published_at", "articles", ["published_at"])
