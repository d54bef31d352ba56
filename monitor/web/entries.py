"""The entry page: a watchlist entry's hourly and daily volume with its spikes marked, and the spike alerts raised."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from monitor.usecases.entry_volume import entry_volume
from monitor.web.charts import volume_chart
from monitor.web.context import Ctx, page

router = APIRouter(include_in_schema=False)


@router.get("/entries/{watchlist}/{entry_id}", response_class=HTMLResponse)
def entry(request: Request, watchlist: str, entry_id: str, ctx: Ctx) -> HTMLResponse:
    """Stories and articles per hour (last 72 h) and per day (last 14 days), spikes in red; the alerts raised."""
    view = entry_volume(ctx.config, ctx.db, watchlist, entry_id, ctx.clock())
    if view is None:
        return page(request, ctx, "error.html", status_code=404, title="Entry not found",
                    message=f"There is no entry {watchlist}/{entry_id} in the watchlists.")
    zone = ctx.renderer.zone
    hourly = volume_chart(
        [h.astimezone(zone).strftime("%d %Hh") for h in view.hours], view.hourly_stories, view.hourly_articles,
        [h in view.spike_hours for h in view.hours], label_every=6,
        title=f"{view.name}: stories and articles per hour, last {len(view.hours)} hours ({ctx.config.settings.timezone})",
    )
    daily = volume_chart(
        [d.strftime("%m-%d") for d in view.days], view.daily_stories, view.daily_articles,
        [d in view.spike_days for d in view.days],
        title=f"{view.name}: stories and articles per day, last {len(view.days)} days ({ctx.config.settings.timezone})",
    )
    return page(request, ctx, "entry.html", view=view, hourly=hourly, daily=daily)
