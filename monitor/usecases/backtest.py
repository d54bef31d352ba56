"""Backtest: what a query or a watchlist entry would have matched among the stored articles.

Shared by `monitor backtest` (which prints the result) and the web's "Try a query" page and
`/api/query` (which render it). The days are calendar days in monitor.yaml's `timezone:`, today
included (see monitor/clock.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from monitor.clock import MAX_DAYS, DayWindow, day_window, local_day
from monitor.config.models import Config
from monitor.errors import MonitorError, QuerySyntaxError
from monitor.match import CompiledWatchlists, compile_adhoc
from monitor.match.documents import document_for
from monitor.match.query import QueryWarning, parse_query_with_warnings
from monitor.model import Document, Match
from monitor.store.archive import articles_published_between
from monitor.store.articles import published_before
from monitor.store.db import Database
from monitor.store.rows import ArticleRow
from monitor.store.search import SearchFilters, candidates
from monitor.usecases.candidates import index_query, rows_in_order
from monitor.usecases.match_documents import stored_labels

_ENTRY = re.compile(r"^([a-z0-9][a-z0-9_.-]*)/([a-z0-9][a-z0-9_.-]*)$")


@dataclass(frozen=True, slots=True)
class BacktestHit:
    """A stored article the query matches."""

    article_id: str
    title: str
    url: str
    published_at: datetime
    match: Match


@dataclass(frozen=True, slots=True)
class OlderArticles:
    """Stored articles published before a window: how many, the oldest's day, the days that reach it."""

    count: int
    window_first_day: date
    oldest_day: date
    days_needed: int

    def hint(self, option: str = "--days") -> str:
        """E.g. `57 stored article(s) were published before 2026-11-07 (...); --days 760 includes them`."""
        reach = f"{option} {self.days_needed}" if self.days_needed <= MAX_DAYS else f"{option} {MAX_DAYS} (the most)"
        return (f"{self.count} stored article(s) were published before {self.window_first_day.isoformat()} "
                f"(the oldest on {self.oldest_day.isoformat()}); {reach} includes them")


@dataclass(slots=True)
class BacktestResult:
    """One page of hits (`offset`, `limit`), the total, and the hits per publication day in `zone`."""

    query: str
    days: int
    zone: ZoneInfo
    window: DayWindow
    hits: list[BacktestHit] = field(default_factory=list)
    total: int = 0
    per_day: Counter[date] = field(default_factory=Counter)
    older: OlderArticles | None = None  # with no hit: the stored articles published before the window


def run_backtest(
    config: Config, db: Database, query: str, *, days: int, now: datetime, limit: int = 50, offset: int = 0,
) -> BacktestResult:
    """Run a query (or `list/entry`) over the articles published in the last `days` days.

    Raises QuerySyntaxError for a query that does not parse, MonitorError for an unknown @actor or an
    entry the watchlist does not have. Its warnings are `query_warnings`, asked first by the callers.
    """
    zone = ZoneInfo(config.settings.timezone)
    result = BacktestResult(query, days, zone, day_window(now, days, zone))
    for hit in backtest(config, db, query, days=days, now=now):
        if offset <= result.total < offset + limit:
            result.hits.append(hit)
        result.total += 1
        result.per_day[local_day(hit.published_at, zone)] += 1
    if not result.total:
        result.older = older_articles(db, now, days, zone)
    return result


def backtest(config: Config, db: Database, query: str, *, days: int, now: datetime) -> Iterator[BacktestHit]:
    """The hits of a query (or `list/entry`) among the articles published in the last `days` days, newest first."""
    matcher = matcher_for(config, query)
    window = day_window(now, days, ZoneInfo(config.settings.timezone))
    labels = stored_labels(config, db, every_feed=True)
    wanted = index_query(config, query)
    if wanted is None:  # no indexable term: every article of the window
        rows: Iterable[ArticleRow] = articles_published_between(db, window.start, window.end)
    else:  # the full-text index's candidates (a superset of the hits), newest first as the scan
        found = candidates(db, wanted, SearchFilters(start=window.start, end=window.end))
        rows = rows_in_order(db, [article_id for article_id, _ in found])
    for row in rows:
        match = matcher(document_for(row, labels(row.first_feed_id)))
        if match is not None:
            yield BacktestHit(row.id, row.title, row.url, row.published_at, match)


def matcher_for(config: Config, query: str) -> Callable[[Document], Match | None]:
    """The matcher of a query, or of `list/entry` (that entry of the configured watchlists)."""
    entry = _ENTRY.match(query.strip())
    if entry and entry.group(1) in config.watchlists:
        watchlist_id, entry_id = entry.groups()
        watchlist = config.watchlists[watchlist_id]
        if entry_id not in watchlist.entry_ids():
            raise MonitorError(f"watchlist {watchlist_id!r} has no entry {entry_id!r}")
        compiled = CompiledWatchlists.compile(config.watchlists)

        def by_entry(document: Document) -> Match | None:
            for match in compiled.match(document, [watchlist_id]):
                if match.id == entry_id:
                    return match
            return None

        return by_entry
    adhoc = compile_adhoc(query, config.watchlists)
    return adhoc.match


def query_warnings(config: Config, query: str) -> list[QueryWarning]:
    """What an ad-hoc query does that its author probably did not mean (none for `list/entry`)."""
    entry = _ENTRY.match(query.strip())
    if entry and entry.group(1) in config.watchlists:
        return []  # a watchlist entry: its warnings are the configuration's
    try:
        return parse_query_with_warnings(query)[1]
    except QuerySyntaxError:
        return []


def older_articles(db: Database, now: datetime, days: int, zone: ZoneInfo) -> OlderArticles | None:
    """The stored articles published before the window of the last `days` days, or None when there are none."""
    window = day_window(now, days, zone)
    count, oldest = published_before(db, window.start)
    if not count or oldest is None:
        return None
    oldest_day = local_day(oldest, zone)
    return OlderArticles(count, window.days[0], oldest_day, (local_day(now, zone) - oldest_day).days + 1)
