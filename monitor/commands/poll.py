"""`monitor poll [FEED-ID]...`: poll feeds now, through the same feed leases as the service's poll tick.

PostgreSQL: this process claims the feeds' leases and polls them itself, whether or not a service
runs (a feed another process is polling at that moment is left to it). SQLite takes one service
process, and a running `monitor run` holds the database's lock: then the feeds are only made due
now, and the service polls them on its next poll tick (within MONITOR_POLL_TICK, 5 s by default).
With no service running, this process takes that lock for the length of the poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from monitor.clock import Clock, relative_time, system_clock
from monitor.config.models import Config
from monitor.errors import MonitorError, ServiceRunning
from monitor.service.jobs import POLL_TICK
from monitor.service.process import Service
from monitor.store.feeds import FeedHealth


def run_poll(
    config: Config, config_dir: Path, feed_ids: Sequence[str], *, out: Callable[[str], None],
    env: Mapping[str, str] | None = None, clock: Clock = system_clock,
) -> int:
    """Poll the named feeds (all configured feeds when none is named); returns the exit status."""
    known = [f.id for f in config.feeds]
    unknown = [f for f in feed_ids if f not in known]
    if unknown:
        raise MonitorError(
            f"unknown feed {unknown[0]!r}; feeds in feeds.yaml: {', '.join(known) or 'none'} (see `monitor feeds`)"
        )
    targets = list(dict.fromkeys(feed_ids)) or known
    if not targets:
        raise MonitorError("feeds.yaml lists no feed to poll")
    service = Service(config_dir, env, clock=clock)
    try:
        try:
            service.prepare()
        except ServiceRunning:
            return _hand_to_service(service, targets, out)
        started = service.clock()
        skipped = _disabled(service, targets, out)
        wanted = [t for t in targets if t not in skipped]
        if not wanted:
            return 1
        service.feeds.make_due(wanted, started)
        summary = asyncio.run(service.poller.poll_due(feed_ids=wanted))
        failed = _report(service, wanted, started, out)
        out(
            f"polled {summary.feeds} feed(s): {summary.ok} ok, {summary.not_modified} not modified, "
            f"{summary.errors} error(s); {summary.new_articles} new article(s), {summary.updated_articles} updated, "
            f"{summary.matches} match(es), {summary.routed} routed"
        )
        if summary.routed:
            out("routed matches are delivered by the running service's deliver tick, or by `monitor run --once`")
        return 1 if failed or skipped else 0
    finally:
        service.close()


def _health(service: Service, ids: Sequence[str]) -> dict[str, FeedHealth]:
    wanted = set(ids)
    return {h.id: h for h in service.feeds.health(service.clock()) if h.id in wanted}


def _disabled(service: Service, targets: Sequence[str], out: Callable[[str], None]) -> set[str]:
    """Feeds disabled after a 410 Gone are not polled (changing their URL in feeds.yaml revives them)."""
    skipped = set()
    for feed_id, health in _health(service, targets).items():
        if health.disabled_reason:
            out(f"{feed_id}: not polled: disabled ({health.disabled_reason}); change its URL in feeds.yaml to revive it")
            skipped.add(feed_id)
    return skipped


def _report(service: Service, ids: Sequence[str], started: datetime, out: Callable[[str], None]) -> bool:
    """One line per feed from its row; True when one failed or was not polled."""
    now = service.clock()
    health = _health(service, ids)
    failed = False
    for feed_id in ids:
        feed = health.get(feed_id)
        if feed is None or feed.last_polled_at is None or feed.last_polled_at < started:
            out(f"{feed_id}: not polled: another process holds its lease (it is being polled right now)")
            failed = True
        elif feed.error_kind:
            out(f"{feed_id}: {feed.error_kind}: {feed.error_message} (next try {relative_time(feed.next_poll_at, now)})")
            failed = True
        else:
            out(f"{feed_id}: {feed.last_status or '-'} ok (next poll {relative_time(feed.next_poll_at, now)})")
    return failed


def _hand_to_service(service: Service, targets: Sequence[str], out: Callable[[str], None]) -> int:
    """SQLite with `monitor run` running: make the feeds due now and let the service poll them."""
    skipped = _disabled(service, targets, out)
    wanted = [t for t in targets if t not in skipped]
    if wanted:
        service.feeds.make_due(wanted, service.clock())
        # The service's tick is set in its own environment; this process can only name the default.
        default = POLL_TICK.total_seconds()
        out(
            f"`monitor run` is running on this SQLite database (SQLite takes one service process): "
            f"{len(wanted)} feed(s) made due now; the service polls them on its next poll tick "
            f"(MONITOR_POLL_TICK, every {default:g}s by default). Follow the result with `monitor feeds`."
        )
    return 1 if skipped else 0
