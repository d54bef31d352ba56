"""The spike tick's job: registered beside the others, every 5 minutes unless MONITOR_SPIKE_TICK says otherwise."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.service.jobs import SPIKE_TICK, Ticks, grace, register_spike_job


class Target:
    def __init__(self) -> None:
        self.runs = 0

    async def spikes_job(self) -> None:
        self.runs += 1


def test_the_spike_job_is_registered_with_its_tick_and_misfire_rules() -> None:
    async def scenario() -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        register_spike_job(scheduler, Target(), Ticks(), now)
        scheduler.start(paused=True)
        job = scheduler.get_job("spikes")
        assert job is not None and job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == grace(SPIKE_TICK) == 300
        assert job.trigger.interval == timedelta(minutes=5)
        assert job.next_run_time == now + timedelta(minutes=1), "a minute after start, after the first polls"
        scheduler.shutdown(wait=False)

    asyncio.run(scenario())


def test_the_spike_tick_comes_from_the_environment() -> None:
    assert Ticks.from_env({}).spikes == SPIKE_TICK
    assert Ticks.from_env({"MONITOR_SPIKE_TICK": "2s"}).spikes == timedelta(seconds=2)
