"""The search indexer's job: registered beside the others, every 30 s; the service's tick drains the queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.service.jobs import SEARCH_INDEX_TICK, grace, register_search_index_job


class Target:
    async def search_index_job(self) -> None:
        pass


def test_the_search_index_job_is_registered_with_its_tick_and_misfire_rules() -> None:
    async def scenario() -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        register_search_index_job(scheduler, Target(), now)
        scheduler.start(paused=True)
        job = scheduler.get_job("search-index")
        assert job is not None and job.coalesce is True and job.max_instances == 1
        assert job.trigger.interval == SEARCH_INDEX_TICK == timedelta(seconds=30)
        assert job.misfire_grace_time == grace(SEARCH_INDEX_TICK)
        assert job.next_run_time == now + SEARCH_INDEX_TICK
        scheduler.shutdown(wait=False)

    asyncio.run(scenario())
