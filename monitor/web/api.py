"""The JSON API under /api/: feeds, articles, matches, deliveries and ad-hoc queries, paginated."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from monitor.clock import MAX_DAYS
from monitor.parse.urls import http_link
from monitor.store.dashboard import FEED_SORTS, FeedStats, MatchView
from monitor.store.rows import ArticleRow, Delivery
from monitor.usecases.match_documents import stored_document
from monitor.web.context import Ctx
from monitor.web.query import MAX_QUERY_LENGTH, run_query

router = APIRouter(prefix="/api", tags=["api"])
Limit = Query(50, ge=1, le=500, description="Items per page.")
Offset = Query(0, ge=0, le=1_000_000, description="Items to skip.")
FeedSort = Literal["id", "name", "status", "last_polled_at", "next_poll_at", "errors", "items_per_day", "fetch_ms"]
assert set(FeedSort.__args__) == set(FEED_SORTS)  # type: ignore[attr-defined]


class Highlight(BaseModel):
    field: str
    start: int
    end: int
    text: str


class FeedOut(BaseModel):
    id: str
    name: str
    url: str
    state: Literal["active", "disabled", "removed"]
    disabled_reason: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    error_kind: str | None
    error_message: str | None
    consecutive_errors: int
    next_poll_at: datetime
    last_fetch_ms: float | None
    items_per_day: float = Field(description="Items first seen per day over the last 7 days.")
    per_day: list[int] = Field(description="Items first seen on each of the last 14 days, oldest first.")
    kind: str | None = Field(default=None, description="rss, atom, rdf, json or sitemap, as last parsed.")
    push_state: str | None = Field(default=None, description=(
        "WebSub: pending, subscribed, denied, failed or expired; null when the feed names no hub."))
    push_hub: str | None = None
    push_lease_expires_at: datetime | None = None
    last_push_at: datetime | None = None
    pushed_until: datetime | None = Field(default=None, description=(
        "Until when the feed counts as pushed (polled websub.poll_factor times slower); null: polled normally."))


_LINK = "The article's http(s) link; null when it has none or it is not http(s) (javascript:, data:, ...)."


class ArticleOut(BaseModel):
    id: str
    url: str | None = Field(description=_LINK)
    title: str
    author: str
    language: str | None
    published_at: datetime
    first_seen_at: datetime
    first_feed_id: str | None
    cluster_id: str | None
    match_count: int


class MatchOut(BaseModel):
    id: int
    article: dict[str, Any] = Field(
        description="id, title, url and published_at of the matched article (url: null unless http(s))."
    )
    watchlist: str
    kind: str
    entry_id: str
    name: str
    highlights: list[Highlight] = Field(description="The first 20 highlights of each field, in text order.")
    more_highlights: int = Field(0, description="Highlights found beyond those listed (not stored).")
    snippet: str = Field(description="Text around the first highlights; matched words between [[ and ]].")
    created_at: datetime


class DeliveryOut(BaseModel):
    id: str
    subscriber: str
    channel: str
    kind: str
    status: str
    attempts: int
    items: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


class SightingOut(BaseModel):
    feed_id: str
    feed_name: str
    first_seen_at: datetime


class ArticleDetailOut(ArticleOut):
    summary_text: str
    content_text: str
    body: str = Field(description="The text matched as `body:` (summary and content); body highlights index it.")
    source: str = Field(description="The text matched as `source:` (the first feed's configured name, else its "
                                    "own title, else its id); source highlights index it.")
    matches: list[MatchOut]
    sightings: list[SightingOut]
    deliveries: list[DeliveryOut]


class QueryHitOut(BaseModel):
    article_id: str
    title: str
    url: str | None = Field(description=_LINK)
    published_at: datetime
    highlights: list[Highlight]
    snippet: str


class QueryProblemOut(BaseModel):
    message: str
    column: int | None = Field(description="1-based column in the query, when known.")
    hint: str | None


class QueryErrorOut(BaseModel):
    detail: QueryProblemOut


class PageInfo(BaseModel):
    total: int
    limit: int
    offset: int
    next_offset: int | None


class FeedPage(PageInfo):
    items: list[FeedOut]


class ArticlePage(PageInfo):
    items: list[ArticleOut]


class MatchPage(PageInfo):
    items: list[MatchOut]


class DeliveryPage(PageInfo):
    items: list[DeliveryOut]


class QueryPage(PageInfo):
    query: str
    days: int
    per_day: dict[str, int] = Field(description="Hits per publication day (YYYY-MM-DD, monitor.yaml's timezone).")
    items: list[QueryHitOut]
    warnings: list[QueryProblemOut] = Field(
        default_factory=list, description="What the query does that its author probably did not mean; it still ran.")


class NotFound(BaseModel):
    detail: str


def _page(total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if offset + limit < total else None}


def feed_out(f: FeedStats) -> FeedOut:
    """A feed row as JSON."""
    return FeedOut(
        id=f.id, name=f.name, url=f.url, state=f.state, disabled_reason=f.disabled_reason,  # type: ignore[arg-type]
        last_polled_at=f.last_polled_at, last_success_at=f.last_success_at, last_status=f.last_status,
        error_kind=f.error_kind, error_message=f.error_message, consecutive_errors=f.consecutive_errors,
        next_poll_at=f.next_poll_at, last_fetch_ms=f.last_fetch_ms, items_per_day=f.items_per_day,
        per_day=f.per_day, kind=f.kind, push_state=f.push_state, push_hub=f.push_hub,
        push_lease_expires_at=f.push_lease_expires_at, last_push_at=f.last_push_at, pushed_until=f.pushed_until,
    )


def article_out(a: ArticleRow, match_count: int) -> ArticleOut:
    """An article row as JSON (without its text)."""
    return ArticleOut(
        id=a.id, url=http_link(a.url), title=a.title, author=a.author, language=a.language, published_at=a.published_at,
        first_seen_at=a.first_seen_at, first_feed_id=a.first_feed_id, cluster_id=a.cluster_id,
        match_count=match_count,
    )


def match_out(m: MatchView) -> MatchOut:
    """A match as JSON, with its article's headline."""
    return MatchOut(
        id=m.id, watchlist=m.watchlist, kind=m.entry_kind, entry_id=m.entry_id, name=m.entry_name,
        highlights=[Highlight(**h) for h in m.highlights], more_highlights=m.more_highlights, snippet=m.snippet,
        created_at=m.created_at, article={"id": m.article_id, "title": m.article_title, "url": http_link(m.article_url),
                 "published_at": m.published_at.isoformat()},
    )


