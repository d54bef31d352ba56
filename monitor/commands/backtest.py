"""`monitor backtest`: what a query or a watchlist entry would have matched in the archive."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from monitor.commands.documents import document_from_row
from monitor.config.models import Config
from monitor.errors import MonitorError, QuerySyntaxError
from monitor.match import CompiledWatchlists, compile_adhoc
from monitor.match.query import QueryWarning, parse_query_with_warnings
from monitor.match.types import Match
from monitor.store.db import Database
from monitor.store.models import Article

_ENTRY = re.compile(r"^([a-z0-9][a-z0-9_.-]*)/([a-z0-9][a-z0-9_.-]*)$")


@dataclass(frozen=True, slots=True)
class BacktestHit:
    """A stored article the query matches."""

    article_id: str
    title: str
    url: str
    published_at: datetime
    match: Match


def backtest(config: Config, db: Database, query: str, *, days: int) -> Iterator[BacktestHit]:
    """Run a query (or `list/entry`) over the articles collected in the last `days` days, newest first."""
    matcher = _matcher_for(config, query)
    since = datetime.now(UTC) - timedelta(days=days)
    with db.sessions() as session:
        rows = session.scalars(
            select(Article).where(Article.first_seen_at >= since).order_by(Article.published_at.desc(), Article.id)
            .execution_options(yield_per=500)
        )
        for row in rows:
            match = matcher(document_from_row(row, config))
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
    config: Config, db: Database, query: str, *, days: int, limit: int, out: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
) -> int:
    """Print hits with snippets and a count per day; returns the number of hits."""
    for warning in query_warnings(config, query):
        (warn or out)(describe_query_note(query, "warning", warning.message, warning.column, warning.hint))
    per_day: Counter[str] = Counter()
    shown = 0
    for hit in backtest(config, db, query, days=days):
        per_day[hit.published_at.strftime("%Y-%m-%d")] += 1
        if shown < limit:
            out(f"{hit.published_at:%Y-%m-%d %H:%M}  {hit.title}\n  {hit.url}\n  {hit.match.snippet}\n")
            shown += 1
    total = sum(per_day.values())
    out(f"{total} article(s) matched in the last {days} days" + (f" (first {shown} shown)" if total > shown else ""))
    width = max(per_day.values(), default=0)
    for day in sorted(per_day):
        bar = "█" * max(1, round(40 * per_day[day] / width))
        out(f"  {day}  {per_day[day]:>5}  {bar}")
    return total
