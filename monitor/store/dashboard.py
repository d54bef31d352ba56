"""Read-only queries for the dashboard, the JSON API and /metrics (never writes)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from monitor.clock import day_window, days_between, local_day
from monitor.store.db import Database
from monitor.store.feeds import FeedHealth
from monitor.store.rows import ArticleRow, Delivery, Feed, MatchRow, RoutedItem, Sighting
from monitor.store.websub import subscriptions_by_feed_in

FEED_SORTS = ("id", "name", "status", "last_polled_at", "next_poll_at", "errors", "items_per_day", "fetch_ms")


@dataclass(frozen=True, slots=True)
class Overview:
    """The numbers at the top of the Overview page."""

    feeds: int
    feeds_polled_24h: int
    feeds_failing: int
    articles_24h: int
    articles_total: int
    matches_24h: int
    deliveries_pending: int
    deliveries_failed: int
    last_cycle_at: datetime | None
    last_success_at: datetime | None
    matches_per_day: dict[str, dict[date, int]]  # watchlist -> publication day (configured zone) -> count
    chart_days: list[date]  # the days of matches_per_day's window, oldest first


@dataclass(frozen=True, slots=True)
class FeedStats(FeedHealth):
    """One feed's row on the Feeds page: its health plus fetch time and a per-day item series."""

    last_fetch_ms: float | None = None
    per_day: list[int] = field(default_factory=list)  # oldest first, one value per day of the window


@dataclass(frozen=True, slots=True)
class MatchView:
    """A stored match with its article's title, URL and publication time."""

    id: int
    article_id: str
    article_title: str
    article_url: str
    published_at: datetime
    watchlist: str
    entry_kind: str
    entry_id: str
    entry_name: str
    highlights: list[dict[str, Any]]
    snippet: str
    created_at: datetime
    more_highlights: int = 0


@dataclass(frozen=True, slots=True)
class ArticleDetail:
    """An article with its matches, the feeds that carried it and the deliveries that took it out."""

    article: ArticleRow
    matches: list[MatchRow]
    sightings: list[tuple[str, str, datetime]]  # feed id, feed name, first seen
    deliveries: list[Delivery]


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """What /metrics reports, read in one go at scrape time."""

    feeds_by_outcome: dict[str, int]
    fetch_ms: list[float]
    articles: int
    matches_by_watchlist: dict[str, int]
    deliveries_by_status: dict[str, int]
    queue_depth: int
    routed_waiting: int
    last_poll_at: datetime | None


