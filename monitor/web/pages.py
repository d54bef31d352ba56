"""The HTML pages: Overview, Feeds, Matches, Articles, Deliveries, Try a query."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.clock import MAX_DAYS
from monitor.config.units import parse_duration
from monitor.store.dashboard import FEED_SORTS
from monitor.store.feeds import FeedRepository
from monitor.store.outbox import Outbox
from monitor.store.snoozes import Snoozes
from monitor.usecases.match_documents import stored_document
from monitor.web.charts import bar_chart, sparkline
from monitor.web.context import CsrfForm, Ctx, forged, page
from monitor.web.query import run_query

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SNOOZE_DURATIONS = ("4h", "1d", "7d")


def pager(request: Request, page_number: int, total: int) -> dict[str, str | None]:
    """Links to the previous and next pages, keeping the other query parameters."""
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}

    def link(n: int) -> str:
        return "?" + urlencode({**params, "page": n})

    return {
        "prev": link(page_number - 1) if page_number > 1 else None,
        "next": link(page_number + 1) if page_number * PAGE_SIZE < total else None,
    }


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, ctx: Ctx) -> HTMLResponse:
    """Is it working? Feeds polled, articles, matches, deliveries, last cycle, matches per day."""
    now = ctx.clock()
    data = ctx.dashboard.overview(now)
    chart = bar_chart(data.chart_days, data.matches_per_day,
                      title=f"Matches per publication day per watchlist (last 14 days, {ctx.config.settings.timezone})")
    return page(request, ctx, "overview.html", overview=data, chart=chart)


@router.get("/feeds", response_class=HTMLResponse)
def feeds(
    request: Request, ctx: Ctx, sort: str = "id", desc: bool = False, polled: str = ""
) -> HTMLResponse:
    """The feeds' health table, sortable by any column, with a Poll now button per feed."""
    sort = sort if sort in FEED_SORTS else "id"
    rows = ctx.dashboard.feeds(ctx.clock(), sort=sort, descending=desc)
    sparks = {f.id: sparkline(f.per_day, label=f"{f.name}: items first seen per day, last 14 days") for f in rows}
    polled = polled if any(f.id == polled for f in rows) else ""
    return page(request, ctx, "feeds.html", feeds=rows, sparks=sparks, sort=sort, desc=desc, sorts=FEED_SORTS,
                polled=polled)


@router.post("/feeds/{feed_id}/poll", response_model=None)
def poll_feed(request: Request, feed_id: str, ctx: Ctx, form: CsrfForm) -> Response:
    """Make a feed due now: the running service polls it on its next poll tick, under its lease."""
    if form is None:
        return forged(request, ctx)
    feed = next((f for f in ctx.dashboard.feeds(ctx.clock()) if f.id == feed_id), None)
    if feed is None or feed.state != "active":
        return page(request, ctx, "error.html", status_code=409, title="Nothing to poll",
                    message="Only an active feed can be polled now (a removed feed is not polled; a disabled "
                            "one is polled again when its URL changes in feeds.yaml).")
    FeedRepository(ctx.db).make_due([feed_id], ctx.clock())
    return RedirectResponse("/feeds?" + urlencode({"polled": feed_id}), status_code=303)


@router.get("/matches", response_class=HTMLResponse)
def matches(
    request: Request, ctx: Ctx, watchlist: str = "", entry: str = "", feed: str = "",
    date_from: str = Query("", alias="from"), date_to: str = Query("", alias="to"), page_number: int = Query(1, alias="page", ge=1),
) -> HTMLResponse:
    """Recent matches, filterable by watchlist, entry, feed and day."""
    rows, total = ctx.dashboard.matches(
        watchlist=watchlist or None, entry=entry or None, feed=feed or None, day_from=_day(date_from),
        day_to=_day(date_to), limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE,
    )
    watchlists, entries, feed_ids = ctx.dashboard.match_facets()
    filters = {"watchlist": watchlist, "entry": entry, "feed": feed, "from": date_from, "to": date_to}
    return page(request, ctx, "matches.html", matches=rows, total=total, filters=filters, watchlists=watchlists,
                entries=entries, feed_ids=feed_ids, pager=pager(request, page_number, total))


