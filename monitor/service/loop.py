"""The long-running `monitor run`: APScheduler 3 drives the ticks (monitor/service/jobs.py) of one Service.

This is the concurrency around the steps of monitor/service/process.py: the jobs the scheduler fires
(each runs one step, in a thread when it blocks), SIGINT/SIGTERM and the stop with grace, the
configuration watcher, and the supervision of the `--workers N` children. All shared state lives in
the database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url

from monitor.clock import system_clock
from monitor.errors import MonitorError
from monitor.service.jobs import (
    register_feed_health_job,
    register_jobs,
    register_search_index_job,
    register_spike_job,
    register_websub_jobs,
    sync_digest_jobs,
)
from monitor.service.process import Service, log_poll
from monitor.service.workers import WorkerProcesses, parent_gone
from monitor.store.coordination import WEBSUB_LOCK, advisory_lock

log = logging.getLogger("monitor.service")

T = TypeVar("T")

STOP_GRACE = 8.0
"""Seconds a stopping service waits for in-flight ticks before cancelling them (leases are released)."""
POLL_STOP_GRACE = 3.0
"""Seconds a stopping service lets a running poll tick finish before cancelling its fetches."""


def run_until_stopped(service: Service) -> None:
    """Run the service until SIGINT/SIGTERM; in-flight work is finished or its leases released."""
    if service.workers > 1 and service.db.is_sqlite:
        raise MonitorError(
            f"--workers {service.workers} needs PostgreSQL: SQLite takes one writer process. "
            "Run with --workers 1, or set database: postgresql+psycopg://... to use several processes."
        )
    children = None
    try:
        service.prepare()
        if service.workers > 1:
            children = WorkerProcesses(service.workers, service.config_dir, service.log_format, service.env)
            children.start()
        asyncio.run(ServiceLoop(service, children).serve())
    finally:
        if children is not None:
            children.stop(timeout=STOP_GRACE + 2)
        service.close()


class ServiceLoop:
    """The scheduler side of one running service: the jobs it fires, each one a step of the Service."""

    def __init__(self, service: Service, children: WorkerProcesses | None) -> None:
        self.service = service
        self.children = children
        self.scheduler: AsyncIOScheduler | None = None
        self._poll_tasks: set[asyncio.Task[object]] = set()

    async def serve(self) -> None:
        """Start the jobs, wait for SIGINT/SIGTERM (or the parent's exit), then stop with grace."""
        service = self.service
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
        register_jobs(scheduler, self, service.ticks, service.runtime().config.subscribers, started)
        register_spike_job(scheduler, self, service.ticks, started)
        register_feed_health_job(scheduler, self, service.ticks, started)
        register_websub_jobs(scheduler, self, service.ticks, started)
        register_search_index_job(scheduler, self, started)
        scheduler.start()
        watcher = asyncio.ensure_future(self._watch_config(stop))
        guard = asyncio.ensure_future(self._guard(stop))
        log.info("service_started owner=%s config=%s database=%s workers=%d", service.owner, service.config_dir,
                 make_url(service.db.url).render_as_string(hide_password=True), service.workers)
        await stop.wait()
        service.stopping = True  # the deliver loop stops between deliveries and releases the rest
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

    async def _guard(self, stop: asyncio.Event) -> None:
        """Supervise child workers; in a child, stop when the parent has gone."""
        while not stop.is_set():
            if self.children is not None:
                self.children.check()
            if parent_gone(self.service.env):
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
            summary = await self.service.poller.poll_due()
        except asyncio.CancelledError:
            if not self.service.stopping:
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
            log_poll(summary)

    async def push_job(self) -> None:
        """The push tick: feeds whose WebSub hub pushed a body are refreshed with it at once (refresh_feed)."""
        try:
            summary = await self.service.poller.refresh_inbox()
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
            with advisory_lock(self.service.db, WEBSUB_LOCK, wait=False) as mine:
                if mine:
                    await self.service.websub.tick()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("websub_tick_crashed")

    async def deliver_job(self) -> None:
        """The deliver tick."""
        await self._in_thread("deliver_tick", self.service.deliver_tick)

    async def digest_job(self, subscriber_id: str) -> None:
        """A subscriber's digest cron."""
        await self._in_thread("digest", self.service.digest_tick, subscriber_id)

    async def reload_job(self) -> None:
        """Fallback for file systems whose events watchfiles cannot see (network and some bind mounts)."""
        if await self._in_thread("config_reload", self.service.reload_if_changed):
            self._sync_jobs()

    async def housekeeping_job(self) -> None:
        """The retention job."""
        await self._in_thread("housekeeping", self.service.housekeeping)

    async def search_index_job(self) -> None:
        """The search indexer's tick."""
        await self._in_thread("search_index", self.service.search_index)

    async def spikes_job(self) -> None:
        """The spike tick."""
        await self._in_thread("spike_tick", self.service.spike_tick)

    async def feed_health_job(self) -> None:
        """The feed-health tick."""
        await self._in_thread("feed_health_tick", self.service.feed_health_tick)

    async def _in_thread(self, name: str, func: Callable[..., T], *args: object) -> T | None:
        try:
            return await asyncio.to_thread(func, *args)
        except Exception:
            log.exception("%s_crashed", name)
            return None

    def _sync_jobs(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            ids = sync_digest_jobs(self.scheduler, self, self.service.runtime().config.subscribers)
            log.info("jobs_synced digests=%d", len(ids))

    async def _watch_config(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        try:
            async for _changes in awatch(self.service.config_dir, stop_event=stop, debounce=500, recursive=True):
                if await self._in_thread("config_reload", self.service.reload):
                    self._sync_jobs()
        except asyncio.CancelledError:
            raise
        except Exception:
            # e.g. inotify limits: the reload job still notices edits within its tick.
            log.exception("config_watch_failed (falling back to the reload job)")
