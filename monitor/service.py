"""The service: APScheduler 3 drives the ticks; all shared state lives in the database."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url

from monitor.config import load_config
from monitor.errors import ConfigurationError, StorageError
from monitor.notify.deliver import DeliverySummary, DeliveryWorker
from monitor.pipeline import FeedPoller, PollSummary, worker_id
from monitor.runtime import Runtime
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.housekeeping import purge_older_than
from monitor.store.migrate import upgrade
from monitor.store.outbox import Outbox

log = logging.getLogger("monitor.service")

POLL_TICK = timedelta(seconds=5)
DELIVER_TICK = timedelta(seconds=5)
HOUSEKEEPING_TICK = timedelta(hours=1)


@dataclass
class CycleSummary:
    """What `monitor run --once` did."""

    poll: PollSummary
    delivery: DeliverySummary


class Service:
    """One `monitor run` process."""

    def __init__(self, config_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.config_dir = config_dir
        self.env = dict(os.environ if env is None else env)
        self._runtime = Runtime.build(load_config(config_dir, self.env).config)
        self.db = Database(self._runtime.config.settings.database)
        self.owner = worker_id()
        self.feeds = FeedRepository(self.db)
        self.outbox = Outbox(self.db)
        self.poller = FeedPoller(self.db, self.runtime, owner=self.owner)
        self.deliverer = DeliveryWorker(self.outbox, lambda: self.runtime().config, self.env, owner=self.owner)
        self._stopping = False
        self._lock_file: IO[str] | None = None

    def runtime(self) -> Runtime:
        """The configuration in force."""
        return self._runtime

    # ------------------------------------------------------------ start-up

    def prepare(self) -> None:
        """Take the single-writer lock on SQLite, migrate, and sync the feed rows with the config."""
        if self.db.is_sqlite:
            self._lock_sqlite()
        upgrade(self.db)
        self.feeds.sync(self.runtime().config.feeds, datetime.now(UTC))

    def _lock_sqlite(self) -> None:
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
            raise StorageError(
                f"another monitor process is already running on {database}; SQLite supports one service "
                "process. Stop the other one, or use PostgreSQL (database: postgresql+psycopg://...) to run several."
            ) from None
        self._lock_file = handle

    def reload(self) -> bool:
        """Load the configuration again; keep the last good one when the new one is invalid."""
        try:
            runtime = Runtime.build(load_config(self.config_dir, self.env).config)
        except ConfigurationError as exc:
            log.error("config_invalid problems=%d (keeping the last good configuration)\n%s", len(exc.problems), exc)
            return False
        except Exception as exc:  # e.g. a query the checker let through but the compiler refused
            log.error("config_invalid error=%r (keeping the last good configuration)", str(exc))
            return False
        self._runtime = runtime
        self.feeds.sync(runtime.config.feeds, datetime.now(UTC))
        log.info(
            "config_reloaded feeds=%d watchlists=%d subscribers=%d",
            len(runtime.config.feeds), len(runtime.config.watchlists), len(runtime.config.subscribers),
        )
        return True

    # ------------------------------------------------------------ one cycle

    def close(self) -> None:
        """Release the database and the SQLite single-writer lock."""
        self.db.dispose()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def run_once(self) -> CycleSummary:
        """Poll every feed now, match, route, and deliver what is due; then return."""
        try:
            self.prepare()
            self.feeds.make_all_due(datetime.now(UTC))
            poll = asyncio.run(self.poller.poll_due())
            self._log_poll(poll)
            delivery = self.deliver_tick()
            return CycleSummary(poll, delivery)
        finally:
            self.close()

    def deliver_tick(self) -> DeliverySummary:
        """Assemble alerts and due digests, then send what is due."""
        assembled = self.deliverer.assemble()
        summary = self.deliverer.send_due(stop=lambda: self._stopping)
        summary.assembled = assembled
        if assembled or summary.sent or summary.failed or summary.retried:
            log.info(
                "deliver_tick assembled=%d sent=%d retried=%d failed=%d",
                assembled, summary.sent, summary.retried, summary.failed,
            )
        return summary

    def housekeeping(self) -> None:
        """Delete what is older than the retention period."""
        cutoff = datetime.now(UTC) - self.runtime().config.settings.retention
        removed = purge_older_than(self.db, cutoff)
        log.info("housekeeping cutoff=%s removed=%s", cutoff.isoformat(timespec="seconds"), removed)

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
        try:
            self.prepare()
            asyncio.run(self._serve())
        finally:
            self.close()

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        scheduler = AsyncIOScheduler(timezone=UTC)
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30, "replace_existing": True}
        now = datetime.now(UTC)
        scheduler.add_job(self._poll_job, "interval", seconds=POLL_TICK.total_seconds(), id="poll",
                          next_run_time=now, **common)
        scheduler.add_job(self._deliver_job, "interval", seconds=DELIVER_TICK.total_seconds(), id="deliver",
                          next_run_time=now + timedelta(seconds=1), **common)
        scheduler.add_job(asyncio.to_thread, "interval", args=[self.housekeeping],
                          seconds=HOUSEKEEPING_TICK.total_seconds(), id="housekeeping", **common)
        scheduler.start()
        watcher = asyncio.ensure_future(self._watch_config(stop))
        log.info("service_started owner=%s config=%s database=%s", self.owner, self.config_dir,
                 make_url(self.db.url).render_as_string(hide_password=True))
        await stop.wait()
        log.info("service_stopping")
        self._stopping = True
        scheduler.shutdown(wait=False)
        watcher.cancel()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=10)
        log.info("service_stopped")

    async def _poll_job(self) -> None:
        try:
            summary = await self.poller.poll_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("poll_tick_crashed")
            return
        if summary.feeds:
            self._log_poll(summary)

    async def _deliver_job(self) -> None:
        try:
            await asyncio.to_thread(self.deliver_tick)
        except Exception:
            log.exception("deliver_tick_crashed")

    async def _watch_config(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        async for _changes in awatch(self.config_dir, stop_event=stop, debounce=500):
            await asyncio.to_thread(self.reload)
