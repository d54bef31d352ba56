"""APScheduler wiring of `monitor run`: which tick calls which stage, with explicit ids and misfire rules.

APScheduler's job store is memory only: what is due, who holds a lease and what was delivered live
in the database, so these jobs are only the process's heartbeat and any number of processes can
run the same set side by side.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config.models import SubscriberConfig
from monitor.config.units import parse_duration
from monitor.notify.digests import trigger_for

POLL_TICK = timedelta(seconds=5)
DELIVER_TICK = timedelta(seconds=5)
RELOAD_TICK = timedelta(seconds=30)
HOUSEKEEPING_TICK = timedelta(hours=1)
SPIKE_TICK = timedelta(minutes=5)
PUSH_TICK = timedelta(seconds=1)
"""How often pushed WebSub bodies waiting in the inbox are refreshed (one cheap query when there are none)."""
WEBSUB_TICK = timedelta(minutes=1)
"""How often WebSub subscriptions are made, renewed and checked for lapses (monitor/refresh/websub.py)."""
"""The spike tick judges the hours closed since the last one and the hour so far (docs/spikes.md)."""
FEED_HEALTH_TICK = timedelta(minutes=5)
"""The feed-health tick judges every feed's failures and silence (README, "Feed-health alerts")."""
SPIKE_DELAY = timedelta(minutes=1)
"""The first spike tick runs a minute after start (or one tick, if shorter), after the first polls."""
SEARCH_INDEX_TICK = timedelta(seconds=30)
"""The search indexer takes the articles queued since its last run (docs/search.md)."""
HOUSEKEEPING_DELAY = timedelta(minutes=1)
"""The first housekeeping runs a minute after start, not during the start-up burst of polls."""
MIN_TICK_GRACE = timedelta(seconds=30)
DIGEST_GRACE = timedelta(hours=12)
"""A digest whose time passed while the process was stalled still runs (once) within this; beyond it
the deliver tick's catch-up builds it anyway, so nothing is lost either way."""

TICK_JITTER = 0.25
"""Poll and deliver ticks start up to this fraction of a tick late, at random (a mean tick of 1.125
ticks). Without it two processes' ticks keep a fixed order, and the one that ticks first after feeds
fall due takes them all, every time."""

DIGEST_PREFIX = "digest:"

# coalesce: missed runs collapse into one; max_instances=1: a slow tick is never overlapped by itself.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "replace_existing": True}


@dataclass(frozen=True)
class Ticks:
    """How often the interval jobs run."""

    poll: timedelta = POLL_TICK
    deliver: timedelta = DELIVER_TICK
    reload: timedelta = RELOAD_TICK
    housekeeping: timedelta = HOUSEKEEPING_TICK
    spikes: timedelta = SPIKE_TICK
    feed_health: timedelta = FEED_HEALTH_TICK
    push: timedelta = PUSH_TICK
    websub: timedelta = WEBSUB_TICK

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Ticks:
        """Defaults, overridden by MONITOR_POLL_TICK / _DELIVER_TICK / _SPIKE_TICK / _WEBSUB_TICK (e.g. `1s`; tests)."""
        poll = env.get("MONITOR_POLL_TICK")
        deliver = env.get("MONITOR_DELIVER_TICK")
        spikes = env.get("MONITOR_SPIKE_TICK")
        websub = env.get("MONITOR_WEBSUB_TICK")
        return cls(
            poll=parse_duration(poll) if poll else POLL_TICK,
            deliver=parse_duration(deliver) if deliver else DELIVER_TICK,
            spikes=parse_duration(spikes) if spikes else SPIKE_TICK,
            websub=parse_duration(websub) if websub else WEBSUB_TICK,
        )


class JobTarget(Protocol):
    """What the jobs call: the ServiceLoop implements it (monitor/service/loop.py)."""

    async def poll_job(self) -> None:
        """Claim and poll the due feeds."""

    async def deliver_job(self) -> None:
        """Assemble and send what is due."""

    async def digest_job(self, subscriber_id: str) -> None:
        """Build one subscriber's digest for the period that just ended, and send it."""

    async def reload_job(self) -> None:
        """Reload the configuration if a file changed (a fallback for missed file events)."""

    async def housekeeping_job(self) -> None:
        """Apply the retention period."""


class JitteredInterval(IntervalTrigger):
    """An interval trigger whose jitter is drawn once per previous fire time (at random per process).

    APScheduler's own jitter is drawn afresh on every call, and the scheduler computes a job's next run
    twice from the same last run (once while collecting the missed runs, once to store it): after a stall
    the second draw can fall at or before now, and the job ran again at once. One draw per previous fire
    time keeps both the same, which is after now; a random salt per trigger keeps processes apart.
    """

    def __init__(self, *, seconds: float, timezone: Any, max_jitter: float = 0.0) -> None:
        super().__init__(seconds=seconds, timezone=timezone)
        self.max_jitter = max_jitter
        self._salt = random.random()

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The next fire time after `previous_fire_time`, with the same jitter for the same previous time."""
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        if fire is None or not self.max_jitter:
            return fire
        key = (previous_fire_time or fire).timestamp()
        return fire + timedelta(seconds=random.Random(f"{self._salt}:{key}").uniform(0, self.max_jitter))


def grace(interval: timedelta) -> int:
    """misfire_grace_time of an interval job: at least one interval, so a stalled process runs it once."""
    return int(max(interval, MIN_TICK_GRACE).total_seconds())


def register_jobs(
    scheduler: BaseScheduler,
    target: JobTarget,
    ticks: Ticks,
    subscribers: Iterable[SubscriberConfig],
    now: datetime,
) -> None:
    """Add every job of the service to the scheduler (started or not)."""
    interval_jobs: list[tuple[str, Callable[[], Awaitable[None]], timedelta, datetime, float]] = [
        ("poll", target.poll_job, ticks.poll, now, TICK_JITTER),
        ("deliver", target.deliver_job, ticks.deliver, now + min(ticks.deliver, timedelta(seconds=1)), TICK_JITTER),
        ("config-reload", target.reload_job, ticks.reload, now + ticks.reload, 0.0),
        ("housekeeping", target.housekeeping_job, ticks.housekeeping, now + HOUSEKEEPING_DELAY, 0.0),
    ]
    for job_id, func, every, first, jitter in interval_jobs:
        seconds = every.total_seconds()
        trigger = JitteredInterval(seconds=seconds, timezone=now.tzinfo, max_jitter=seconds * jitter)
        scheduler.add_job(
            func, trigger, id=job_id, name=job_id,
            next_run_time=first, misfire_grace_time=grace(every), **JOB_DEFAULTS,
        )
    sync_digest_jobs(scheduler, target, subscribers)


class SpikeJobTarget(Protocol):
    """What the spike job calls: the ServiceLoop implements it (monitor/service/loop.py)."""

    async def spikes_job(self) -> None:
        """Judge the entries' volume and raise spike alerts."""


