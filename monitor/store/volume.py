"""Volume series per watchlist entry: new distinct stories and articles per UTC hour, by publication time.

Indexed GROUP BY queries over a bounded window, not counters kept at ingest (docs/spikes.md, "Cost"):
the counts follow the articles as they are (clusters merged later, articles deleted by retention)
with nothing to keep in step, and the window a tick needs is read through covering indexes
(migration 0010).

A story is a cluster (`articles.cluster_id`; an article without one is its own story). It counts
once, in the hour of its earliest article that matched the entry *within the queried window*, so
hourly counts add up to any longer span without counting a story twice. Articles count in the hour
of their own publication time (`published_at`, never later than first-seen).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, func, select, text
from sqlalchemy.orm import Session

from monitor.store.db import Database
from monitor.store.rows import ArticleRow, MatchRow, Sighting

EntryKey = tuple[str, str]
"""(watchlist id, entry id)."""

_HOUR_KEY = "%Y-%m-%d %H"
SHORT_WINDOW = timedelta(days=1)
"""A window up to this long is read article by article (the spike tick's recent hours)."""


@dataclass(slots=True)
class EntryVolume:
    """One entry's hourly series: hour start (aware UTC) -> count; hours without any are absent."""

    stories: dict[datetime, int] = field(default_factory=dict)
    articles: dict[datetime, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopStory:
    """A story of a window, with the outlets (feeds) that carried its matching articles."""

    story_id: str
    title: str
    url: str
    published_at: datetime
    outlets: int
    articles: int


def _hour_key(session: Session) -> ColumnElement[Any]:
    """`published_at` as 'YYYY-MM-DD HH' in UTC, on either backend."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite stores naive UTC as ISO text ('2026-12-01 14:05:09.000000'): the hour is its first 13 characters.
        return func.substr(ArticleRow.published_at, 1, 13, type_=String)
    return func.to_char(func.timezone("UTC", ArticleRow.published_at), "YYYY-MM-DD HH24", type_=String)


def _story() -> ColumnElement[Any]:
    return func.coalesce(ArticleRow.cluster_id, ArticleRow.id)


def _hour(key: str) -> datetime:
    return datetime.strptime(key, _HOUR_KEY).replace(tzinfo=UTC)


def hourly_volume(db: Database, start: datetime, end: datetime, entry: EntryKey | None = None) -> dict[EntryKey, EntryVolume]:
    """Stories and articles per hour for every entry with a match published in [start, end), or just `entry`."""
    series: dict[EntryKey, EntryVolume] = defaultdict(EntryVolume)
    with db.sessions() as session:
        if session.get_bind().dialect.name == "postgresql" and end - start <= SHORT_WINDOW:
            # PostgreSQL costs a probe per windowed article above one pass over all matches and hashes them (at
            # 500k matches: ~400 ms against ~140 ms probing, benchmarks/README.md "Spikes"); the few thousand
            # articles of a short window are cheaper looked up one by one. LOCAL: for this transaction only.
            session.execute(text("SET LOCAL enable_hashjoin = off"))
            session.execute(text("SET LOCAL enable_mergejoin = off"))
        hour = _hour_key(session)
        where = [ArticleRow.published_at >= start, ArticleRow.published_at < end]
        if entry is not None:
            where += [MatchRow.watchlist == entry[0], MatchRow.entry_id == entry[1]]
        joined = select().select_from(MatchRow).join(ArticleRow, ArticleRow.id == MatchRow.article_id).where(*where)
        articles = joined.add_columns(MatchRow.watchlist, MatchRow.entry_id, hour, func.count()).group_by(
            MatchRow.watchlist, MatchRow.entry_id, hour
        )
        for watchlist, entry_id, key, count in session.execute(articles):
            series[(watchlist, entry_id)].articles[_hour(key)] = int(count)
        first = (
            joined.add_columns(MatchRow.watchlist, MatchRow.entry_id, func.min(hour).label("first_hour"))
            .group_by(MatchRow.watchlist, MatchRow.entry_id, _story())
            .subquery()
        )
        stories = select(first.c.watchlist, first.c.entry_id, first.c.first_hour, func.count()).group_by(
            first.c.watchlist, first.c.entry_id, first.c.first_hour
        )
        for watchlist, entry_id, key, count in session.execute(stories):
            series[(watchlist, entry_id)].stories[_hour(key)] = int(count)
    return dict(series)


def history_start(db: Database) -> datetime | None:
    """When the store first saw an article (the earliest first-seen time), None when it holds none."""
    with db.sessions() as session:
        first = session.scalar(select(func.min(ArticleRow.first_seen_at)))
    if isinstance(first, str):  # SQLite's MIN() returns the stored text, not the column's type
        first = datetime.fromisoformat(first)
    if first is None:
        return None
    return first.replace(tzinfo=UTC) if first.tzinfo is None else first.astimezone(UTC)


def top_stories(db: Database, entry: EntryKey, start: datetime, end: datetime, *, limit: int = 5) -> list[TopStory]:
    """The entry's stories published in [start, end), most outlets first (then earliest), with their first article."""
    with db.sessions() as session:
        story = _story()
        where = [MatchRow.watchlist == entry[0], MatchRow.entry_id == entry[1],
                 ArticleRow.published_at >= start, ArticleRow.published_at < end]
        ranked = session.execute(
            select(story, func.count(func.distinct(Sighting.feed_id)), func.count(func.distinct(ArticleRow.id)),
                   func.min(ArticleRow.published_at))
            .select_from(MatchRow).join(ArticleRow, ArticleRow.id == MatchRow.article_id)
            .outerjoin(Sighting, Sighting.article_id == ArticleRow.id)
            .where(*where).group_by(story)
            .order_by(func.count(func.distinct(Sighting.feed_id)).desc(), func.min(ArticleRow.published_at), story)
            .limit(limit)
        ).all()
        ids = [row[0] for row in ranked]
        firsts: dict[str, ArticleRow] = {}
        if ids:
            rows = session.execute(
                select(story, ArticleRow).join(MatchRow, MatchRow.article_id == ArticleRow.id)
                .where(*where, story.in_(ids)).order_by(ArticleRow.published_at, ArticleRow.id)
            ).all()
            for story_id, article in rows:
                firsts.setdefault(story_id, article)
    return [
        TopStory(story_id, firsts[story_id].title, firsts[story_id].url, firsts[story_id].published_at,
                 int(outlets), int(count))
        for story_id, outlets, count, _ in ranked if story_id in firsts
    ]
