"""What one `monitor run` process does: start up, reload its configuration, and the body of each tick.

The concurrency around it (APScheduler, signals, the config watcher, stopping with grace) is
monitor/service/loop.py, which calls these steps; `monitor run --once` and `monitor poll` call them directly.
All shared state lives in the database.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from monitor.clock import Clock, system_clock
from monitor.config import load_config
from monitor.config.gc_pause import collect_less_often
from monitor.errors import ConfigurationError, MonitorError, ServiceRunning
from monitor.notify.deliver import DeliverySummary, DeliveryWorker
from monitor.refresh.poll_report import PollSummary
from monitor.refresh.poller import FeedPoller, worker_id
from monitor.refresh.runtime import Runtime
from monitor.refresh.websub import WebSubKeeper
from monitor.service.jobs import Ticks
from monitor.store.coordination import HOUSEKEEPING_LOCK, SYNC_LOCK, advisory_lock, release_stale_leases
from monitor.store.db import Database
from monitor.store.feed_health import purge_feed_health
from monitor.store.feeds import FeedRepository
from monitor.store.housekeeping import purge_older_than, purge_spikes
from monitor.store.migrate import upgrade
from monitor.store.outbox import Outbox
from monitor.usecases.candidates import index_articles
from monitor.usecases.check import CheckedConfig, check_configuration
from monitor.usecases.feed_health import FeedHealthTicker, RaisedHealthAlert
from monitor.usecases.spikes import RaisedSpike, SpikeTicker

log = logging.getLogger("monitor.service")

SEARCH_INDEX_SECONDS = 20.0
"""A search-index tick indexes this long at most (in batches of 500; SQLite's write lock is freed between them)."""


@dataclass
class CycleSummary:
    """What `monitor run --once` did."""

    poll: PollSummary
    delivery: DeliverySummary


class Service:
    """One `monitor run` process: its repositories and stage workers, its configuration, and the steps of its ticks."""

    def __init__(
        self,
        config_dir: Path,
        env: Mapping[str, str] | None = None,
        *,
        ticks: Ticks | None = None,
        workers: int = 1,
        log_format: str = "text",
        clock: Clock = system_clock,
        loaded: CheckedConfig | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.clock = clock
        self.env = dict(os.environ if env is None else env)
        self.ticks = ticks or Ticks.from_env(self.env)
        self.workers = workers
        self.log_format = log_format
        # `loaded`: the configuration `monitor run` has just checked (and compiled), not loaded twice.
        if loaded is not None:
            self._runtime = Runtime.build(loaded.config, loaded.matcher)
        else:
            self._runtime = Runtime.build(load_config(config_dir, self.env).config, None)
        self.db = Database(self._runtime.config.settings.database)
        self.owner = worker_id()
        self.feeds = FeedRepository(self.db)
        self.outbox = Outbox(self.db)
        self.poller = FeedPoller(self.db, self.runtime, owner=self.owner, clock=clock)
        self.deliverer = DeliveryWorker(self.outbox, lambda: self.runtime().config, self.env, owner=self.owner,
                                        clock=clock)
        self.spikes = SpikeTicker(self.db)
        self.feed_health = FeedHealthTicker(self.db)
        self.websub = WebSubKeeper(self.db, self.runtime, clock)
        # Set by the loop when the process is asked to stop: the deliver loop stops between deliveries.
        self.stopping = False
        self._lock_file: IO[str] | None = None
        self._reload_lock = threading.Lock()
        self._fingerprint = self.config_fingerprint()

    def runtime(self) -> Runtime:
        """The configuration in force."""
        return self._runtime

    # ------------------------------------------------------------ start-up

    def prepare(self) -> None:
        """Take the single-writer lock on SQLite, migrate, free dead leases, sync the feeds with the config.

        Also sets the process's garbage collector for a service's allocations (`collect_less_often`).
        """
        collect_less_often()
        if self.db.is_sqlite:
            self._lock_sqlite()
        elif self.workers < 1:
            raise MonitorError("--workers must be at least 1")
        upgrade(self.db)
        released = release_stale_leases(self.db, self.owner)
        if released:
            log.info("leases_released count=%d (left by a process that was killed)", released)
        self._sync(self.runtime())

    def _sync(self, runtime: Runtime) -> None:
        # Serialised across processes: two starting at once would insert the same new feed rows.
        with advisory_lock(self.db, SYNC_LOCK):
            now = self.clock()
            self.feeds.sync(runtime.config.feeds, now)
            for subscriber in runtime.config.subscribers:
                if subscriber.schedule.kind == "immediate":
                    continue
                state = self.outbox.subscriber_state(subscriber.id)
                if state is None or state.last_digest_at is None:
                    # The digest's first sight, under the lock so that processes don't race to create it.
                    self.deliverer.assemble_due_digest(subscriber, now)

    def _lock_sqlite(self) -> None:
        if self._lock_file is not None:
            return  # already ours
        database = make_url(self.db.url).database or ""
        if not database or database == ":memory:":
            return
        path = Path(database + ".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ServiceRunning(
                f"another monitor process is already running on {database}; SQLite supports one service "
                "process. Stop the other one, or use PostgreSQL (database: postgresql+psycopg://...) to run several."
            ) from None
        self._lock_file = handle

    # ------------------------------------------------------------ configuration reload

    def config_fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """Name, mtime and size of every file under the config directory (to notice edits cheaply)."""
        found = []
        for path in sorted(self.config_dir.rglob("*")):
            try:
                if path.is_file() and not path.name.startswith("."):
                    stat = path.stat()
                    found.append((str(path), stat.st_mtime_ns, stat.st_size))
            except OSError:
                continue  # removed while we looked
        return tuple(found)

    def reload(self) -> bool:
        """Load the configuration again; keep the last good one when the new one is invalid."""
        with self._reload_lock:
            self._fingerprint = self.config_fingerprint()
            try:
                # The same checks as `monitor check` (minus the watchlists' tests), so that a query error
                # is reported with its file, line and column like every other problem.
                loaded, problems = check_configuration(self.config_dir, self.env, run_tests=False)
                if problems or loaded is None:
                    raise ConfigurationError(problems)
                runtime = Runtime.build(loaded.config, loaded.matcher)
            except ConfigurationError as exc:
                log.error("config_invalid problems=%d (keeping the last good configuration)\n%s",
                          len(exc.problems), exc)
                return False
            except Exception as exc:  # e.g. a query the checker let through but the compiler refused
                log.error("config_invalid error=%r (keeping the last good configuration)", str(exc))
                return False
            try:
                self._sync(runtime)
            except Exception:
                # Keep the old runtime so that the next change (or the reload job) tries again.
                log.exception("config_sync_failed (keeping the last good configuration)")
                self._fingerprint = ()
                return False
            self._runtime = runtime
            log.info(
                "config_reloaded feeds=%d watchlists=%d subscribers=%d",
                len(runtime.config.feeds), len(runtime.config.watchlists), len(runtime.config.subscribers),
            )
            return True

    def reload_if_changed(self) -> bool:
        """Reload when a file under config/ changed since the last attempt."""
        if self.config_fingerprint() == self._fingerprint:
            return False
        return self.reload()

    # ------------------------------------------------------------ one cycle, and the ticks' steps

    def close(self) -> None:
        """Release the parse pool, the webhook client, the database and the SQLite single-writer lock."""
        self.deliverer.close()
        self.poller.close()
        self.db.dispose()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def run_once(self) -> CycleSummary:
        """Poll every feed now, match, route, and deliver what is due; then return."""
        try:
            self.prepare()
            self.feeds.make_all_due(self.clock())
            poll = asyncio.run(self.poller.poll_due())
            log_poll(poll)
            self.feed_health_tick()  # cron's `run --once` tells operators of failing feeds too
            delivery = self.deliver_tick()
            return CycleSummary(poll, delivery)
        finally:
            self.close()

    def deliver_tick(self) -> DeliverySummary:
        """Assemble alerts and due digests (the catch-up path of digests), then send what is due."""
        assembled = self.deliverer.assemble()
        summary = self.deliverer.send_due(stop=lambda: self.stopping)
        summary.assembled = assembled
        if assembled or summary.sent or summary.failed or summary.retried:
            log.info(
                "deliver_tick assembled=%d sent=%d retried=%d failed=%d",
                assembled, summary.sent, summary.retried, summary.failed,
            )
        return summary

    def digest_tick(self, subscriber_id: str) -> int:
        """Build a subscriber's digest at its scheduled time and send it (idempotent with deliver_tick)."""
        subscriber = self.runtime().subscribers.get(subscriber_id)
        if subscriber is None:
            return 0
        built = self.deliverer.assemble_due_digest(subscriber, self.clock())
        if built:
            self.deliverer.send_due(stop=lambda: self.stopping)
        return built

    def housekeeping(self) -> None:
        """Delete what is older than the retention period (one process at a time, in batches)."""
        with advisory_lock(self.db, HOUSEKEEPING_LOCK, wait=False) as mine:
            if not mine:
                return  # another process is at it
            config = self.runtime().config
            cutoff = self.clock() - config.settings.retention
            removed = purge_older_than(self.db, cutoff)
            self.outbox.purge_empty(cutoff)
            configured = [(wid, e) for wid, w in config.watchlists.items() for e in w.entry_ids()]
            removed |= purge_spikes(self.db, cutoff, configured)
            removed["feed_health_alerts"] = purge_feed_health(self.db, cutoff)
        log.info("housekeeping cutoff=%s removed=%s", cutoff.isoformat(timespec="seconds"), removed)

    def spike_tick(self) -> list[RaisedSpike]:
        """Judge every entry's volume (complete hours and the hour so far); spike alerts go to the outbox."""
        raised = self.spikes.tick(self.runtime().config, self.clock())
        for spike in raised:
            log.info("spike_alert alert_id=%s watchlist=%s entry=%s reason=%s recipients=%d",
                     spike.alert_id, spike.watchlist, spike.entry_id, spike.reason, spike.recipients)
        return raised

    def feed_health_tick(self) -> list[RaisedHealthAlert]:
        """Judge every feed's failures and silence; feed-health alerts go to the outbox."""
        raised = self.feed_health.tick(self.runtime().config, self.clock())
        for alert in raised:
            log.info("feed_health_alert alert_id=%s feed_id=%s event=%s recipients=%d",
                     alert.alert_id, alert.feed_id, alert.event, alert.recipients)
        return raised

    def search_index(self) -> int:
        """Index the articles queued for archive search, for at most SEARCH_INDEX_SECONDS a tick."""
        return index_articles(self.db, seconds=SEARCH_INDEX_SECONDS)


def log_poll(poll: PollSummary) -> None:
    """Log what a poll tick did (one line, stable keys)."""
    log.info(
        "poll_tick feeds=%d ok=%d not_modified=%d errors=%d new_articles=%d updated=%d matches=%d routed=%d",
        poll.feeds, poll.ok, poll.not_modified, poll.errors, poll.new_articles, poll.updated_articles,
        poll.matches, poll.routed,
    )
