"""The watchlists page: every entry, who follows it, its matches in the last 7 days; filtered with ?q= (and as you type)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from monitor.usecases.output_feeds import feeds_secret, output_feeds
from monitor.usecases.watchlist_index import RECENT_DAYS, list_entries
from monitor.web.context import Ctx, page
from monitor.web.editor import saved_config

router = APIRouter(include_in_schema=False)


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists(request: Request, ctx: Ctx, q: str = "") -> HTMLResponse:
    """Every watchlist and entry, searchable; each entry links to its editor."""
    config = saved_config(ctx)
    rows = list_entries(config, ctx.db, ctx.clock(), q[:200])
    files = {wl_id: wl.name for wl_id, wl in config.watchlists.items()}
    # Each watchlist's and subscriber's matches as Atom / JSON Feed, for any feed reader (README, "Output feeds").
    feeds = output_feeds(config, feeds_secret(ctx.db))
    return page(request, ctx, "watchlists.html", rows=rows, q=q, files=files, days=RECENT_DAYS, feeds=feeds,
                base_url=config.settings.base_url)
