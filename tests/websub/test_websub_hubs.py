"""A feed that names several hubs: the WebSub tick, the dashboard's callback and local hubs on their own ports.

WebSub (section 4) lets a subscriber use one or more of the hubs a publisher names. The tick subscribes
at each, up to MAX_HUBS_PER_FEED working ones; a push from any of them is a push. Time bounds are hang
guards only; the clock is injected (the hubs keep their own real-time leases, far longer than a test).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from monitor.config.models import Config, FeedConfig, FetchSettings, Settings
from monitor.refresh.runtime import Runtime
from monitor.refresh.websub import MAX_HUBS_PER_FEED, VERIFY_TIMEOUT, WebSubKeeper
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.migrate import upgrade
from monitor.store.rows import Feed, WebSubSubscription
from monitor.store.websub import ENDED_RETENTION, pending_pushes
from monitor.web.app import create_app
from tests.service.support import wait_for
from tests.support.dashboard import free_port, serving
from tests.support.websub_hub import WebSubHub, running_hub

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
GUARD = 60.0  # seconds: a bound against hangs, never a speed assertion
TOPIC = "https://news.test/wire.xml"
QUIET = timedelta(days=1)  # websub.quiet_after's default
BODY = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title><item><title>Talks resume</title>"
        b"<link>https://news.test/1</link></item></channel></rss>")


@dataclass
class Desk:
    """A subscriber: the database, the WebSub tick and the dashboard's callback, under one movable clock."""

    db: Database
    keeper: WebSubKeeper
    now: datetime = NOW

    def tick(self) -> None:
        asyncio.run(self.keeper.tick())

    def name_hubs(self, *hubs: WebSubHub) -> None:
        """What a poll records when the feed names these hubs (tests/websub/test_websub_polling.py covers that)."""
        with self.db.transaction() as session:
            session.execute(update(Feed).values(hub_urls=[h.url for h in hubs], hub_topic=TOPIC))

    def subscriptions(self) -> dict[str, WebSubSubscription]:
        """The newest subscription row at each hub."""
        with self.db.sessions() as session:
            rows = session.scalars(select(WebSubSubscription).order_by(WebSubSubscription.created_at))
            return {row.hub: row for row in rows}

    def feed(self) -> Feed:
        with self.db.sessions() as session:
            return session.scalars(select(Feed)).one()


@contextmanager
def subscriber(tmp_path: Path, *hubs: WebSubHub) -> Iterator[Desk]:
    """A feed naming `hubs`, its database, the tick, and the dashboard serving the callback on base_url."""
    port = free_port()
    config = Config(directory=tmp_path, settings=Settings(
        base_url=f"http://127.0.0.1:{port}", fetch=FetchSettings(allow_private_networks=True)))
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(db)
    FeedRepository(db).sync([FeedConfig(url=TOPIC, id="wire")], NOW)
    FeedRepository(db).make_due(["wire"], NOW + timedelta(days=30))  # a fall back would make it due at once
    runtime = Runtime.build(config)
    desk = Desk(db, WebSubKeeper(db, lambda: runtime, lambda: desk.now))
    desk.name_hubs(*hubs)
    try:
        with serving(create_app(config, db, clock=lambda: desk.now), port=port):
            yield desk
    finally:
        db.dispose()


