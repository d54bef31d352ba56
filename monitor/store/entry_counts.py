"""Matches per watchlist entry over a window of publication time (the watchlists page's "last 7 days")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from monitor.store.db import Database, database_errors
from monitor.store.models import ArticleRow, MatchRow


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
