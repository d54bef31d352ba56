"""A form whose work waits (for SQLite's write lock, a configuration check) does not hold up other requests."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx

from monitor.store.db import Database
from monitor.web.app import create_app
from monitor.web.auth import CSRF_FIELD
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.seed import Seeded, seed_clock
from tests.web.test_pages import csrf_from


def test_a_post_waiting_for_the_write_lock_does_not_hold_up_other_requests(seeded: Seeded, db: Database) -> None:
    """The routes that write take their form on the event loop and do their work in the thread pool."""
    app = create_app(seeded.config, db, clock=seed_clock)
    path = seeded.database_url.removeprefix("sqlite:///")

    async def run() -> tuple[int, bool, int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL_BASE_URL) as client:
            token = csrf_from((await client.get("/feeds")).text)
            writer = sqlite3.connect(path, isolation_level=None)  # the service's writer, holding the lock
            writer.execute("BEGIN IMMEDIATE")
            try:
                poll = asyncio.ensure_future(client.post("/feeds/levant-wire/poll", data={CSRF_FIELD: token}))
                await asyncio.sleep(0.2)  # the POST reaches the database and waits there
                health = await client.get("/healthz")
                still_waiting = not poll.done()
            finally:
                writer.execute("ROLLBACK")
                writer.close()
            return health.status_code, still_waiting, (await poll).status_code

    assert asyncio.run(run()) == (200, True, 303), "/healthz answered while the POST waited; the POST then went through"
