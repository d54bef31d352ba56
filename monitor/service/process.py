"""The service: APScheduler 3 drives the ticks (monitor/service/jobs.py); all shared state lives in the database."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url

from monitor.clock import Clock, system_clock
from monitor.config import load_config
from monitor.errors import ConfigurationError, MonitorError, ServiceRunning
from monitor.notify.deliver import DeliverySummary, DeliveryWorker
from monitor.refresh.poll_report import PollSummary
from monitor.refresh.poller import FeedPoller, worker_id
from monitor.refresh.runtime import Runtime
from monitor.refresh.websub import WebSubKeeper
from monitor.service.jobs import (
    Ticks,
    register_feed_health_job,
    register_jobs,
    register_search_index_job,
    register_spike_job,
    register_websub_jobs,
    sync_digest_jobs,
)
from monitor.service.workers import WorkerProcesses, parent_gone
from monitor.store.coordination import (
    HOUSEKEEPING_LOCK,
    SYNC_LOCK,
    WEBSUB_LOCK,
    advisory_lock,
    release_stale_leases,
)
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

T = TypeVar("T")

STOP_GRACE = 8.0
"""Seconds a stopping service waits for in-flight ticks before cancelling them (leases are released)."""
POLL_STOP_GRACE = 3.0
"""Seconds a stopping service lets a running poll tick finish before cancelling its fetches."""
SEARCH_INDEX_SECONDS = 20.0
"""A search-index tick indexes this long at most (in batches of 500; SQLite's write lock is freed between them)."""


@dataclass
class CycleSummary:
    """What `monitor run --once` did."""

    poll: PollSummary
    delivery: DeliverySummary


class Service:
    """One `monitor run` process."""

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
        self._stopping = False
        self._lock_file: IO[str] | None = None
        self._reload_lock = threading.Lock()
        self._fingerprint = self.config_fingerprint()
        self.scheduler: AsyncIOScheduler | None = None
        self._poll_tasks: set[asyncio.Task[object]] = set()

    def runtime(self) -> Runtime:
        """The configuration in force."""
        return self._runtime

    # ------------------------------------------------------------ start-up

    def prepare(self) -> None:
        """Take the single-writer lock on SQLite, migrate, free dead leases, sync the feeds with the config."""
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

    # ------------------------------------------------------------ one cycle

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
            self._log_poll(poll)
            self.feed_health_tick()  # cron's `run --once` tells operators of failing feeds too
            delivery = self.deliver_tick()
            return CycleSummary(poll, delivery)
        finally:
            self.close()

    def deliver_tick(self) -> DeliverySummary:
        """Assemble alerts and due digests (the catch-up path of digests), then send what is due."""
        assembled = self.deliverer.assemble()
        summary = self.deliverer.send_due(stop=lambda: self._stopping)
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
            self.deliverer.send_due(stop=lambda: self._stopping)
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

    @staticmethod
    def _log_poll(poll: PollSummary) -> None:
        log.info(
            "poll_tick feeds=%d ok=%d not_modified=%d errors=%d new_articles=%d updated=%d matches=%d routed=%d",
            poll.feeds, poll.ok, poll.not_modified, poll.errors, poll.new_articles, poll.updated_articles,
            poll.matches, poll.routed,
        )

    # ------------------------------------------------------------ the long-running service

    def run(self) -> None:
        """Run until SIGINT/SIGTERM; in-flight work is finished or its leases released."""
        if self.workers > 1 and self.db.is_sqlite:
            raise MonitorError(
                f"--workers {self.workers} needs PostgreSQL: SQLite takes one writer process. "
                "Run with --workers 1, or set database: postgresql+psycopg://... to use several processes."
            )
        children = None
        try:
            self.prepare()
            if self.workers > 1:
                children = WorkerProcesses(self.workers, self.config_dir, self.log_format, self.env)
                children.start()
            asyncio.run(self._serve(children))
        finally:
            if children is not None:
                children.stop(timeout=STOP_GRACE + 2)
            self.close()

    async def _serve(self, children: WorkerProcesses | None) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            if stop.is_set():
                log.warning("service_forced_exit signal=%s (leases left will expire)", sig.name)
                os._exit(1)
            log.info("service_stopping signal=%s", sig.name)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        self.scheduler = scheduler = AsyncIOScheduler(timezone=UTC)
        # The scheduler's own time: APScheduler fires jobs on the wall clock, whatever clock stamps the data.
        started = system_clock()
        register_jobs(scheduler, self, self.ticks, self.runtime().config.subscribers, started)
        register_spike_job(scheduler, self, self.ticks, started)
        register_feed_health_job(scheduler, self, self.ticks, started)
        register_websub_jobs(scheduler, self, self.ticks, started)
        register_search_index_job(scheduler, self, started)
        scheduler.start()
        watcher = asyncio.ensure_future(self._watch_config(stop))
        guard = asyncio.ensure_future(self._guard(stop, children))
        log.info("service_started owner=%s config=%s database=%s workers=%d", self.owner, self.config_dir,
                 make_url(self.db.url).render_as_string(hide_password=True), self.workers)
        await stop.wait()
        self._stopping = True  # the deliver loop stops between deliveries and releases the rest
        # Pause, not shut down: APScheduler's asyncio executor cancels running jobs on shutdown, which
        # would drop fetched answers (and another process would fetch those feeds again at once).
        scheduler.pause()
        watcher.cancel()
        guard.cancel()
        if self._poll_tasks:
            # A tick usually ends within a second: let it. A slow server's fetch is not waited out:
            # after POLL_STOP_GRACE the tick is cancelled and releases its feed leases.
            await asyncio.wait(list(self._poll_tasks), timeout=POLL_STOP_GRACE)
            for task in list(self._poll_tasks):
                task.cancel()
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        _done, pending = await asyncio.wait(running, timeout=STOP_GRACE) if running else (set(), set())
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)
        scheduler.shutdown(wait=False)
        log.info("service_stopped")

    async def _guard(self, stop: asyncio.Event, children: WorkerProcesses | None) -> None:
        """Supervise child workers; in a child, stop when the parent has gone."""
        while not stop.is_set():
            if children is not None:
                children.check()
            if parent_gone(self.env):
                log.warning("service_stopping reason=parent_exited")
                stop.set()
            await asyncio.sleep(1)

    # ------------------------------------------------------------ jobs (called by the scheduler)

    async def poll_job(self) -> None:
        """The poll tick."""
        task = asyncio.current_task()
        if task is not None:
            self._poll_tasks.add(task)
        try:
            summary = await self.poller.poll_due()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Cancelled by our own stop: the poller released its leases; not an error worth a traceback.
            log.info("poll_tick_cancelled (stopping; unfinished feeds released)")
            return
        except Exception:
            log.exception("poll_tick_crashed")
            return
        finally:
            self._poll_tasks.discard(task)  # type: ignore[arg-type]
        if summary.feeds:
            self._log_poll(summary)

    async def push_job(self) -> None:
        """The push tick: feeds whose WebSub hub pushed a body are refreshed with it at once (refresh_feed)."""
        try:
            summary = await self.poller.refresh_inbox()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("push_tick_crashed")
            return
        if summary.routed and self.scheduler is not None and self.scheduler.running:
            # Alerts of a push go out now, not at the next deliver tick.
            job = self.scheduler.get_job("deliver")
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    async def websub_job(self) -> None:
        """The WebSub tick (monitor/refresh/websub.py)."""
        try:
            # One process at a time: two would each subscribe a feed that has no subscription yet.
            with advisory_lock(self.db, WEBSUB_LOCK, wait=False) as mine:
                if mine:
                    await self.websub.tick()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("websub_tick_crashed")

    async def deliver_job(self) -> None:
        """The deliver tick."""
        await self._in_thread("deliver_tick", self.deliver_tick)

    async def digest_job(self, subscriber_id: str) -> None:
        """A subscriber's digest cron."""
        await self._in_thread("digest", self.digest_tick, subscriber_id)

    async def reload_job(self) -> None:
        """Fallback for file systems whose events watchfiles cannot see (network and some bind mounts)."""
        if await self._in_thread("config_reload", self.reload_if_changed):
            self._sync_jobs()

    async def housekeeping_job(self) -> None:
        """The retention job."""
        await self._in_thread("housekeeping", self.housekeeping)

    def search_index(self) -> int:
        """Index the articles queued for archive search, for at most SEARCH_INDEX_SECONDS a tick."""
        return index_articles(self.db, seconds=SEARCH_INDEX_SECONDS)

    async def search_index_job(self) -> None:
        """The search indexer's tick."""
        await self._in_thread("search_index", self.search_index)

    async def spikes_job(self) -> None:
        """The spike tick."""
        await self._in_thread("spike_tick", self.spike_tick)

    async def feed_health_job(self) -> None:
        """The feed-health tick."""
        await self._in_thread("feed_health_tick", self.feed_health_tick)

    async def _in_thread(self, name: str, func: Callable[..., T], *args: object) -> T | None:
        try:
            return await asyncio.to_thread(func, *args)
        except Exception:
            log.exception("%s_crashed", name)
            return None

    def _sync_jobs(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            ids = sync_digest_jobs(self.scheduler, self, self.runtime().config.subscribers)
            log.info("jobs_synced digests=%d", len(ids))

    async def _watch_config(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        try:
            async for _changes in awatch(self.config_dir, stop_event=stop, debounce=500, recursive=True):
                if await self._in_thread("config_reload", self.reload):
                    self._sync_jobs()
        except asyncio.CancelledError:
            raise
        except Exception:
            # e.g. inotify limits: the reload job still notices edits within its tick.
            log.exception("config_watch_failed (falling back to the reload job)")