class Dashboard:
    """Read-only views over the database; days are calendar days in `zone` (monitor.yaml's timezone)."""

    def __init__(self, db: Database, zone: tzinfo = UTC) -> None:
        self.db = db
        self.zone = zone

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        with self.db.sessions() as session:
            session.execute(text("SELECT 1"))

    # ------------------------------------------------------------ overview

    def overview(self, now: datetime, *, days: int = 14) -> Overview:
        """Counts for the last 24 hours, and matches per watchlist per publication day over `days` days."""
        day_ago = now - timedelta(days=1)
        window = day_window(now, days, self.zone)
        with self.db.sessions() as session:
            feeds = session.scalars(select(Feed).where(Feed.active.is_(True))).all()
            deliveries = self._deliveries_by_status(session)
            per_day: dict[str, dict[date, int]] = defaultdict(dict)
            rows = session.execute(
                select(MatchRow.watchlist, ArticleRow.published_at).join(ArticleRow, ArticleRow.id == MatchRow.article_id)
                .where(ArticleRow.published_at >= window.start, ArticleRow.published_at < window.end)
            ).all()
            # Bucketed in Python: date and time zone functions differ between SQLite and PostgreSQL.
            counts: Counter[tuple[str, date]] = Counter((w, local_day(p, self.zone)) for w, p in rows)
            for (watchlist, day), count in counts.items():
                per_day[watchlist][day] = count
            return Overview(
                feeds=len(feeds),
                feeds_polled_24h=sum(1 for f in feeds if f.last_polled_at and f.last_polled_at >= day_ago),
                feeds_failing=sum(1 for f in feeds if f.error_kind),
                articles_24h=self._count(session, select(func.count()).select_from(ArticleRow)
                                         .where(ArticleRow.first_seen_at >= day_ago)),
                articles_total=self._count(session, select(func.count()).select_from(ArticleRow)),
                matches_24h=self._count(session, select(func.count()).select_from(MatchRow)
                                        .where(MatchRow.created_at >= day_ago)),
                deliveries_pending=deliveries.get("pending", 0),
                deliveries_failed=deliveries.get("failed", 0),
                last_cycle_at=max((f.last_polled_at for f in feeds if f.last_polled_at), default=None),
                last_success_at=max((f.last_success_at for f in feeds if f.last_success_at), default=None),
                matches_per_day=dict(per_day),
                chart_days=window.days,
            )

    @staticmethod
    def _count(session: Session, stmt: Select[Any]) -> int:
        return int(session.execute(stmt).scalar_one() or 0)

    @staticmethod
    def _deliveries_by_status(session: Session) -> dict[str, int]:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        return {str(status): int(count) for status, count in rows}

    # ------------------------------------------------------------ feeds

    def feeds(self, now: datetime, *, sort: str = "id", descending: bool = False, days: int = 14) -> list[FeedStats]:
        """Every feed's health with items first seen per day (last week) and a per-day series for a sparkline."""
        # First-seen, not publication: this is the feed's health (what the poller brought in each day).
        window = day_window(now, days, self.zone)
        since = window.start
        week_ago = now - timedelta(days=7)
        with self.db.sessions() as session:
            seen = session.execute(
                select(Sighting.feed_id, Sighting.first_seen_at).where(Sighting.first_seen_at >= since)
            ).all()
            # In id order: sort_feeds is stable, so feeds that tie on the sort key stay in id order. Without
            # it ties came in storage order, which differs between backends and, on PostgreSQL, changes
            # whenever a poll updates a feed row (pages of /api/feeds could overlap or skip feeds).
            rows = session.scalars(select(Feed).order_by(Feed.id)).all()
            subs = subscriptions_by_feed_in(session)
        series: dict[str, Counter[date]] = defaultdict(Counter)
        week: Counter[str] = Counter()
        for feed_id, first_seen in seen:
            series[feed_id][local_day(first_seen, self.zone)] += 1
            if first_seen >= week_ago:
                week[feed_id] += 1
        result = [
            FeedStats.from_row(
                r, items_per_day=round(week[r.id] / 7, 2), last_fetch_ms=r.last_fetch_ms,
                per_day=[series[r.id][d] for d in window.days], subscription=subs.get(r.id),
            )
            for r in rows
        ]
        return sort_feeds(result, sort, descending)

    # ------------------------------------------------------------ matches and articles

    def matches(
        self, *, watchlist: str | None = None, entry: str | None = None, feed: str | None = None,
        day_from: date | None = None, day_to: date | None = None, limit: int = 50, offset: int = 0,
    ) -> tuple[list[MatchView], int]:
        """Matches, newest published first, filtered (days: publication days in the zone); a page and the total."""
        stmt = select(MatchRow, ArticleRow.title, ArticleRow.url, ArticleRow.published_at).join(
            ArticleRow, ArticleRow.id == MatchRow.article_id
        )
        if watchlist:
            stmt = stmt.where(MatchRow.watchlist == watchlist)
        if entry:
            stmt = stmt.where(MatchRow.entry_id == entry)
        if feed:
            stmt = stmt.where(
                select(Sighting.article_id)
                .where(Sighting.article_id == MatchRow.article_id, Sighting.feed_id == feed)
                .exists()
            )
        start, end = days_between(day_from, day_to, self.zone)
        if start is not None:
            stmt = stmt.where(ArticleRow.published_at >= start)
        if end is not None:
            stmt = stmt.where(ArticleRow.published_at < end)
        with self.db.sessions() as session:
            total = self._count(session, select(func.count()).select_from(stmt.subquery()))
            rows = session.execute(
                stmt.order_by(ArticleRow.published_at.desc(), MatchRow.id.desc()).limit(limit).offset(offset)
            ).all()
        return [
            MatchView(
                id=m.id, article_id=m.article_id, article_title=title, article_url=url, published_at=published,
                watchlist=m.watchlist, entry_kind=m.entry_kind, entry_id=m.entry_id, entry_name=m.entry_name,
                highlights=list(m.highlights or []), snippet=m.snippet, created_at=m.created_at,
                more_highlights=m.more_highlights or 0,
            )
            for m, title, url, published in rows
        ], total

    def match_facets(self) -> tuple[list[str], list[tuple[str, str]], list[str]]:
        """Watchlists, (watchlist, entry) pairs and feed ids that occur, for the filter drop-downs."""
        # Sorted in Python, like the watchlists: ORDER BY on text follows the database's collation, and a
        # PostgreSQL database created with a linguistic one (en_US: case and punctuation count only on ties)
        # ordered ids differently from SQLite's code-point order.
        with self.db.sessions() as session:
            entries = sorted((str(w), str(e)) for w, e in session.execute(
                select(MatchRow.watchlist, MatchRow.entry_id).distinct()
            ).all())
            feeds = sorted(session.scalars(select(Feed.id)))
        watchlists = sorted({w for w, _ in entries})
        return watchlists, entries, feeds

    def articles(self, *, limit: int = 50, offset: int = 0) -> tuple[list[tuple[ArticleRow, int]], int]:
        """Articles newest first with their match counts; one page and the total."""
        counts = (
            select(MatchRow.article_id, func.count().label("n")).group_by(MatchRow.article_id).subquery()
        )
        stmt = (
            select(ArticleRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.article_id == ArticleRow.id)
            .order_by(ArticleRow.first_seen_at.desc(), ArticleRow.published_at.desc(), ArticleRow.id)
            .limit(limit).offset(offset)
        )
        with self.db.sessions() as session:
            total = self._count(session, select(func.count()).select_from(ArticleRow))
            rows = [(a, int(n)) for a, n in session.execute(stmt).all()]
        return rows, total

    def article(self, article_id: str) -> ArticleDetail | None:
        """One article with everything known about it, or None."""
        with self.db.sessions() as session:
            article = session.get(ArticleRow, article_id)
            if article is None:
                return None
            matches = list(session.scalars(
                select(MatchRow).where(MatchRow.article_id == article_id)
                .order_by(MatchRow.watchlist, MatchRow.entry_kind, MatchRow.entry_id)
            ))
            sightings = [
                (feed_id, name or title or feed_id, first_seen)
                for feed_id, name, title, first_seen in session.execute(
                    select(Sighting.feed_id, Feed.name, Feed.title, Sighting.first_seen_at)
                    .outerjoin(Feed, Feed.id == Sighting.feed_id)
                    .where(Sighting.article_id == article_id)
                    .order_by(Sighting.first_seen_at, Sighting.feed_id)
                ).all()
            ]
            deliveries = list(session.scalars(
                select(Delivery).where(
                    Delivery.id.in_(select(RoutedItem.delivery_id).where(RoutedItem.article_id == article_id))
                ).order_by(Delivery.created_at, Delivery.id)
            ))
        return ArticleDetail(article, matches, sightings, deliveries)

    # ------------------------------------------------------------ deliveries

    def deliveries(
        self, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[Delivery], int]:
        """Outbox rows newest first (empty digest markers left out); one page and the total."""
        stmt = select(Delivery).where(Delivery.status != "empty")
        if status:
            stmt = stmt.where(Delivery.status == status)
        with self.db.sessions() as session:
            total = self._count(session, select(func.count()).select_from(stmt.subquery()))
            rows = list(session.scalars(
                stmt.order_by(Delivery.created_at.desc(), Delivery.id).limit(limit).offset(offset)
            ))
        return rows, total

    def delivery(self, delivery_id: str) -> Delivery | None:
        """One delivery row, or None."""
        with self.db.sessions() as session:
            return session.get(Delivery, delivery_id)

    # ------------------------------------------------------------ operations

    def metrics(self) -> MetricsSnapshot:
        """Everything /metrics exposes, from the current state of the database."""
        with self.db.sessions() as session:
            feeds = session.execute(
                select(Feed.active, Feed.disabled_reason, Feed.last_status, Feed.error_kind, Feed.last_fetch_ms,
                       Feed.last_polled_at)
            ).all()
            matches = session.execute(select(MatchRow.watchlist, func.count()).group_by(MatchRow.watchlist)).all()
            articles = self._count(session, select(func.count()).select_from(ArticleRow))
            deliveries = self._deliveries_by_status(session)
            waiting = self._count(
                session, select(func.count()).select_from(RoutedItem).where(RoutedItem.delivery_id.is_(None))
            )
        outcomes: Counter[str] = Counter()
        for active, disabled, status, error_kind, _ms, polled in feeds:
            if not active:
                continue
            outcomes[feed_outcome(disabled, status, error_kind, polled)] += 1
        return MetricsSnapshot(
            feeds_by_outcome=dict(outcomes),
            fetch_ms=[float(row[4]) for row in feeds if row[0] and row[4] is not None],
            articles=articles,
            matches_by_watchlist={str(w): int(n) for w, n in matches},
            deliveries_by_status=deliveries,
            queue_depth=deliveries.get("pending", 0),
            routed_waiting=waiting,
            last_poll_at=max((row[5] for row in feeds if row[0] and row[5]), default=None),
        )


