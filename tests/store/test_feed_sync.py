"""FeedRepository.sync on SQLite and PostgreSQL: new feeds due now, paused ones listed but never polled, a
changed URL starts afresh, removed feeds retired and brought back due, names and pauses followed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from monitor.config.models import FeedConfig
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.rows import Feed

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
COLUMNS = ("url", "configured_url", "name", "active", "paused", "etag", "body_hash", "disabled_reason",
           "next_poll_at", "consecutive_errors", "poll_count", "created_at", "hub_urls", "item_gaps")


def rows(db: Database) -> dict[str, dict[str, Any]]:
    with db.sessions() as session:
        return {row.id: {c: getattr(row, c) for c in COLUMNS} for row in session.scalars(select(Feed))}


def feed(feed_id: str, url: str | None = None, **options: Any) -> FeedConfig:
    return FeedConfig(id=feed_id, url=url or f"https://news.test/{feed_id}.xml", **options)


def test_new_feeds_are_due_now_and_paused_ones_are_listed_but_never_polled(db: Database) -> None:
    FeedRepository(db).sync([feed("a", name="A"), feed("p", paused=True), feed("b")], NOW)
    new = {"etag": None, "body_hash": None, "disabled_reason": None, "next_poll_at": NOW, "consecutive_errors": 0,
           "poll_count": 0, "created_at": NOW, "hub_urls": None, "item_gaps": None}
    assert rows(db) == {
        "a": {**new, "url": "https://news.test/a.xml", "configured_url": "https://news.test/a.xml", "name": "A",
              "active": True, "paused": False},
        "b": {**new, "url": "https://news.test/b.xml", "configured_url": "https://news.test/b.xml", "name": None,
              "active": True, "paused": False},
        "p": {**new, "url": "https://news.test/p.xml", "configured_url": "https://news.test/p.xml", "name": None,
              "active": False, "paused": True},
    }


def test_stored_feeds_follow_the_configuration_and_keep_their_state_otherwise(db: Database) -> None:
    repo = FeedRepository(db)
    repo.sync([feed(i) for i in ("same", "moved", "renamed", "removed", "paused", "back")], NOW)
    with db.transaction() as session:  # what polls would have left on the rows
        session.execute(update(Feed).values(
            url=Feed.configured_url + "?redirected", etag="e", body_hash="h", disabled_reason="gone",
            next_poll_at=NOW + timedelta(minutes=15), poll_count=3,
        ))
        session.execute(update(Feed).where(Feed.id == "back").values(active=False))
    before = rows(db)
    repo.sync([feed("same"), feed("moved", "https://elsewhere.test/rss"), feed("renamed", name="New name"),
               feed("paused", paused=True), feed("back")], LATER)
    after = rows(db)
    assert after["same"] == before["same"]
    assert after["moved"] == {
        **before["moved"], "url": "https://elsewhere.test/rss", "configured_url": "https://elsewhere.test/rss",
        "etag": None, "body_hash": None, "disabled_reason": None, "next_poll_at": LATER,
    }
    assert after["renamed"] == {**before["renamed"], "name": "New name"}
    assert after["removed"] == {**before["removed"], "active": False}
    assert after["paused"] == {**before["paused"], "active": False, "paused": True}
    assert after["back"] == {**before["back"], "active": True, "next_poll_at": LATER}
    # Unpaused: polled again at once; a removed feed listed again likewise.
    repo.sync([feed("paused"), feed("removed")], LATER + timedelta(hours=1))
    again = rows(db)
    assert again["paused"] == {**after["paused"], "active": True, "paused": False,
                               "next_poll_at": LATER + timedelta(hours=1)}
    assert again["removed"] == {**after["removed"], "active": True, "next_poll_at": LATER + timedelta(hours=1)}
    assert not again["same"]["active"]
