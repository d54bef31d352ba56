"""The feed row after a poll that brought no new body (304 Not Modified, or the same body as last time).

Pinned field by field, as the ORM path (`record_poll_in`) wrote them before quiet polls were recorded
in one statement per batch: every column of every row, including those a quiet poll must leave alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from monitor.errors import FetchError
from monitor.fetch import FetchResult
from monitor.refresh.poll_report import PollSummary
from monitor.refresh.refresh import Fetched
from monitor.store.feeds import ClaimedFeed, FeedRepository
from monitor.store.rows import Feed
from tests.ingest.test_pipeline_ingest import NOW, Setup
from tests.support.feedserver import FeedServer

EARLIER = NOW - timedelta(hours=5)
FAILING = NOW - timedelta(hours=3)
NAMES = ["plain", "bare", "moved", "same", "held", "pushed", "broken", "sitemap"]
COLUMNS = [c.name for c in Feed.__table__.columns]


def _not_modified(feed: ClaimedFeed, **changes: Any) -> FetchResult:
    fields: dict[str, Any] = dict(
        requested_url=feed.url, final_url=feed.url, status=304, body=None, body_hash=feed.body_hash,
        content_type=None, etag=None, last_modified=None, retry_after=None, max_age=None,
        permanent_redirect=None, not_modified=True, unchanged=True, elapsed=0.01234,
    )
    fields.update(changes)
    return FetchResult(**fields)


def _rows(setup: Setup) -> dict[str, dict[str, Any]]:
    with setup.db.sessions() as session:
        return {row.id: {c: getattr(row, c) for c in COLUMNS} for row in session.scalars(select(Feed))}


def _prepare(setup: Setup) -> dict[str, ClaimedFeed]:
    """Rows in the states a quiet poll meets: failing, validators stored or not, pushed, a sitemap."""
    with setup.db.transaction() as session:
        session.execute(update(Feed).values(
            etag='"e1"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT", body_hash="h1", poll_count=3,
            last_polled_at=EARLIER, last_success_at=EARLIER, last_status=200, last_fetch_ms=50.0, title="T",
            kind="rss", hub_urls=["https://hub.example/"], hub_topic="https://topic.example/",
            last_new_item_at=EARLIER, item_gaps=[60.0, 120.0],
        ))
        session.execute(update(Feed).where(Feed.id.in_(["plain", "broken"])).values(
            error_kind="timeout", error_message="slow", consecutive_errors=2, failing_since=FAILING,
        ))
        session.execute(update(Feed).where(Feed.id == "bare").values(etag=None, last_modified=None, body_hash=None))
        session.execute(update(Feed).where(Feed.id == "pushed").values(push_until=NOW + timedelta(days=1)))
        session.execute(update(Feed).where(Feed.id == "sitemap").values(kind="sitemap"))
    claimed = FeedRepository(setup.db).claim_due("test", NOW, limit=100, lease=timedelta(minutes=5))
    with setup.db.transaction() as session:  # another worker took this one over after our lease ended
        session.execute(update(Feed).where(Feed.id == "held").values(lease_owner="other", lease_until=NOW))
    return {feed.id: feed for feed in claimed}


def test_quiet_polls_leave_the_feed_rows_as_pinned(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    setup = Setup(tmp_path, database_url, server, dict.fromkeys(NAMES, False))
    before = _rows(setup)
    feeds = _prepare(setup)
    assert sorted(feeds) == sorted(NAMES)
    ghost = ClaimedFeed("ghost", "http://127.0.0.1:1/ghost.xml", None, None, None, 0)
    batch: list[Fetched] = [
        (feeds["plain"], _not_modified(feeds["plain"], etag='"e2"'), None),
        (feeds["bare"], _not_modified(feeds["bare"], max_age=7200.0), None),
        (feeds["moved"], _not_modified(feeds["moved"], last_modified="Tue, 24 Nov 2026 09:00:00 GMT",
                                       permanent_redirect="http://127.0.0.1:1/new.xml"), None),
        # The same body as last time (no validators this time): stored as answered, validators cleared.
        (feeds["same"], _not_modified(feeds["same"], status=200, not_modified=False, body_hash="h2",
                                      retry_after=30.0), None),
        (feeds["held"], _not_modified(feeds["held"]), None),
        (feeds["pushed"], _not_modified(feeds["pushed"]), None),
        (feeds["broken"], FetchError("timeout", "still slow"), None),
        (feeds["sitemap"], _not_modified(feeds["sitemap"], etag='"s2"'), None),
        (ghost, _not_modified(ghost), None),  # a feed removed meanwhile: nothing to write
    ]
    summary = PollSummary()
    setup.poller.writer.write(batch, summary)
    assert (summary.feeds, summary.not_modified, summary.ok, summary.errors) == (9, 8, 0, 1)
    after = _rows(setup)
    assert "ghost" not in after
    interval = timedelta(minutes=15)
    common = dict(last_polled_at=NOW, poll_count=4, last_fetch_ms=12.3, error_kind=None, error_message=None,
                  consecutive_errors=0, failing_since=None, last_success_at=NOW, lease_owner=None, lease_until=None)
    expected: dict[str, dict[str, Any]] = {
        "plain": dict(common, last_status=304, etag='"e2"', next_poll_at=NOW + interval),
        "bare": dict(common, last_status=304, etag=None, last_modified=None, body_hash=None,
                     next_poll_at=NOW + timedelta(hours=2)),
        "moved": dict(common, last_status=304, last_modified="Tue, 24 Nov 2026 09:00:00 GMT",
                      url="http://127.0.0.1:1/new.xml", next_poll_at=NOW + interval),
        "same": dict(common, last_status=200, etag=None, last_modified=None, body_hash="h2",
                     next_poll_at=NOW + interval),
        "held": dict(common, last_status=304, lease_owner="other", lease_until=NOW, next_poll_at=NOW + interval),
        "pushed": dict(common, last_status=304, next_poll_at=NOW + interval * 4),
        "sitemap": dict(common, last_status=304, etag='"s2"', next_poll_at=NOW + interval),
    }
    for feed_id, changes in expected.items():
        row = dict(before[feed_id])
        row.update(etag='"e1"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT", body_hash="h1", title="T",
                   kind="rss", hub_urls=["https://hub.example/"], hub_topic="https://topic.example/",
                   last_new_item_at=EARLIER, item_gaps=[60.0, 120.0])
        row.update(push_until=NOW + timedelta(days=1) if feed_id == "pushed" else None)
        row.update(kind="sitemap" if feed_id == "sitemap" else "rss")
        row.update(changes)
        assert after[feed_id] == row, feed_id
    broken = after["broken"]
    assert (broken["error_kind"], broken["consecutive_errors"], broken["failing_since"]) == ("timeout", 3, FAILING)
    assert broken["poll_count"] == 4 and broken["last_success_at"] == EARLIER and broken["lease_owner"] is None
    setup.db.dispose()


def test_a_quiet_poll_in_a_batch_with_a_changed_feed(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    """A 304 and a changed feed in one transaction: both recorded, in the batch's order of reports."""
    from tests.ingest.test_pipeline_ingest import serve

    serve(server, "fresh", [("f1", "A story", "Qatar said on Saturday its role as a mediator is frozen.")])
    setup = Setup(tmp_path, database_url, server, {"quiet": False, "fresh": False})
    import asyncio

    asyncio.run(setup.poller.poll_due())  # "quiet" answers 404 here: an error
    FeedRepository(setup.db).make_all_due(NOW)
    feeds = {f.id: f for f in FeedRepository(setup.db).claim_due("test", NOW, limit=10, lease=timedelta(minutes=5))}
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Fresh</title></channel></rss>"
    fresh = _not_modified(feeds["fresh"], status=200, body=body, body_hash="h3", not_modified=False, unchanged=False,
                          etag='"f3"')
    summary = PollSummary()
    setup.poller.writer.write([(feeds["fresh"], fresh, None), (feeds["quiet"], _not_modified(feeds["quiet"]), None)],
                              summary)
    assert (summary.feeds, summary.ok, summary.not_modified, summary.errors) == (2, 1, 1, 0)
    rows = _rows(setup)
    assert rows["fresh"]["etag"] == '"f3"' and rows["fresh"]["title"] == "Fresh" and rows["fresh"]["poll_count"] == 2
    assert rows["quiet"]["last_status"] == 304 and rows["quiet"]["consecutive_errors"] == 0
    assert rows["quiet"]["error_kind"] is None and rows["quiet"]["failing_since"] is None
    assert all(r["lease_owner"] is None for r in rows.values())
    assert rows["quiet"]["last_success_at"] == NOW == rows["fresh"]["last_success_at"]
    setup.db.dispose()


def test_quiet_feed_keeps_aware_times(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    """Times written in one statement come back as aware UTC, as the ORM wrote them."""
    setup = Setup(tmp_path, database_url, server, {"one": False})
    feed = _prepare_one(setup)
    setup.poller.writer.write([(feed, _not_modified(feed), None)], PollSummary())
    row = _rows(setup)["one"]
    assert row["last_polled_at"] == NOW and row["last_polled_at"].tzinfo is not None
    assert row["next_poll_at"].utcoffset() == timedelta(0) and row["last_success_at"] == datetime(
        2026, 11, 24, 12, 0, tzinfo=UTC)
    setup.db.dispose()


def _prepare_one(setup: Setup) -> ClaimedFeed:
    (feed,) = FeedRepository(setup.db).claim_due("test", NOW, limit=1, lease=timedelta(minutes=5))
    return feed
