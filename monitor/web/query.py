""""Try a query": `monitor backtest` over the stored articles, for the page and the API alike."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from monitor.commands.backtest import BacktestHit, backtest, query_warnings
from monitor.config.models import Config
from monitor.errors import MonitorError, QuerySyntaxError
from monitor.store.dashboard import day_range
from monitor.store.db import Database

MAX_QUERY_LENGTH = 2000
MAX_DAYS = 3650


@dataclass(frozen=True, slots=True)
class QueryProblemInfo:
    """Why a query did not compile, with the 1-based column when the parser knows it."""

    message: str
    column: int | None = None
    hint: str | None = None


@dataclass(slots=True)
class QueryResult:
    """One page of hits, the total, and hits per day (by publication date)."""

    query: str
    days: int
    hits: list[BacktestHit] = field(default_factory=list)
    total: int = 0
    per_day: Counter[date] = field(default_factory=Counter)
    problem: QueryProblemInfo | None = None
    warnings: list[QueryProblemInfo] = field(default_factory=list)

    def chart_days(self) -> list[date]:
        """The days to draw: the window, or the span of the hits when they are older (demo archives)."""
        if not self.per_day:
            return day_range(datetime.now(UTC), min(self.days, 30))
        first, last = min(self.per_day), max(self.per_day)
        span = min((last - first).days + 1, 120)
        return day_range(datetime.combine(last, datetime.min.time(), tzinfo=UTC), span)


def run_query(config: Config, db: Database, query: str, *, days: int, limit: int = 50, offset: int = 0) -> QueryResult:
    """Run a query (or `watchlist/entry`) over the last `days` days of articles; errors become `problem`."""
    result = QueryResult(query=query, days=days)
    if not query.strip():
        result.problem = QueryProblemInfo("the query is empty")
        return result
    if len(query) > MAX_QUERY_LENGTH:
        result.problem = QueryProblemInfo(f"the query is longer than {MAX_QUERY_LENGTH} characters")
        return result
    result.warnings = [QueryProblemInfo(w.message, w.column, w.hint) for w in query_warnings(config, query)]
    try:
        for hit in backtest(config, db, query, days=days):
            if offset <= result.total < offset + limit:
                result.hits.append(hit)
            result.total += 1
            result.per_day[hit.published_at.date()] += 1
    except QuerySyntaxError as exc:
        result.problem = QueryProblemInfo(exc.message, exc.column, exc.hint)
    except MonitorError as exc:  # an unknown @actor, or an entry the watchlist does not have
        result.problem = QueryProblemInfo(str(exc))
    return result