def delivery_out(d: Delivery) -> DeliveryOut:
    """An outbox row as JSON."""
    return DeliveryOut(
        id=d.id, subscriber=d.subscriber_id, channel=d.channel, kind=d.kind, status=d.status, attempts=d.attempts,
        items=d.item_count, created_at=d.created_at, next_attempt_at=d.next_attempt_at, sent_at=d.sent_at,
        last_error=d.last_error,
    )


@router.get("/feeds", response_model=FeedPage, summary="Feeds and their health")
def list_feeds(
    ctx: Ctx, sort: FeedSort = "id", desc: bool = False, limit: int = Limit,
    offset: int = Offset,
) -> FeedPage:
    """Every feed's health: last poll, status, error, next poll, fetch time, items per day."""
    rows = ctx.dashboard.feeds(ctx.clock(), sort=sort, descending=desc)
    return FeedPage(items=[feed_out(f) for f in rows[offset: offset + limit]], **_page(len(rows), limit, offset))


@router.get("/articles", response_model=ArticlePage, summary="Stored articles, newest first")
def list_articles(ctx: Ctx, limit: int = Limit, offset: int = Offset) -> ArticlePage:
    """Stored articles with how many watchlist entries each matched."""
    rows, total = ctx.dashboard.articles(limit=limit, offset=offset)
    return ArticlePage(items=[article_out(a, n) for a, n in rows], **_page(total, limit, offset))


@router.get("/articles/{article_id}", response_model=ArticleDetailOut, responses={404: {"model": NotFound}},
            summary="One article with its matches, sightings and deliveries")
