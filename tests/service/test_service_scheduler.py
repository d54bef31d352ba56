"""The APScheduler wiring: explicit ids and misfire rules, one catch-up run per job after an outage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from monitor.config.models import SubscriberConfig
from monitor.notify.deliver import DeliveryWorker
from monitor.service.jobs import (
    DIGEST_PREFIX,
    JitteredInterval,
    Ticks,
    grace,
    register_jobs,
    sync_digest_jobs,
)
from monitor.store.db import Database
from monitor.store.migrate import upgrade
from monitor.store.outbox import Outbox
from monitor.store.rows import Delivery

T0 = datetime(2026, 11, 24, 8, 0, 30, tzinfo=UTC)


def subscriber(sid: str, schedule: str, zone: str = "Europe/Istanbul") -> SubscriberConfig:
    return SubscriberConfig(id=sid, email=f"{sid}@example.org", watchlists=("w",), schedule=schedule, timezone=zone)


class Counting:
    """A JobTarget that counts its runs."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.runs[name] = self.runs.get(name, 0) + 1

    async def poll_job(self) -> None:
        self._count("poll")

    async def deliver_job(self) -> None:
        self._count("deliver")

    async def digest_job(self, subscriber_id: str) -> None:
        self._count(DIGEST_PREFIX + subscriber_id)

    async def reload_job(self) -> None:
        self._count("config-reload")

    async def housekeeping_job(self) -> None:
        self._count("housekeeping")


class FakeClock:
    """Replaces datetime in APScheduler's scheduler and executor modules (they read the time themselves)."""

    now = T0

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> None:
        import apscheduler.executors.base as executors
        import apscheduler.schedulers.base as schedulers

        class Fake(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Fake:  # type: ignore[override]
                return FakeClock.now.astimezone(tz)  # type: ignore[return-value]

        monkeypatch.setattr(schedulers, "datetime", Fake)
        monkeypatch.setattr(executors, "datetime", Fake)


SUBSCRIBERS = [subscriber("hourly-desk", "hourly"), subscriber("now-desk", "immediate"),
               subscriber("morning", "daily 07:30")]


def test_jobs_have_explicit_ids_and_misfire_rules() -> None:
    async def scenario() -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        register_jobs(scheduler, Counting(), Ticks(), SUBSCRIBERS, datetime.now(UTC))
        scheduler.start(paused=True)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"poll", "deliver", "config-reload", "housekeeping",
                             "digest:hourly-desk", "digest:morning"}, "no digest job for an immediate subscriber"
        for job in jobs.values():
            assert job.coalesce is True and job.max_instances == 1
            assert job.misfire_grace_time is not None and job.misfire_grace_time >= 30
        assert jobs["poll"].misfire_grace_time == grace(Ticks().poll)
        assert jobs["housekeeping"].misfire_grace_time >= 3600, "grace of at least one interval"
        assert "Europe/Istanbul" in repr(jobs["digest:morning"].trigger), "the subscriber's zone"
        scheduler.shutdown(wait=False)

    asyncio.run(scenario())


def test_config_reload_re_registers_digest_jobs() -> None:
    async def scenario() -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        target = Counting()
        register_jobs(scheduler, target, Ticks(), SUBSCRIBERS, datetime.now(UTC))
        scheduler.start(paused=True)
        before = scheduler.get_job("digest:hourly-desk").next_run_time
        ids = sync_digest_jobs(scheduler, target, [
            subscriber("hourly-desk", "hourly"),                      # unchanged: keeps its next run
            subscriber("morning", "daily 09:00", "America/New_York"),  # changed schedule and zone
            subscriber("weekly", "weekly mon 08:00"),                  # added
        ])                                                             # now-desk gone (was immediate anyway)
        assert ids == ["digest:hourly-desk", "digest:morning", "digest:weekly"]
        assert scheduler.get_job("digest:hourly-desk").next_run_time == before
        assert "America/New_York" in repr(scheduler.get_job("digest:morning").trigger)
        sync_digest_jobs(scheduler, target, [subscriber("weekly", "weekly mon 08:00")])
        assert sorted(j.id for j in scheduler.get_jobs() if j.id.startswith(DIGEST_PREFIX)) == ["digest:weekly"]
        scheduler.shutdown(wait=False)

    asyncio.run(scenario())