@router.get("/articles", response_class=HTMLResponse)
def articles(
    request: Request, ctx: Ctx, page_number: int = Query(1, alias="page", ge=1)
) -> HTMLResponse:
    """Stored articles, newest first, with their number of matches."""
    rows, total = ctx.dashboard.articles(limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
    return page(request, ctx, "articles.html", articles=rows, total=total, pager=pager(request, page_number, total))


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(request: Request, article_id: str, ctx: Ctx, snoozed: str = "") -> HTMLResponse:
    """One article: its text with every match's spans marked, its matches, sightings and deliveries."""
    detail = ctx.dashboard.article(article_id)
    if detail is None:
        return page(request, ctx, "error.html", status_code=404, title="Article not found",
                    message=f"There is no stored article with id {article_id}.")
    # The spans were computed on the matcher's view of the article, so rebuild exactly that view.
    document = stored_document(ctx.config, ctx.db, detail.article)
    highlights = [h for m in detail.matches for h in (m.highlights or [])]
    return page(request, ctx, "article.html", detail=detail, document=document, highlights=highlights,
                snoozed=snoozed if snoozed in SNOOZE_DURATIONS else "", durations=SNOOZE_DURATIONS,
                subscriber_ids=[s.id for s in ctx.config.subscribers])


@router.post("/articles/{article_id}/snooze", response_model=None)
def snooze_article(request: Request, article_id: str, ctx: Ctx, form: CsrfForm) -> Response:
    """Snooze this article's story, or one of the entries it matched, for a while (the form carries the CSRF token)."""
    if form is None:
        return forged(request, ctx)
    detail = ctx.dashboard.article(article_id)
    target, duration, subscriber = form.get("target", ""), form.get("for", ""), form.get("subscriber", "")
    entries = {f"entry:{m.watchlist}/{m.entry_id}" for m in detail.matches} if detail else set()
    if detail is None or duration not in SNOOZE_DURATIONS or (target != "story" and target not in entries) or (
        subscriber and subscriber not in {s.id for s in ctx.config.subscribers}
    ):
        return page(request, ctx, "error.html", status_code=409, title="Nothing to snooze",
                    message="Snooze this article's story or one of the entries it matched, for one of the offered times.")
    now = ctx.clock()
    until, snoozes = now + parse_duration(duration), Snoozes(ctx.db)
    if target == "story":
        snoozes.snooze_story(article_id, until, now, subscriber_id=subscriber or None)
    else:
        snoozes.snooze_entry(target.removeprefix("entry:"), until, now, subscriber_id=subscriber or None)
    return RedirectResponse(f"/articles/{article_id}?" + urlencode({"snoozed": duration}) + "#snooze", status_code=303)


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(
    request: Request, ctx: Ctx, status: str = "", retried: str = "",
    page_number: int = Query(1, alias="page", ge=1),
) -> HTMLResponse:
    """The outbox: status, attempts, last error, and a retry button for failed deliveries."""
    rows, total = ctx.dashboard.deliveries(status=status or None, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
    return page(request, ctx, "deliveries.html", deliveries=rows, total=total, status=status, retried=retried,
                statuses=("pending", "sent", "failed", "cancelled"), pager=pager(request, page_number, total))


@router.post("/deliveries/{delivery_id}/retry", response_model=None)
def retry_delivery(request: Request, delivery_id: str, ctx: Ctx, form: CsrfForm) -> Response:
    """Re-queue a failed delivery (the form carries the CSRF token)."""
    if form is None:
        return forged(request, ctx)
    delivery = ctx.dashboard.delivery(delivery_id)
    if delivery is None or delivery.status != "failed":
        return page(request, ctx, "error.html", status_code=409, title="Nothing to retry",
                    message="Only a delivery that failed permanently can be re-queued by hand.")
    Outbox(ctx.db).requeue(delivery_id, ctx.clock())
    return RedirectResponse("/deliveries?" + urlencode({"retried": delivery_id}), status_code=303)


@router.get("/query", response_class=HTMLResponse)
def try_query(
    request: Request, ctx: Ctx, q: str = "", days: int = Query(30, ge=1, le=MAX_DAYS),
) -> HTMLResponse:
    """A query box running the query language over the stored articles, with hits and hits per day."""
    result = run_query(ctx.config, ctx.db, q, days=days, now=ctx.clock()) if q else None
    chart = None
    if result is not None and result.problem is None:
        chart = bar_chart(result.chart_days(), {"hits": result.per_day}, title=f"Hits per publication day ({ctx.config.settings.timezone})")
    examples = [f"{w}/{e}" for w, wl in ctx.config.watchlists.items() for e in wl.entry_ids()][:6]
    return page(request, ctx, "query.html", q=q, days=days, result=result, chart=chart, examples=examples)
