"""WebSub subscriptions and the push inbox in the database, on SQLite and PostgreSQL (monitor/store/websub.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from monitor.config.models import FeedConfig
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.rows import Feed, WebSubSubscription
from monitor.store.websub import (
    ENDED_RETENTION,
    add_subscription,
    confirm_intent,
    delete_pushes,
    end_subscription,
    lapse,
    live_subscriptions,
    pending_pushes,
    purge_ended,
    record_denied,
    record_push,
    subscription,
    subscriptions_by_feed_in,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
QUIET = timedelta(hours=6)
TOPIC = "https://news.test/feed.xml"


def setup(db: Database, *feed_ids: str) -> None:
    FeedRepository(db).sync([FeedConfig(url=f"https://news.test/{f}.xml", id=f) for f in feed_ids], NOW)
    for feed_id in feed_ids:
        add_subscription(db, token=f"tok-{feed_id}", feed_id=feed_id, hub="https://hub.test/", topic=TOPIC,
                         secret="s", now=NOW)


def feed(db: Database, feed_id: str) -> Feed:
    with db.sessions() as session:
        return session.scalars(select(Feed).where(Feed.id == feed_id)).one()


def test_only_the_request_we_wait_on_is_confirmed_and_it_makes_the_feed_pushed(db: Database) -> None:
    setup(db, "wire")
    kwargs = {"lease_seconds": 3600, "now": NOW, "quiet_after": QUIET}
    assert not confirm_intent(db, "tok-unknown", mode="subscribe", topic=TOPIC, **kwargs)  # type: ignore[arg-type]
    assert not confirm_intent(db, "tok-wire", mode="subscribe", topic=TOPIC + "?other", **kwargs)  # type: ignore[arg-type]
    assert not confirm_intent(db, "tok-wire", mode="unsubscribe", topic=TOPIC, **kwargs)  # type: ignore[arg-type]
    assert not confirm_intent(db, "tok-wire", mode="subscribe", topic=TOPIC, lease_seconds=None, now=NOW,
                              quiet_after=QUIET), "a subscription's verification must give its lease"
    assert confirm_intent(db, "tok-wire", mode="subscribe", topic=TOPIC, **kwargs)  # type: ignore[arg-type]
    sub = subscription(db, "tok-wire")
    assert sub is not None and (sub.state, sub.pending_mode) == ("subscribed", None)
    assert sub.lease_expires_at == NOW + timedelta(hours=1)
    assert feed(db, "wire").push_until == NOW + timedelta(hours=1), "the lease ends before quiet_after"
    assert not confirm_intent(db, "tok-wire", mode="subscribe", topic=TOPIC, **kwargs), (  # type: ignore[arg-type]
        "a replayed verification is refused: nothing is pending any more")


def test_pushes_wait_in_order_one_per_feed_and_keep_the_feed_pushed(db: Database) -> None:
    setup(db, "a", "b")
    for feed_id in ("a", "b"):
        confirm_intent(db, f"tok-{feed_id}", mode="subscribe", topic=TOPIC, lease_seconds=86400, now=NOW,
                       quiet_after=QUIET)
    later = NOW + timedelta(hours=5)
    record_push(db, "tok-a", b"first", "application/rss+xml", later, QUIET)
    record_push(db, "tok-b", b"other", None, later, QUIET)
    record_push(db, "tok-a", b"second", None, later, QUIET)
    assert feed(db, "a").push_until == later + QUIET
    firsts = pending_pushes(db)
    assert [(p.feed_id, p.body, p.content_type) for p in firsts] == [
        ("a", b"first", "application/rss+xml"), ("b", b"other", None)]
    delete_pushes(db, [p.id for p in firsts])
    assert [p.body for p in pending_pushes(db)] == [b"second"]
    sub = subscription(db, "tok-a")
    assert sub is not None and sub.pushes == 2 and sub.last_push_at == later


def test_a_quiet_hub_an_ended_lease_or_a_denial_fall_back_to_polling_at_once(db: Database) -> None:
    setup(db, "quiet", "lapsed", "denied")
    FeedRepository(db).make_due(["quiet", "lapsed", "denied"], NOW + timedelta(days=30))
    for feed_id, lease in (("quiet", 86400 * 10), ("lapsed", 3600), ("denied", 86400)):
        confirm_intent(db, f"tok-{feed_id}", mode="subscribe", topic=TOPIC, lease_seconds=lease, now=NOW,
                       quiet_after=QUIET)
    assert lapse(db, NOW + timedelta(minutes=30)) == []
    assert record_denied(db, "tok-denied", topic=TOPIC, reason="", now=NOW + timedelta(minutes=40), quiet_after=QUIET)
    assert feed(db, "denied").push_until is None and feed(db, "denied").next_poll_at == NOW + timedelta(minutes=40)

    later = NOW + timedelta(hours=2)
    assert lapse(db, later) == [("lapsed", "lease_expired")]
    assert subscription(db, "tok-lapsed").state == "expired"  # type: ignore[union-attr]
    assert feed(db, "lapsed").next_poll_at == later, "polled at once, then at its normal interval"
    assert lapse(db, NOW + QUIET + timedelta(seconds=1)) == [("quiet", "no_push")]
    assert subscription(db, "tok-quiet").state == "subscribed", "the subscription stays; only polling speeds up"
    assert {s.state for s in live_subscriptions(db)} == {"subscribed", "expired", "denied"}


def test_a_feed_pushed_through_two_hubs_falls_back_only_when_neither_keeps_it_pushed(db: Database) -> None:
    setup(db, "wire")
    add_subscription(db, token="tok-two", feed_id="wire", hub="https://hub.two/", topic=TOPIC, secret="s2", now=NOW)
    FeedRepository(db).make_due(["wire"], NOW + timedelta(days=30))
    confirm_intent(db, "tok-wire", mode="subscribe", topic=TOPIC, lease_seconds=3600, now=NOW, quiet_after=QUIET)
    confirm_intent(db, "tok-two", mode="subscribe", topic=TOPIC, lease_seconds=86400 * 10, now=NOW,
                   quiet_after=QUIET)
    assert feed(db, "wire").push_until == NOW + QUIET, "the latest over the hubs: the longer lease counts"
    with db.sessions() as session:
        shown = subscriptions_by_feed_in(session)["wire"]
    assert shown.id == "tok-two", "the feed health shows the subscription whose lease ends last"

    assert lapse(db, NOW + timedelta(hours=2)) == [], "one lease ended, the other hub still pushes"
    assert subscription(db, "tok-wire").state == "expired"  # type: ignore[union-attr]
    assert feed(db, "wire").next_poll_at == NOW + timedelta(days=30)
    record_push(db, "tok-two", b"body", None, NOW + timedelta(hours=3), QUIET)
    assert feed(db, "wire").push_until == NOW + timedelta(hours=3) + QUIET
    end_subscription(db, "tok-two", now=NOW + timedelta(hours=4), quiet_after=QUIET)
    assert feed(db, "wire").push_until is None and feed(db, "wire").next_poll_at == NOW + timedelta(hours=4)


def test_the_same_body_from_two_hubs_waits_once_and_a_different_one_waits_its_turn(db: Database) -> None:
    setup(db, "wire")
    add_subscription(db, token="tok-two", feed_id="wire", hub="https://hub.two/", topic=TOPIC, secret="s2", now=NOW)
    for token in ("tok-wire", "tok-two"):
        confirm_intent(db, token, mode="subscribe", topic=TOPIC, lease_seconds=86400, now=NOW, quiet_after=QUIET)
    record_push(db, "tok-wire", b"update 1", None, NOW, QUIET)
    record_push(db, "tok-two", b"update 1", None, NOW, QUIET)
    record_push(db, "tok-two", b"update 2", None, NOW, QUIET)
    assert [p.body for p in pending_pushes(db)] == [b"update 1"]
    delete_pushes(db, [p.id for p in pending_pushes(db)])
    assert [p.body for p in pending_pushes(db)] == [b"update 2"]


def test_ended_subscriptions_are_purged_after_the_retention_and_live_ones_never(db: Database) -> None:
    setup(db, "ended", "old", "denied")
    end_subscription(db, "tok-ended", now=NOW + timedelta(days=5), quiet_after=QUIET)
    with db.transaction() as session:  # ended before migration 0020 dated ended rows: its request dates it
        session.execute(update(WebSubSubscription).where(WebSubSubscription.id == "tok-old")
                        .values(state="ended", ended_at=None))
    record_denied(db, "tok-denied", topic=TOPIC, reason="no", now=NOW, quiet_after=QUIET)
    record_push(db, "tok-ended", b"late", None, NOW + timedelta(days=5), QUIET)

    assert purge_ended(db, NOW + ENDED_RETENTION - timedelta(seconds=1)) == 0
    assert purge_ended(db, NOW + ENDED_RETENTION + timedelta(seconds=1)) == 1
    assert subscription(db, "tok-old") is None and subscription(db, "tok-ended") is not None
    assert purge_ended(db, NOW + timedelta(days=5) + ENDED_RETENTION + timedelta(seconds=1)) == 1
    assert subscription(db, "tok-ended") is None and pending_pushes(db) == [], "its pushes go with it"
    assert subscription(db, "tok-denied") is not None, "a denied subscription is retried, not purged"
