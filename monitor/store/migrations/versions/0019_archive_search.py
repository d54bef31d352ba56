"""archive search: the full-text index of stored articles (search_terms, SQLite FTS5 / PostgreSQL GIN) and its queue

The index holds the product's own terms (folded tokens and word-form keys, monitor/match/terms.py), not
the database's tokenisation, so it never misses what the matcher would match. Those terms are computed
in Python, so triggers on `articles` only queue what changed (`search_pending`): the indexer
(`monitor search-index`, the service's housekeeping, each search) drains the queue, and search treats a
queued article as a candidate, so results are exact at every moment. Existing articles are queued here
(the backfill); deleted articles leave both tables by their foreign keys.

A later migration that rebuilds `articles` with SQLite's batch mode drops its triggers: recreate them
(`ARTICLE_TRIGGERS_SQLITE` below).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# A change of what is indexed (title, text, language) queues the article again; other updates do not.
_CHANGED = ("old.title IS NOT new.title OR old.summary_text IS NOT new.summary_text "
            "OR old.content_text IS NOT new.content_text OR old.language IS NOT new.language")

# The terms are single tokens separated by spaces; FTS5 must keep each one whole: letters, digits and
# marks of any script are token characters, and "~" (which starts a word-form key).
FTS5_TOKENIZE = "unicode61 remove_diacritics 0 categories 'L* N* M* Co' tokenchars '~'"

ARTICLE_TRIGGERS_SQLITE = (
    "CREATE TRIGGER search_queue_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO search_pending (article_id) VALUES (new.id); END",
    "CREATE TRIGGER search_queue_update AFTER UPDATE OF title, summary_text, content_text, language ON articles "
    f"WHEN {_CHANGED} BEGIN INSERT INTO search_pending (article_id) VALUES (new.id); END",
)

_SQLITE = (
    f"CREATE VIRTUAL TABLE search_fts USING fts5(terms, content='search_terms', content_rowid='id', "
    f"tokenize=\"{FTS5_TOKENIZE}\")",
    # External content: the FTS5 index follows search_terms (upserts by the indexer, cascaded deletes).
    "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_terms BEGIN "
    "INSERT INTO search_fts (rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_terms BEGIN "
    "INSERT INTO search_fts (search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER search_fts_update AFTER UPDATE ON search_terms BEGIN "
    "INSERT INTO search_fts (search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO search_fts (rowid, terms) VALUES (new.id, new.terms); END",
    *ARTICLE_TRIGGERS_SQLITE,
)

_POSTGRES = (
    "CREATE INDEX ix_search_terms_gin ON search_terms USING gin (terms)",
    "CREATE FUNCTION search_queue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO search_pending (article_id) VALUES (NEW.id); RETURN NULL; END $$",
    "CREATE TRIGGER search_queue_insert AFTER INSERT ON articles FOR EACH ROW EXECUTE FUNCTION search_queue()",
    "CREATE TRIGGER search_queue_update AFTER UPDATE OF title, summary_text, content_text, language ON articles "
    f"FOR EACH ROW WHEN ({_CHANGED.replace(' IS NOT ', ' IS DISTINCT FROM ').replace('old.', 'OLD.').replace('new.', 'NEW.')}) "
    "EXECUTE FUNCTION search_queue()",
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    terms_type = sa.Text() if sqlite else TSVECTOR()
    op.create_table(
        "search_terms",
        sa.Column("id", big, primary_key=True),
        sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("terms", terms_type, nullable=False),
    )
    op.create_index("ix_search_terms_article", "search_terms", ["article_id"], unique=True)
    op.create_table(
        "search_pending",
        sa.Column("seq", big, primary_key=True),
        sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_search_pending_article", "search_pending", ["article_id"])
    for statement in _SQLITE if sqlite else _POSTGRES:
        op.execute(statement)
    # The backfill: every stored article is queued; the indexer computes its terms.
    op.execute("INSERT INTO search_pending (article_id) SELECT id FROM articles ORDER BY published_at DESC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_queue_insert", "search_queue_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        for name in ("search_queue_insert", "search_queue_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON articles")
        op.execute("DROP FUNCTION IF EXISTS search_queue()")
    op.drop_table("search_pending")
    op.drop_table("search_terms")