def test_two_hour_outage_gives_exactly_one_catch_up_run_per_job(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeClock.install(monkeypatch)
    FakeClock.now = T0
    target = Counting()

    async def scenario() -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        ticks = Ticks(housekeeping=timedelta(minutes=30))
        register_jobs(scheduler, target, ticks, SUBSCRIBERS, T0)
        scheduler.start(paused=True)
        # The process stalls (suspended laptop, frozen VM) for two hours: every job missed many runs
        # (the poll tick ~1,440, the hourly digest two, housekeeping four).
        FakeClock.now = T0 + timedelta(hours=2, seconds=1)
        scheduler.resume()  # wakes the scheduler, which processes the due jobs
        for _ in range(50):
            await asyncio.sleep(0.01)
        assert target.runs == {name: 1 for name in
                               ("poll", "deliver", "config-reload", "housekeeping", "digest:hourly-desk")}, target.runs
        scheduler._process_jobs()  # noqa: SLF001 - nothing is due any more at the same instant
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert max(target.runs.values()) == 1, target.runs
        assert all(job.next_run_time > FakeClock.now for job in scheduler.get_jobs())
        scheduler.shutdown(wait=False)

    asyncio.run(scenario())


def test_digest_after_outage_is_one_catch_up_whichever_path_builds_it(tmp_path: Path) -> None:
    """The digest cron job and the deliver tick's catch-up both call assemble_due_digest: one digest."""
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(db)
    outbox = Outbox(db)
    desk = subscriber("hourly-desk", "hourly", "UTC")
    clock = {"now": T0}
    workers = [DeliveryWorker(outbox, lambda: None, {}, owner=f"w{i}", clock=lambda: clock["now"])  # type: ignore[arg-type]
               for i in range(2)]
    assert workers[0].assemble_due_digest(desk, T0) == 0, "first sight starts the count"
    after = T0 + timedelta(hours=2, minutes=5)
    clock["now"] = after
    built = [workers[0].assemble_due_digest(desk, after), workers[1].assemble_due_digest(desk, after),
             workers[0].assemble_due_digest(desk, after)]
    with db.sessions() as session:
        keys = [d.period_key for d in session.scalars(select(Delivery).where(Delivery.kind == "digest"))]
    assert keys == ["digest@2026-11-24T10:00Z"], "the missed 09:00 and 10:00 periods collapse into one"
    assert sum(built) <= 1
    db.dispose()


def _next_after_stall(trigger: IntervalTrigger, start: datetime, now: datetime) -> tuple[datetime, datetime]:
    """What the scheduler does after a stall: walk the missed fire times up to now, then compute the next again."""
    run_time = start
    while True:
        following = trigger.get_next_fire_time(run_time, now)
        assert following is not None
        if following > now:
            break
        run_time = following
    stored = trigger.get_next_fire_time(run_time, now)  # the scheduler's second computation (job_next_run)
    assert stored is not None
    return following, stored


def test_a_jittered_tick_is_next_due_after_now_whatever_the_jitter_draws() -> None:
    # APScheduler computes a job's next run twice from its last missed run; with its own jitter (drawn
    # afresh each time) the second can fall at or before now, and the tick ran twice in a row.
    now = T0 + timedelta(hours=2, seconds=1)
    for _ in range(300):
        trigger = JitteredInterval(seconds=10, timezone=UTC, max_jitter=2.5)
        walked, stored = _next_after_stall(trigger, T0, now)
        assert stored == walked and stored > now
    plain_runs_again = 0
    for _ in range(300):  # the reason: APScheduler's own jitter does run again now and then
        _, stored = _next_after_stall(IntervalTrigger(seconds=10, timezone=UTC, jitter=2.5), T0, now)
        plain_runs_again += stored <= now
    assert plain_runs_again > 0
