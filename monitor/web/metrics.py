"""Operations: /healthz for load balancers and /metrics for Prometheus, read from the database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from monitor.store.dashboard import Dashboard
from monitor.web.context import Ctx, WebContext

log = logging.getLogger("monitor.web")
router = APIRouter(include_in_schema=False)
# Seconds; fetches are bounded by fetch.timeout (20 s by default).
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)


class DatabaseCollector(Collector):
    """Reads the database at scrape time, so every process (and none) reports the shared truth."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def collect(self) -> Iterator[Any]:
        """The metric families of one scrape."""
        snap = self.dashboard.metrics()
        feeds = GaugeMetricFamily("monitor_feeds", "Active feeds by the outcome of their last poll",
                                  labels=["outcome"])
        for outcome, count in sorted(snap.feeds_by_outcome.items()):
            feeds.add_metric([outcome], count)
        yield feeds
        buckets, running = [], 0
        seconds = sorted(ms / 1000 for ms in snap.fetch_ms)
        for bound in FETCH_BUCKETS:
            running = sum(1 for s in seconds if s <= bound)
            buckets.append((_bound(bound), running))
        buckets.append(("+Inf", len(seconds)))
        yield HistogramMetricFamily(
            "monitor_feed_fetch_seconds", "Duration of each active feed's last fetch", buckets=buckets,
            sum_value=sum(seconds),
        )
        yield GaugeMetricFamily("monitor_articles_stored", "Articles in the archive", value=snap.articles)
        matches = GaugeMetricFamily("monitor_matches_stored", "Stored matches by watchlist", labels=["watchlist"])
        for watchlist, count in sorted(snap.matches_by_watchlist.items()):
            matches.add_metric([watchlist], count)
        yield matches
        deliveries = GaugeMetricFamily("monitor_deliveries", "Deliveries in the outbox by status", labels=["status"])
        for status in sorted({"pending", "sent", "failed", "cancelled", *snap.deliveries_by_status}):
            deliveries.add_metric([status], snap.deliveries_by_status.get(status, 0))
        yield deliveries
        yield GaugeMetricFamily("monitor_delivery_queue_depth", "Deliveries waiting to be sent",
                                value=snap.queue_depth)
        yield GaugeMetricFamily("monitor_routed_items_waiting",
                                "Matched items routed to a subscriber and not yet in a delivery (digests)",
                                value=snap.routed_waiting)
        if snap.last_poll_at is not None:
            yield GaugeMetricFamily("monitor_last_poll_timestamp_seconds", "When a feed was last polled",
                                    value=snap.last_poll_at.timestamp())


def _bound(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{value:.1f}"


def register(app: FastAPI, ctx: WebContext) -> None:
    """Give the application its own registry (not the global one: several apps may live in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(ctx.dashboard))
    app.state.registry = registry


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format (the route runs in the thread pool, so the queries do not block the loop)."""
    registry: CollectorRegistry = request.app.state.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz")
def healthz(ctx: Ctx) -> JSONResponse:
    """Database reachable and how long ago the last successful poll was; 503 when the database is down."""
    now = ctx.clock()
    try:
        snapshot = ctx.dashboard.overview(now, days=1)
    except Exception as exc:  # any driver error means "not reachable" to a load balancer
        log.warning("healthz database_unreachable error=%r", str(exc))
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    last_poll, last_ok = snapshot.last_cycle_at, snapshot.last_success_at
    # Polling is judged stale when nothing was polled for twice the longest interval a feed may wait.
    stale_after = 2 * ctx.config.feed_defaults.max_interval + timedelta(minutes=5)
    if last_poll is None:
        polling = "never" if snapshot.feeds else "no feeds"
    else:
        polling = "ok" if now - last_poll <= stale_after else "stale"
    body = {
        "status": "ok" if polling in ("ok", "no feeds") else "degraded",
        "database": "ok",
        "polling": polling,
        "last_poll_at": last_poll.isoformat() if last_poll else None,
        "last_poll_age_seconds": round((now - last_poll).total_seconds(), 1) if last_poll else None,
        "last_successful_poll_at": last_ok.isoformat() if last_ok else None,
        "last_successful_poll_age_seconds": round((now - last_ok).total_seconds(), 1) if last_ok else None,
        "deliveries_failed": snapshot.deliveries_failed,
    }
    return JSONResponse(body)