def get_article(article_id: str, ctx: Ctx) -> ArticleDetailOut:
    """An article, its plain text, every match with its highlights, the feeds that carried it, its deliveries."""
    detail = ctx.dashboard.article(article_id)
    if detail is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    a = detail.article
    views = [
        MatchView(m.id, a.id, a.title, a.url, a.published_at, m.watchlist, m.entry_kind, m.entry_id, m.entry_name,
                  list(m.highlights or []), m.snippet, m.created_at, m.more_highlights or 0)
        for m in detail.matches
    ]
    document = stored_document(ctx.config, ctx.db, a)
    return ArticleDetailOut(
        **article_out(a, len(detail.matches)).model_dump(), summary_text=a.summary_text, content_text=a.content_text,
        body=document.body, source=document.source,
        matches=[match_out(v) for v in views],
        sightings=[SightingOut(feed_id=f, feed_name=n, first_seen_at=t) for f, n, t in detail.sightings],
        deliveries=[delivery_out(d) for d in detail.deliveries],
    )


@router.get("/matches", response_model=MatchPage, summary="Matches, newest first, filtered")
def list_matches(
    ctx: Ctx, watchlist: str | None = None, entry: str | None = None,
    feed: str | None = None,
    date_from: Annotated[date | None, Query(
        alias="from", description="First publication day, in monitor.yaml's timezone.")] = None,
    date_to: Annotated[date | None, Query(
        alias="to", description="Last publication day, inclusive, in monitor.yaml's timezone.")] = None,
    limit: int = Limit, offset: int = Offset,
) -> MatchPage:
    """Matches by watchlist, entry, feed and the article's publication day, newest published first, with highlights."""
    rows, total = ctx.dashboard.matches(watchlist=watchlist, entry=entry, feed=feed, day_from=date_from,
                                        day_to=date_to, limit=limit, offset=offset)
    return MatchPage(items=[match_out(m) for m in rows], **_page(total, limit, offset))


@router.get("/deliveries", response_model=DeliveryPage, summary="The outbox")
def list_deliveries(
    ctx: Ctx,
    status: Literal["pending", "sent", "failed", "cancelled"] | None = None, limit: int = Limit, offset: int = Offset,
) -> DeliveryPage:
    """Deliveries newest first with status, attempts and the last error."""
    rows, total = ctx.dashboard.deliveries(status=status, limit=limit, offset=offset)
    return DeliveryPage(items=[delivery_out(d) for d in rows], **_page(total, limit, offset))


@router.get("/query", response_model=QueryPage, responses={400: {"model": QueryErrorOut}},
            summary="Run a query over the stored articles")
def query(
    ctx: Ctx,
    q: str = Query(..., min_length=1, max_length=MAX_QUERY_LENGTH, description="A query, or `watchlist/entry`."),
    days: int = Query(30, ge=1, le=MAX_DAYS, description="Articles published in the last N calendar days "
                                                             "(monitor.yaml's timezone, today included)."),
    limit: int = Limit, offset: int = Offset,
) -> QueryPage:
    """What the query (the language of docs/query-language.md) matches, like `monitor backtest`."""
    result = run_query(ctx.config, ctx.db, q, days=days, limit=limit, offset=offset, now=ctx.clock())
    if result.problem is not None:
        p = result.problem
        raise HTTPException(400, {"message": p.message, "column": p.column, "hint": p.hint})
    items = [
        QueryHitOut(article_id=h.article_id, title=h.title, url=http_link(h.url), published_at=h.published_at,
                    highlights=[Highlight(**x.to_json()) for x in h.match.highlights],  # type: ignore[arg-type]
                    snippet=h.match.snippet)
        for h in result.hits
    ]
    per_day = {d.isoformat(): n for d, n in sorted(result.per_day.items())}
    warnings = [QueryProblemOut(message=w.message, column=w.column, hint=w.hint) for w in result.warnings]
    return QueryPage(query=q, days=days, per_day=per_day, items=items, warnings=warnings,
                     **_page(result.total, limit, offset))
