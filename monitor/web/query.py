""""Try a query": the backtest use case over the stored articles, its errors as a problem, for the page and the API."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from monitor.clock import DayWindow, day_window
from monitor.config.models import Config
from monitor.errors import MonitorError, QuerySyntaxError
from monitor.store.db import Database
from monitor.usecases.backtest import BacktestHit, OlderArticles, query_warnings, run_backtest

MAX_QUERY_LENGTH = 2000
CHART_DAYS = 92
"""Bars drawn at most before the chart starts at the first day with a hit."""


@dataclass(frozen=True, slots=True)
class QueryProblemInfo:
    """Why a query did not compile, with the 1-based column when the parser knows it."""

    message: str
    column: int | None = None
    hint: str | None = None


@dataclass(slots=True)
class QueryResult:
    """One page of hits, the total, and hits per publication day (in monitor.yaml's timezone)."""

    query: str
    days: int
    window: DayWindow
    hits: list[BacktestHit] = field(default_factory=list)
    total: int = 0
    per_day: Counter[date] = field(default_factory=Counter)
    problem: QueryProblemInfo | None = None
    older: OlderArticles | None = None  # with no hit: the stored articles published before the window
    warnings: list[QueryProblemInfo] = field(default_factory=list)

    def chart_days(self) -> list[date]:
        """The days to draw: the window; a long one (over CHART_DAYS days) from its first day with a hit."""
        days = self.window.days
        if len(days) > CHART_DAYS:
            first = min(self.per_day, default=days[-CHART_DAYS])
            days = [d for d in days if d >= min(first, days[-CHART_DAYS])]
        return days


def query_text_problem(query: str) -> QueryProblemInfo | None:
    """What is wrong with a query's text before it is even parsed (empty, too long), else None."""
    if not query.strip():
        return QueryProblemInfo("the query is empty")
    if len(query) > MAX_QUERY_LENGTH:
        return QueryProblemInfo(f"the query is longer than {MAX_QUERY_LENGTH} characters")
    return None


def run_query(
    config: Config, db: Database, query: str, *, days: int, now: datetime, limit: int = 50, offset: int = 0,
) -> QueryResult:
    """Run a query (or `watchlist/entry`) over the articles published in the last `days` days; errors become `problem`."""
    zone = ZoneInfo(config.settings.timezone)
    result = QueryResult(query=query, days=days, window=day_window(now, days, zone))
    result.problem = query_text_problem(query)
    if result.problem is not None:
        return result
    result.warnings = [QueryProblemInfo(w.message, w.column, w.hint) for w in query_warnings(config, query)]
    try:
        found = run_backtest(config, db, query, days=days, now=now, limit=limit, offset=offset)
    except QuerySyntaxError as exc:
        result.problem = QueryProblemInfo(exc.message, exc.column, exc.hint)
    except MonitorError as exc:  # an unknown @actor, or an entry the watchlist does not have
        result.problem = QueryProblemInfo(str(exc))
    else:
        result.hits, result.total, result.per_day, result.older = found.hits, found.total, found.per_day, found.older
    return result
