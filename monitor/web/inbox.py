"""The inbox: one row per matched story, newest first, with per-user read and star state, and its exports."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import date
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.store.inbox import SHOWS, Inbox, InboxFilter, InboxStory
from monitor.web.auth import safe_next, verify_csrf
from monitor.web.context import CsrfForm, Ctx, WebContext, forged, page
from monitor.web.export import ExportRow, export_response
from monitor.web.identity import current_user
from monitor.web.pages import PAGE_SIZE, pager

router = APIRouter(include_in_schema=False)
FILTER_FIELDS = ("watchlist", "entry", "outlet", "language", "from", "to", "show")
EXPORT_LIMIT = 5000
"""Stories in one export at most (the newest): a report, not a dump of the archive."""
CHIP_COLOURS = 8
ACTIONS = {"read": {"read": True}, "unread": {"read": False}, "star": {"starred": True}, "unstar": {"starred": False}}


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def inbox_filter(params: Mapping[str, str]) -> InboxFilter:
    """The filter a query string (or a form) asks for; unknown or malformed values are ignored."""
    show = params.get("show", "all")
    return InboxFilter(
        watchlist=params.get("watchlist") or None, entry=params.get("entry") or None,
        outlet=params.get("outlet") or None, language=params.get("language") or None,
        day_from=_day(params.get("from")), day_to=_day(params.get("to")),
        show=show if show in SHOWS else "all",  # type: ignore[arg-type]
    )


def filter_values(params: Mapping[str, str]) -> dict[str, str]:
    """The filter fields of a query string, as given (for the form and the links that keep them)."""
    return {k: params.get(k, "") for k in FILTER_FIELDS}


def chip_colour(watchlist: str) -> int:
    """A watchlist's chip colour (0-7): from a checksum of its id, so it is the same on every page and day."""
    return zlib.crc32(watchlist.encode("utf-8")) % CHIP_COLOURS


def inbox_for(ctx: WebContext) -> Inbox:
    """The inbox store with the dashboard's time zone."""
    return Inbox(ctx.db, ctx.dashboard.zone)


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, ctx: Ctx, page_number: int = Query(1, alias="page", ge=1, le=100_000),
          marked: int | None = Query(None, ge=0)) -> HTMLResponse:
    """Matched stories newest first, filtered, with read, star, select, mark all read and export."""
    params = dict(request.query_params)
    flt = inbox_filter(params)
    store = inbox_for(ctx)
    found = store.page(current_user(request).name, flt, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
    stories = found.stories
    facets = store.facets()
    values = filter_values(params)
    query = urlencode({k: v for k, v in values.items() if v})
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    colours = {w: chip_colour(w) for w in {e.watchlist for s in stories for e in s.entries} | set(facets.watchlists)}
    # A capped total means more than `total` stories, so the pager sees one more: enough for its next link.
    links = pager(request, page_number, found.total + found.total_capped)
    return page(request, ctx, "inbox.html", stories=stories, total=found.total, total_capped=found.total_capped,
                filters=values, facets=facets, shows=SHOWS, colours=colours, query=query, here=here, marked=marked,
                pager=links)


@router.post("/inbox/mark", response_model=None)
async def mark(request: Request, ctx: Ctx) -> Response:
    """Mark the posted stories read, unread, starred or unstarred for the current user (CSRF-checked)."""
    form = await verify_csrf(request, ctx.auth)
    if form is None:
        return forged(request, ctx)
    # Several `story` fields (the selection): read_form keeps only the first value of each.
    body = (await request.body())[:65536].decode("utf-8", "replace")
    return await run_in_threadpool(_mark, request, ctx, form, body)


def _mark(request: Request, ctx: WebContext, form: dict[str, str], body: str) -> Response:
    stories = [s for s in parse_qs(body).get("story", []) if s][:PAGE_SIZE * 4]
    action = form.get("action", "")
    if action not in ACTIONS or not stories:
        return page(request, ctx, "error.html", status_code=409, title="Nothing to mark",
                    message="Select at least one story, then mark it read, unread, starred or not starred.")
    inbox_for(ctx).set_state(current_user(request).name, stories, ctx.clock(), **ACTIONS[action])
    return RedirectResponse(safe_next(form.get("next") or "/inbox"), status_code=303)


@router.post("/inbox/mark-all-read", response_model=None)
def mark_all_read(request: Request, ctx: Ctx, form: CsrfForm) -> Response:
    """Mark every unread story under the form's filter read for the current user (CSRF-checked)."""
    if form is None:
        return forged(request, ctx)
    count = inbox_for(ctx).mark_all_read(current_user(request).name, inbox_filter(form), ctx.clock())
    values = {k: v for k, v in filter_values(form).items() if v}
    return RedirectResponse("/inbox?" + urlencode({**values, "marked": count}), status_code=303)


def export_rows(stories: list[InboxStory]) -> list[ExportRow]:
    """Inbox stories as plain export rows."""
    return [
        ExportRow(title=s.title, url=s.url, outlets=[name for _, name in s.outlets], published_at=s.published_at,
                  language=", ".join(s.languages), entries=[f"{e.watchlist}/{e.entry_id}" for e in s.entries],
                  snippet=s.snippet)
        for s in stories
    ]


def _describe(values: Mapping[str, str]) -> str:
    given = [f"{k} {v}" for k, v in values.items() if v and not (k == "show" and v == "all")]
    return "Inbox" + (": " + ", ".join(given) if given else ", all stories")


@router.get("/inbox/export.{fmt}", response_model=None)
def export(request: Request, fmt: str, ctx: Ctx) -> Response:
    """The current inbox view (same filters, newest first, up to EXPORT_LIMIT stories) as CSV or an HTML report."""
    if fmt not in ("csv", "html"):
        return page(request, ctx, "error.html", status_code=404, title="No such export",
                    message="The inbox exports as export.csv or export.html.")
    params = dict(request.query_params)
    stories = inbox_for(ctx).stories(current_user(request).name, inbox_filter(params), limit=EXPORT_LIMIT)
    return export_response(export_rows(stories), fmt, name="inbox", description=_describe(filter_values(params)),
                           generated_at=ctx.clock(), zone=ctx.dashboard.zone)
