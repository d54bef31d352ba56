"""`monitor backtest`: print what a query or a watchlist entry would have matched in the archive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from monitor.config.models import Config
from monitor.store.db import Database
from monitor.usecases.backtest import query_warnings, run_backtest


def describe_query_note(query: str, kind: str, message: str, column: int | None, hint: str | None) -> str:
    """An error or warning about a one-line query: message, the query with a caret, the hint."""
    lines = [f"query {kind}" + (f" at column {column}" if column else "") + f": {message}"]
    if column and "\n" not in query:
        lines += [f"  {query}", "  " + " " * (column - 1) + "^"]
    if hint:
        lines.append(f"  hint: {hint}")
    return "\n".join(lines)


def print_backtest(
    config: Config, db: Database, query: str, *, days: int, limit: int, now: datetime, out: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
) -> int:
    """Print hits with snippets and a count per publication day; returns the number of hits."""
    for warning in query_warnings(config, query):
        (warn or out)(describe_query_note(query, "warning", warning.message, warning.column, warning.hint))
    result = run_backtest(config, db, query, days=days, now=now, limit=limit)
    zone = result.zone
    for hit in result.hits:
        out(f"{hit.published_at.astimezone(zone):%Y-%m-%d %H:%M %Z}  {hit.title}\n  {hit.url}\n  {hit.match.snippet}\n")
    shown, total, per_day = len(result.hits), result.total, result.per_day
    out(f"{total} article(s) matched among those published in the last {days} days ({zone.key})"
        + (f" (first {shown} shown)" if total > shown else ""))
    width = max(per_day.values(), default=0)
    for day in sorted(per_day):
        bar = "█" * max(1, round(40 * per_day[day] / width))
        out(f"  {day.isoformat()}  {per_day[day]:>5}  {bar}")
    if result.older is not None:
        out(result.older.hint())
    return total
