"""Reads of the stored archive for the use cases: articles published in a window, the feeds' own titles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select

from monitor.store.db import Database
from monitor.store.feeds import feed_title_in, feed_titles_in
from monitor.store.rows import ArticleRow


def articles_published_between(db: Database, start: datetime, end: datetime) -> Iterator[ArticleRow]:
    """The articles published in [start, end), newest first, read in batches (a backtest may cover years)."""
    with db.sessions() as session:
        yield from session.scalars(
            select(ArticleRow).where(ArticleRow.published_at >= start, ArticleRow.published_at < end)
            .order_by(ArticleRow.published_at.desc(), ArticleRow.id)
            .execution_options(yield_per=500)
        )


def feed_titles(db: Database) -> dict[str, str | None]:
    """Every feed's own title (from its last parsed `<title>`) by id."""
    with db.sessions() as session:
        return feed_titles_in(session)


def feed_title(db: Database, feed_id: str) -> str | None:
    """One feed's own title, or None for a feed the database does not hold."""
    with db.sessions() as session:
        return feed_title_in(session, feed_id)