def test_a_feed_naming_two_hubs_is_subscribed_at_both_and_either_ones_push_is_a_push(tmp_path: Path) -> None:
    with running_hub() as one, running_hub() as two, subscriber(tmp_path, one, two) as desk:
        desk.tick()
        wait_for(lambda: one.active(TOPIC) and two.active(TOPIC), GUARD, "both hubs to verify the subscription")
        subs = desk.subscriptions()
        assert {hub: sub.state for hub, sub in subs.items()} == {one.url: "subscribed", two.url: "subscribed"}
        assert subs[one.url].id != subs[two.url].id and subs[one.url].secret != subs[two.url].secret
        assert one.requests[0]["hub.callback"] != two.requests[0]["hub.callback"], "one callback per hub"
        assert desk.feed().push_until == NOW + QUIET

        # The publisher notifies both hubs: the update waits in the inbox once, each hub's push is counted.
        assert two.publish(TOPIC, BODY) == [202]
        assert one.publish(TOPIC, BODY) == [202]
        assert [p.body for p in pending_pushes(desk.db)] == [BODY]
        assert {hub: sub.pushes for hub, sub in desk.subscriptions().items()} == {one.url: 1, two.url: 1}

        # One hub withdraws: the other still pushes, so the feed keeps its slower polling.
        assert one.deny(TOPIC) == [200]
        assert desk.feed().push_until == NOW + QUIET
        assert desk.feed().next_poll_at == NOW + timedelta(days=30)
        # The last one withdraws: polled at once, then at its normal interval.
        assert two.deny(TOPIC) == [200]
        assert desk.feed().push_until is None and desk.feed().next_poll_at == NOW
        assert {sub.state for sub in desk.subscriptions().values()} == {"denied"}


def test_a_refusing_hub_is_replaced_by_the_next_named_and_a_hub_no_longer_named_is_left(tmp_path: Path) -> None:
    assert MAX_HUBS_PER_FEED == 3
    with (running_hub(refuse=403) as refusing, running_hub() as a, running_hub() as b, running_hub() as c,
          subscriber(tmp_path, refusing, a, b, c) as desk):
        desk.tick()
        wait_for(lambda: a.active(TOPIC) and b.active(TOPIC), GUARD, "the second and third hubs to verify")
        subs = desk.subscriptions()
        assert subs[refusing.url].state == "failed" and "403" in (subs[refusing.url].last_error or "")
        assert c.requests == [], "three hubs at most are asked at once"

        # The refusing hub no longer counts: the fourth hub named is asked in its stead.
        desk.tick()
        wait_for(lambda: c.active(TOPIC), GUARD, "the fourth hub to verify")
        assert len(refusing.requests) == 1, "a refusal is asked again only after RETRY_AFTER"
        assert [len(h.requests) for h in (a, b, c)] == [1, 1, 1], "working subscriptions are left alone"

        # The publisher stops naming `a`: that subscription ends and the hub is asked to unsubscribe.
        desk.name_hubs(refusing, b, c)
        desk.tick()
        wait_for(lambda: not a.active(TOPIC), GUARD, "the unsubscription to be verified")
        subs = desk.subscriptions()
        assert subs[a.url].state == "ended" and subs[a.url].ended_at == NOW
        assert {subs[h.url].state for h in (b, c)} == {"subscribed"}
        assert desk.feed().push_until == NOW + QUIET, "still pushed by the others"

        # The tick deletes ended subscriptions ENDED_RETENTION after they ended, not before.
        desk.now = NOW + ENDED_RETENTION - timedelta(minutes=1)
        desk.tick()
        assert a.url in desk.subscriptions()
        desk.now = NOW + ENDED_RETENTION + timedelta(minutes=1)
        desk.tick()
        assert a.url not in desk.subscriptions()
        assert {b.url, c.url, refusing.url} <= set(desk.subscriptions()), "only ended ones are purged"


def test_a_hub_that_never_verifies_is_marked_failed_after_the_timeout_and_replaced(tmp_path: Path) -> None:
    with running_hub(silent=True) as silent, running_hub() as working, subscriber(tmp_path, silent) as desk:
        desk.tick()
        wait_for(lambda: len(silent.requests) == 1, GUARD, "the silent hub to be asked")
        assert desk.subscriptions()[silent.url].state == "pending"
        desk.now = NOW + VERIFY_TIMEOUT - timedelta(seconds=1)
        desk.tick()
        assert desk.subscriptions()[silent.url].state == "pending", "still waiting for the verification"
        desk.now = NOW + VERIFY_TIMEOUT
        desk.name_hubs(silent, working)
        desk.tick()
        failed = desk.subscriptions()[silent.url]
        assert failed.state == "failed" and failed.last_error == "the hub did not verify the subscription in time"
        wait_for(lambda: working.active(TOPIC), GUARD, "the next hub named to verify")
        assert len(silent.requests) == 1, "not asked again at once"
