"""Per-entry reads for the watchlist pages: matches per entry over a window, an entry's matched articles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from monitor.store.db import Database, database_errors
from monitor.store.rows import ArticleRow, MatchRow


def matches_per_entry(db: Database, since: datetime, until: datetime) -> dict[tuple[str, str], int]:
    """(watchlist id, entry id) -> matched articles published in [since, until)."""
    query = (
        select(MatchRow.watchlist, MatchRow.entry_id, func.count(MatchRow.id))
        .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
        .where(ArticleRow.published_at >= since, ArticleRow.published_at < until)
        .group_by(MatchRow.watchlist, MatchRow.entry_id)
    )
    with database_errors(), db.sessions() as session:
        return {(wl, entry): int(count) for wl, entry, count in session.execute(query)}


def article_row(db: Database, article_id: str) -> ArticleRow | None:
    """One stored article, or None."""
    with database_errors(), db.sessions() as session:
        return session.get(ArticleRow, article_id)


def matched_articles(db: Database, watchlist: str, entry_id: str, *, limit: int = 200) -> list[ArticleRow]:
    """The newest stored articles an entry matched (what its relevant matches look like)."""
    query = (
        select(ArticleRow).join(MatchRow, MatchRow.article_id == ArticleRow.id)
        .where(MatchRow.watchlist == watchlist, MatchRow.entry_id == entry_id)
        .order_by(ArticleRow.published_at.desc()).limit(limit)
    )
    with database_errors(), db.sessions() as session:
        return list(session.scalars(query))
