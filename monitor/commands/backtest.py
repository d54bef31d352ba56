"""`monitor backtest`: what a query or a watchlist entry would have matched in the archive."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from monitor.clock import MAX_DAYS, day_window, local_day
from monitor.config.models import Config
from monitor.errors import MonitorError, QuerySyntaxError
from monitor.match import CompiledWatchlists, compile_adhoc
from monitor.match.query import QueryWarning, parse_query_with_warnings
from monitor.model import Match
from monitor.store.articles import published_before
from monitor.store.db import Database
from monitor.store.models import ArticleRow
from monitor.usecases.documents import document_for, stored_labels

_ENTRY = re.compile(r"^([a-z0-9][a-z0-9_.-]*)/([a-z0-9][a-z0-9_.-]*)$")


@dataclass(frozen=True, slots=True)
class BacktestHit:
    """A stored article the query matches."""

    article_id: str
    title: str
    url: str
    published_at: datetime
    match: Match


def backtest(config: Config, db: Database, query: str, *, days: int, now: datetime) -> Iterator[BacktestHit]:
    """Run a query (or `list/entry`) over the articles published in the last `days` days, newest first.

    The days are calendar days in monitor.yaml's `timezone:`, today included (see monitor/clock.py).
    """
    matcher = _matcher_for(config, query)
    window = day_window(now, days, ZoneInfo(config.settings.timezone))
    with db.sessions() as session:
        labels = stored_labels(config, session, every_feed=True)
        rows = session.scalars(
            select(ArticleRow).where(ArticleRow.published_at >= window.start, ArticleRow.published_at < window.end)
            .order_by(ArticleRow.published_at.desc(), ArticleRow.id)
            .execution_options(yield_per=500)
        )
        for row in rows:
            match = matcher(document_for(row, labels(row.first_feed_id)))
            if match is not None:
                yield BacktestHit(row.id, row.title, row.url, row.published_at, match)


def _matcher_for(config: Config, query: str) -> Callable[..., Match | None]:
    entry = _ENTRY.match(query.strip())
    if entry and entry.group(1) in config.watchlists:
        watchlist_id, entry_id = entry.groups()
        watchlist = config.watchlists[watchlist_id]
        if entry_id not in watchlist.entry_ids():
            raise MonitorError(f"watchlist {watchlist_id!r} has no entry {entry_id!r}")
        compiled = CompiledWatchlists.compile(config.watchlists)

        def by_entry(document: object) -> Match | None:
            for match in compiled.match(document, [watchlist_id]):  # type: ignore[arg-type]
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


def describe_query_note(query: str, kind: str, message: str, column: int | None, hint: str | None) -> str:
    """An error or warning about a one-line query: message, the query with a caret, the hint."""
    lines = [f"query {kind}" + (f" at column {column}" if column else "") + f": {message}"]
    if column and "\n" not in query:
        lines += [f"  {query}", "  " + " " * (column - 1) + "^"]
    if hint:
        lines.append(f"  hint: {hint}")
    return "\n".join(lines)


def run_backtest(
    config: Config, db: Database, query: str, *, days: int, limit: int, now: datetime, out: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
) -> int:
    """Print hits with snippets and a count per publication day; returns the number of hits."""
    for warning in query_warnings(config, query):
        (warn or out)(describe_query_note(query, "warning", warning.message, warning.column, warning.hint))
    zone = ZoneInfo(config.settings.timezone)
    per_day: Counter[date] = Counter()
    shown = 0
    for hit in backtest(config, db, query, days=days, now=now):
        published = hit.published_at.astimezone(zone)
        per_day[published.date()] += 1
        if shown < limit:
            out(f"{published:%Y-%m-%d %H:%M %Z}  {hit.title}\n  {hit.url}\n  {hit.match.snippet}\n")
            shown += 1
    total = sum(per_day.values())
    out(f"{total} article(s) matched among those published in the last {days} days ({zone.key})"
        + (f" (first {shown} shown)" if total > shown else ""))
    width = max(per_day.values(), default=0)
    for day in sorted(per_day):
        bar = "█" * max(1, round(40 * per_day[day] / width))
        out(f"  {day.isoformat()}  {per_day[day]:>5}  {bar}")
    older = older_articles(db, now, days, zone) if not total else None
    if older is not None:
        out(older.hint())
    return total


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


def older_articles(db: Database, now: datetime, days: int, zone: ZoneInfo) -> OlderArticles | None:
    """The stored articles published before the window of the last `days` days, or None when there are none."""
    window = day_window(now, days, zone)
    count, oldest = published_before(db, window.start)
    if not count or oldest is None:
        return None
    oldest_day = local_day(oldest, zone)
    return OlderArticles(count, window.days[0], oldest_day, (local_day(now, zone) - oldest_day).days + 1)