def feed_outcome(disabled: str | None, status: int | None, error_kind: str | None, polled: datetime | None) -> str:
    """The outcome of a feed's last poll: ok, not_modified, never, disabled or the error kind."""
    if disabled:
        return "disabled"
    if polled is None:
        return "never"
    if error_kind:
        return error_kind
    return "not_modified" if status == 304 else "ok"


def sort_feeds(feeds: list[FeedStats], sort: str, descending: bool) -> list[FeedStats]:
    """Feeds sorted by one of FEED_SORTS; missing values always last."""
    keys: dict[str, Any] = {
        "id": lambda f: f.id,
        "name": lambda f: f.name.casefold(),
        "status": lambda f: (f.error_kind or "", f.last_status or 0),
        "last_polled_at": lambda f: f.last_polled_at,
        "next_poll_at": lambda f: f.next_poll_at,
        "errors": lambda f: f.consecutive_errors,
        "items_per_day": lambda f: f.items_per_day,
        "fetch_ms": lambda f: f.last_fetch_ms,
    }
    key = keys.get(sort, keys["id"])
    present = [f for f in feeds if key(f) is not None]
    missing = [f for f in feeds if key(f) is None]
    return sorted(present, key=key, reverse=descending) + sorted(missing, key=lambda f: f.id)

