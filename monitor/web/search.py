"""Archive search: the /search page and GET /api/search, over every stored article (docs/search.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from monitor.errors import MonitorError, QuerySyntaxError
from monitor.parse.urls import http_link
from monitor.store.search import SearchFilters, feed_choices
from monitor.usecases.backtest import query_warnings
from monitor.usecases.search import SCAN_LIMIT, SearchOutcome, search_archive
from monitor.web.api import Highlight, QueryErrorOut, QueryProblemOut
from monitor.web.context import Ctx, WebContext, page
from monitor.web.export import ExportRow, export_response
from monitor.web.query import MAX_QUERY_LENGTH, QueryProblemInfo, query_text_problem

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"])
PAGE_SIZE = 20
MAX_OFFSET = 1000
"""Hits a search skips at most: each one skipped is matched first (narrow the query or the dates to go further)."""
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}$")
EXPORT_LIMIT = 500
"""Hits in one export at most (the newest): each is matched first, and a report is not a dump of the archive."""


@dataclass(slots=True)
class SearchView:
    """A search as the page and the API show it: its outcome, or the problem that stopped it, and its warnings."""

    outcome: SearchOutcome | None = None
    problem: QueryProblemInfo | None = None
    warnings: list[QueryProblemInfo] = field(default_factory=list)


def run_search(ctx: WebContext, q: str, *, feed: str | None, language: str | None, day_from: date | None,
               day_to: date | None, limit: int, offset: int) -> SearchView:
    """Run a search; a query that does not compile, or filters that cannot hold, become `problem`."""
    view = SearchView(problem=query_text_problem(q))
    if view.problem is not None:
        return view
    if language and not _LANGUAGE.match(language):
        view.problem = QueryProblemInfo(f"language {language!r} is not a language code", hint="e.g. en, ar, he, ru")
        return view
    if day_from and day_to and day_from > day_to:
        view.problem = QueryProblemInfo(f"the date range ends ({day_to}) before it starts ({day_from})")
        return view
    zone = ZoneInfo(ctx.config.settings.timezone)
    filters = SearchFilters(
        feed=feed or None, language=language or None,
        start=_day_start(day_from, zone) if day_from else None,
        end=_day_start(day_to + timedelta(days=1), zone) if day_to and day_to < date.max else None,
    )
    view.warnings = [QueryProblemInfo(w.message, w.column, w.hint) for w in query_warnings(ctx.config, q)]
    try:
        view.outcome = search_archive(ctx.config, ctx.db, q, filters, limit=limit, offset=offset)
    except QuerySyntaxError as exc:
        view.problem = QueryProblemInfo(exc.message, exc.column, exc.hint)
    except MonitorError as exc:  # an unknown @actor, or an entry the watchlist does not have
        view.problem = QueryProblemInfo(str(exc))
    return view


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, ctx: Ctx, q: str = "", feed: str = "", lang: str = "",
    date_from: Annotated[str, Query(alias="from")] = "", date_to: Annotated[str, Query(alias="to")] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=MAX_OFFSET // PAGE_SIZE + 1)] = 1,
) -> HTMLResponse:
    """Search every stored article with the query language, filtered by outlet, language and publication day."""
    view = None
    if q:
        view = run_search(ctx, q, feed=feed, language=lang.strip(), day_from=_day(date_from), day_to=_day(date_to),
                          limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    outcome = view.outcome if view else None
    prev_link = "?" + urlencode({**params, "page": page_number - 1}) if outcome and page_number > 1 else None
    next_link = "?" + urlencode({**params, "page": page_number + 1}) if outcome and outcome.more else None
    return page(request, ctx, "search.html", q=q, feed=feed, lang=lang, date_from=date_from, date_to=date_to,
                view=view, feeds=feed_choices(ctx.db), prev_link=prev_link, next_link=next_link,
                first=(page_number - 1) * PAGE_SIZE + 1, scan_limit=SCAN_LIMIT, export_limit=EXPORT_LIMIT,
                export_query=urlencode(params))


@router.get("/search/export.{fmt}", response_model=None)
def export_search(
    request: Request, ctx: Ctx, fmt: str, q: str = "", feed: str = "", lang: str = "",
    date_from: Annotated[str, Query(alias="from")] = "", date_to: Annotated[str, Query(alias="to")] = "",
) -> Response:
    """The current search (same query and filters, newest first, up to EXPORT_LIMIT hits) as CSV or an HTML report."""
    if fmt not in ("csv", "html"):
        return page(request, ctx, "error.html", status_code=404, title="No such export",
                    message="A search exports as export.csv or export.html.")
    view = run_search(ctx, q, feed=feed, language=lang.strip(), day_from=_day(date_from), day_to=_day(date_to),
                      limit=EXPORT_LIMIT, offset=0)
    if view.outcome is None:
        problem = view.problem or QueryProblemInfo("the search did not run")
        return page(request, ctx, "error.html", status_code=400, title="This search cannot be exported",
                    message=f"{problem.message}. Correct the query on the search page, then export again.")
    rows = [ExportRow(title=h.title, url=h.url, outlets=[h.source], published_at=h.published_at,
                      language=h.language or "", entries=[], snippet=h.match.snippet) for h in view.outcome.hits]
    given = [f"{name} {value}" for name, value in (("outlet", feed), ("language", lang), ("from", date_from),
                                                   ("to", date_to)) if value]
    return export_response(rows, fmt, name="search", description=f"Search: {q}" + "".join(f", {g}" for g in given),
                           generated_at=ctx.clock(), zone=ctx.dashboard.zone)


class SearchHitOut(BaseModel):
    article_id: str
    title: str
    url: str | None = Field(description="The article's http(s) link; null when it has none or it is not http(s).")
    published_at: datetime
    language: str | None
    feed_id: str | None = Field(description="The feed the article was first seen in.")
    source: str = Field(description="That feed's name, as the `source:` field of the query language sees it.")
    highlights: list[Highlight]
    snippet: str = Field(description="The text around the first highlights, the marked words between [[ and ]].")


class SearchPage(BaseModel):
    query: str
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")
    items: list[SearchHitOut]
    indexed: bool = Field(description="True when the full-text index chose the candidates; false when the query "
                                      f"has no indexable term and only the newest {SCAN_LIMIT} articles were read.")
    scan_capped: bool = Field(description="The scan stopped at its bound while older articles remain unsearched.")
    candidates: int = Field(description="Articles put before the matcher (a superset of the hits).")
    candidates_capped: bool = Field(description="Only the newest `candidates` were read: the page was full before "
                                                "the rest were needed (more articles contain the query's words).")
    unindexed: int = Field(description="Articles queued for the indexer (searched one by one meanwhile).")
    warnings: list[QueryProblemOut] = Field(default_factory=list)


@api_router.get("/search", response_model=SearchPage, responses={400: {"model": QueryErrorOut}},
                summary="Search the stored articles")
def api_search(
    ctx: Ctx,
    q: str = Query(..., min_length=1, max_length=MAX_QUERY_LENGTH, description="A query, or `watchlist/entry`."),
    feed: str | None = Query(None, max_length=200, description="Only articles this feed carried (its id)."),
    lang: str | None = Query(None, pattern=_LANGUAGE.pattern, description="A language's primary subtag: `ar` "
                             "also selects `ar-EG`."),
    date_from: Annotated[date | None, Query(alias="from", description="First publication day, in monitor.yaml's "
                                                                      "timezone.")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last publication day, inclusive.")] = None,
    limit: int = Query(20, ge=1, le=200, description="Items per page."),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Items to skip (each is matched first: narrow the query "
                        "or the dates to go further back)."),
) -> SearchPage:
    """Stored articles the query matches (docs/query-language.md), newest published first; no `total`: `next_offset` says if more follow."""
    view = run_search(ctx, q, feed=feed, language=lang, day_from=date_from, day_to=date_to, limit=limit, offset=offset)
    if view.problem is not None or view.outcome is None:
        p = view.problem or QueryProblemInfo("the search did not run")
        raise HTTPException(400, {"message": p.message, "column": p.column, "hint": p.hint})
    o = view.outcome
    items = [
        SearchHitOut(article_id=h.article_id, title=h.title, url=http_link(h.url), published_at=h.published_at,
                     language=h.language, feed_id=h.feed_id, source=h.source,
                     highlights=[Highlight(**x.to_json()) for x in h.match.highlights],  # type: ignore[arg-type]
                     snippet=h.match.snippet)
        for h in o.hits
    ]
    return SearchPage(query=q, limit=limit, offset=offset, next_offset=offset + limit if o.more else None,
                      items=items, indexed=o.indexed, scan_capped=o.scan_capped, candidates=o.candidates,
                      candidates_capped=o.candidates_capped,
                      unindexed=o.unindexed,
                      warnings=[QueryProblemOut(message=w.message, column=w.column, hint=w.hint) for w in view.warnings])
