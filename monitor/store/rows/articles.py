"""What a refresh stores: articles, where they were seen, their cluster keys, matches and search terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.rows.base import Base, UTCDateTime, utcnow


class ArticleRow(Base):
    """One article, however many feeds carry it."""

    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    summary_html: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    summary_text: Mapped[str] = mapped_column(Text, default="")
    content_text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(16))
    # No index of its own: ix_articles_published_story below starts with it (migration 0022).
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_feed_id: Mapped[str | None] = mapped_column(String(200))
    cluster_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # The MinHash signature of its cluster text (32 packed values): candidates are screened with it
    # before their text is read (see monitor/store/clusters.py, PREFILTER). None for short texts.
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)

    # Covers the volume series of spike detection (monitor/store/volume.py, migration 0010) and every
    # query by publication time.
    __table_args__ = (Index("ix_articles_published_story", "published_at", "id", "cluster_id"),)


class Sighting(Base):
    """An article seen in a feed."""

    __tablename__ = "sightings"

    article_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    feed_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_sightings_feed", "feed_id", "first_seen_at"),)


class ClusterKey(Base):
    """One LSH band key of an article's MinHash signature: articles sharing a key are cluster candidates."""

    __tablename__ = "cluster_keys"
    # A 20-item feed writes ~320 of these rows at random keys, and every B-tree page such a row lands
    # on is written to the WAL at commit. The rows go in id order (appended) and only the index on
    # `key` is random: its entries hold the key and the row id (~17 bytes) where a (key, article_id)
    # primary key held the 32-character id as well (~48 bytes), so the random writes touch ~3x fewer
    # pages (migration 0021). No foreign key and no article_id index: each extra B-tree or key check
    # was paid for on every row. Whoever deletes or re-indexes an article deletes its keys by
    # recomputing them from its stored text (`stored_band_keys`); a key left behind only names a
    # candidate that the exact check then does not find.
    __table_args__ = (Index("ix_cluster_keys_key", "key"),)

    # INTEGER on SQLite: the rowid itself (a BIGINT primary key would be a second B-tree).
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    key: Mapped[int] = mapped_column(BigInteger)
    article_id: Mapped[str] = mapped_column(String(64))


class MatchRow(Base):
    """A watchlist entry that matched an article, with the spans that made it true."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(64), ForeignKey("articles.id", ondelete="CASCADE"))
    watchlist: Mapped[str] = mapped_column(String(200))
    entry_kind: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str] = mapped_column(String(200))
    entry_name: Mapped[str] = mapped_column(Text)
    highlights: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Highlights found beyond those kept (MAX_HIGHLIGHTS_PER_FIELD per field): shown as "and N more".
    more_highlights: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    snippet: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (
        UniqueConstraint("article_id", "watchlist", "entry_id", name="uq_match_entry"),
        # The inbox's watchlist and entry filters start from the matches of that entry.
        Index("ix_matches_entry", "watchlist", "entry_id"),
    )


class SearchTerms(Base):
    """An article's full-text index terms (monitor/match/terms.py), written by the indexer (monitor/store/search.py).

    PostgreSQL: a tsvector with a GIN index (`ix_search_terms_gin`). SQLite: the terms separated by
    spaces, indexed by the FTS5 table `search_fts` (external content: this table, kept in step by
    triggers; `id` is its rowid). Both are created by migration 0019, outside this metadata.
    """

    __tablename__ = "search_terms"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), ForeignKey("articles.id", ondelete="CASCADE"))
    terms: Mapped[str] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))

    __table_args__ = (Index("ix_search_terms_article", "article_id", unique=True),)


class SearchPending(Base):
    """An article inserted or changed since it was indexed: filled by triggers on `articles` (migration 0019).

    Search treats every pending article as a candidate, so results are exact before the indexer catches up.
    """

    __tablename__ = "search_pending"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), ForeignKey("articles.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_search_pending_article", "article_id"),)


NOT_IN_METADATA = ("search_fts", "ix_search_terms_gin")
"""Schema objects of migration 0019 that SQLAlchemy cannot describe (FTS5 tables, a GIN index): autogenerate skips them."""


def in_metadata(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name`: False for the full-text objects created by hand in migration 0019."""
    return not (name or "").startswith(NOT_IN_METADATA)