def register_spike_job(scheduler: BaseScheduler, target: SpikeJobTarget, ticks: Ticks, now: datetime) -> None:
    """Add the spike tick (kept apart from register_jobs: a service without watchlists never needs it)."""
    seconds = ticks.spikes.total_seconds()
    scheduler.add_job(
        target.spikes_job, IntervalTrigger(seconds=seconds, timezone=now.tzinfo), id="spikes", name="spikes",
        next_run_time=now + min(ticks.spikes, SPIKE_DELAY), misfire_grace_time=grace(ticks.spikes), **JOB_DEFAULTS,
    )


class WebSubJobTarget(Protocol):
    """What the WebSub jobs call: the ServiceLoop implements it (monitor/service/loop.py)."""

    async def push_job(self) -> None:
        """Refresh the feeds whose WebSub hubs pushed a body."""

    async def websub_job(self) -> None:
        """Subscribe, renew, and let lapsed WebSub subscriptions fall back to polling."""


def register_websub_jobs(scheduler: BaseScheduler, target: WebSubJobTarget, ticks: Ticks, now: datetime) -> None:
    """Add the push tick and the WebSub tick (monitor/refresh/websub.py)."""
    jobs: list[tuple[str, Callable[[], Awaitable[None]], timedelta, datetime]] = [
        ("push", target.push_job, ticks.push, now),
        # After the first poll tick has had a moment to discover the hubs.
        ("websub", target.websub_job, ticks.websub, now + min(ticks.websub, timedelta(seconds=5))),
    ]
    for job_id, func, every, first in jobs:
        scheduler.add_job(
            func, IntervalTrigger(seconds=every.total_seconds(), timezone=now.tzinfo), id=job_id, name=job_id,
            next_run_time=first, misfire_grace_time=grace(every), **JOB_DEFAULTS,
        )


class SearchIndexJobTarget(Protocol):
    """What the search-index job calls: the ServiceLoop implements it (monitor/service/loop.py)."""

    async def search_index_job(self) -> None:
        """Index the articles queued for archive search."""


def register_search_index_job(scheduler: BaseScheduler, target: SearchIndexJobTarget, now: datetime) -> None:
    """Add the search indexer's tick (kept apart from register_jobs, like the spike tick)."""
    seconds = SEARCH_INDEX_TICK.total_seconds()
    scheduler.add_job(
        target.search_index_job, IntervalTrigger(seconds=seconds, timezone=now.tzinfo), id="search-index",
        name="search-index", next_run_time=now + SEARCH_INDEX_TICK, misfire_grace_time=grace(SEARCH_INDEX_TICK),
        **JOB_DEFAULTS,
    )


def sync_digest_jobs(scheduler: BaseScheduler, target: JobTarget, subscribers: Iterable[SubscriberConfig]) -> list[str]:
    """One cron job per digest subscriber: add new ones, drop removed ones, replace changed schedules."""
    wanted = {}
    for subscriber in subscribers:
        trigger = trigger_for(subscriber)
        if trigger is not None:
            wanted[DIGEST_PREFIX + subscriber.id] = (subscriber, trigger)
    for job in scheduler.get_jobs():
        if job.id.startswith(DIGEST_PREFIX) and job.id not in wanted:
            job.remove()
    for job_id, (subscriber, trigger) in wanted.items():
        existing = scheduler.get_job(job_id)
        if existing is not None and repr(existing.trigger) == repr(trigger):
            continue  # unchanged: keep its next run time
        scheduler.add_job(
            target.digest_job, trigger, args=[subscriber.id], id=job_id, name=job_id,
            misfire_grace_time=int(DIGEST_GRACE.total_seconds()), **JOB_DEFAULTS,
        )
    return sorted(wanted)


class FeedHealthJobTarget(Protocol):
    """What the feed-health job calls: the ServiceLoop implements it (monitor/service/loop.py)."""

    async def feed_health_job(self) -> None:
        """Judge every feed's health and raise feed-health alerts."""


def register_feed_health_job(scheduler: BaseScheduler, target: FeedHealthJobTarget, ticks: Ticks, now: datetime) -> None:
    """Add the feed-health tick (first run a minute after start, after the first polls)."""
    seconds = ticks.feed_health.total_seconds()
    scheduler.add_job(
        target.feed_health_job, IntervalTrigger(seconds=seconds, timezone=now.tzinfo), id="feed-health",
        name="feed-health", next_run_time=now + min(ticks.feed_health, SPIKE_DELAY),
        misfire_grace_time=grace(ticks.feed_health), **JOB_DEFAULTS,
    )
