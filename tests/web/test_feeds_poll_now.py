"""The feeds page's Poll now button: a CSRF-protected POST that makes the feed due for the running service."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from monitor.store.db import Database
from monitor.store.rows import Feed
from monitor.web.auth import CSRF_FIELD
from tests.web.seed import BOTH_BACKENDS, seed_clock
from tests.web.test_pages import csrf_from

pytestmark = BOTH_BACKENDS


def next_poll(db: Database, feed_id: str) -> datetime:
    """When the feed is due."""
    with db.sessions() as session:
        row = session.get(Feed, feed_id)
        assert row is not None
        return row.next_poll_at


def test_poll_now_makes_the_feed_due(client: TestClient, db: Database) -> None:
    page = client.get("/feeds").text
    assert page.count(">Poll now</button>") >= 3 and 'action="/feeds/levant-wire/poll"' in page
    # The app runs on the seed's clock (tests/web/seed.py), never the wall clock.
    assert next_poll(db, "levant-wire") > seed_clock(), "the demo cycle scheduled the next poll later"
    before = seed_clock()
    response = client.post("/feeds/levant-wire/poll", data={CSRF_FIELD: csrf_from(page)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/feeds?polled=levant-wire"
    assert next_poll(db, "levant-wire") >= before.replace(microsecond=0) and next_poll(db, "levant-wire") <= seed_clock()
    notice = client.get(response.headers["location"]).text
    assert "<code>levant-wire</code> is due now" in notice and "monitor poll levant-wire" in notice
    assert next_poll(db, "gulf-observer") > seed_clock(), "only that feed"


def test_poll_now_needs_a_valid_csrf_token_and_a_known_feed(client: TestClient, db: Database) -> None:
    token = csrf_from(client.get("/feeds").text)
    due = next_poll(db, "levant-wire")
    assert client.post("/feeds/levant-wire/poll", data={}).status_code == 403
    assert client.post("/feeds/levant-wire/poll", data={CSRF_FIELD: "forged.token"}).status_code == 403
    assert next_poll(db, "levant-wire") == due
    unknown = client.post("/feeds/no-such-feed/poll", data={CSRF_FIELD: token})
    assert unknown.status_code == 409 and "Only an active feed can be polled now" in unknown.text
    assert "is due now" not in client.get("/feeds?polled=no-such-feed").text
