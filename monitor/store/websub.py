"""WebSub subscriptions and the push inbox: SQL only (the protocol is monitor/refresh/websub.py and web/websub.py).

A subscription row is one (feed, hub, topic) with its callback token and secret; a feed naming several
hubs has one row per hub subscribed. The dashboard's callback confirms intents and stores verified
pushes here; the service's ticks subscribe, renew, let lapsed subscriptions fall back to polling,
purge ended ones after ENDED_RETENTION, and refresh feeds from the pushes. A feed counts as pushed
while `feeds.push_until` is ahead: the latest, over its subscribed hubs, of the earlier of the lease's
end and the last sign of life (verification or push) plus `websub.quiet_after`. A push from any of
its hubs is a push; the feed falls back to polling only when none keeps it pushed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from monitor.store.db import Database
from monitor.store.rows import Feed, WebSubPush, WebSubSubscription
from monitor.store.sql import chunked

LIVE_STATES = ("pending", "subscribed", "denied", "failed", "expired")
"""States of a feed's current subscription at a hub (an `ended` one was replaced or unsubscribed)."""
ENDED_RETENTION = timedelta(days=30)
"""An ended subscription's row is deleted this long after it ended (its last request or creation if older).

Kept a while for the record (`last_error`, pushes), and longer than the 10-day lease asked for by
default, so deliveries from a hub that missed the unsubscription are logged as to an ended one.
"""
_SHOWN_FIRST = {"subscribed": 0, "pending": 1, "expired": 2, "failed": 3, "denied": 4}


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as the ticks, the callback and the feed health read it."""

    id: str
    feed_id: str
    hub: str
    topic: str
    secret: str
    state: str
    pending_mode: str | None
    requested_at: datetime | None
    verified_at: datetime | None
    lease_seconds: int | None
    lease_expires_at: datetime | None
    last_push_at: datetime | None
    pushes: int
    rejected: int
    last_error: str | None

    @classmethod
    def of(cls, row: WebSubSubscription) -> Subscription:
        """The value of a row."""
        return cls(row.id, row.feed_id, row.hub, row.topic, row.secret, row.state, row.pending_mode,
                   row.requested_at, row.verified_at, row.lease_seconds, row.lease_expires_at, row.last_push_at, row.pushes or 0,
                   row.rejected or 0, row.last_error)


@dataclass(frozen=True, slots=True)
class Push:
    """A verified pushed body waiting in the inbox."""

    id: int
    feed_id: str
    subscription_id: str
    received_at: datetime
    content_type: str | None
    body: bytes


def _push_until(row: WebSubSubscription, quiet_after: timedelta, now: datetime) -> datetime | None:
    """Until when the feed counts as pushed: the last sign of life plus quiet_after, within the lease (None: past).

    The sign of life is the first verification or the last push: renewing a lease is not one, so a hub
    that renews but never pushes still falls back after quiet_after.
    """
    alive = max((t for t in (row.verified_at, row.last_push_at) if t is not None), default=None)
    if alive is None or row.lease_expires_at is None:
        return None
    until = min(row.lease_expires_at, alive + quiet_after)
    return until if until > now else None


def _set_push_until(session: Session, feed: Feed | None, quiet_after: timedelta, now: datetime) -> None:
    """Recompute until when the feed counts as pushed, over all its subscribed hubs; none: it falls back."""
    if feed is None:
        return
    rows = session.scalars(select(WebSubSubscription).where(
        WebSubSubscription.feed_id == feed.id, WebSubSubscription.state == "subscribed")).all()
    until = max((u for u in (_push_until(r, quiet_after, now) for r in rows) if u is not None), default=None)
    if until is None:
        _fall_back(feed, now)
    else:
        feed.push_until = until


# ------------------------------------------------------------------ the callback (dashboard process)


def subscription(db: Database, token: str) -> Subscription | None:
    """The subscription of a callback token, or None."""
    with db.sessions() as session:
        row = session.get(WebSubSubscription, token[:64])
        return Subscription.of(row) if row is not None else None


def confirm_intent(
    db: Database, token: str, *, mode: str, topic: str, lease_seconds: int | None, now: datetime,
    quiet_after: timedelta,
) -> bool:
    """Confirm a hub's verification of intent when we asked for exactly this; record its outcome."""
    with db.transaction() as session:
        row = session.get(WebSubSubscription, token[:64])
        if row is None or row.pending_mode != mode or row.topic != topic:
            return False
        if mode == "subscribe" and (lease_seconds is None or lease_seconds <= 0):
            return False  # WebSub: the hub MUST give the lease of a subscription; still pending
        row.pending_mode = None
        if mode == "unsubscribe":
            row.state, row.ended_at = "ended", row.ended_at or now
            return True
        row.state = "subscribed"
        row.last_error = None
        row.lease_seconds = lease_seconds
        row.lease_expires_at = now + timedelta(seconds=lease_seconds or 0)
        if row.verified_at is None:
            row.verified_at = now
        _set_push_until(session, session.get(Feed, row.feed_id), quiet_after, now)
        return True


def record_denied(
    db: Database, token: str, *, topic: str, reason: str, now: datetime, quiet_after: timedelta
) -> bool:
    """The hub denied (or withdrew) a subscription: polled at its normal interval again, unless another hub pushes."""
    with db.transaction() as session:
        row = session.get(WebSubSubscription, token[:64])
        if row is None or row.topic != topic or row.state == "ended":
            return False
        row.state, row.pending_mode, row.last_error = "denied", None, reason[:500] or "denied by the hub"
        row.requested_at = now
        _set_push_until(session, session.get(Feed, row.feed_id), quiet_after, now)
        return True


def record_push(
    db: Database, subscription_id: str, body: bytes, content_type: str | None, now: datetime, quiet_after: timedelta
) -> None:
    """Store a verified push for the service to refresh its feed with, and mark the feed as pushed.

    The same body from another of the feed's hubs, still waiting in the inbox, is not stored twice.
    """
    with db.transaction() as session:
        row = session.get(WebSubSubscription, subscription_id)
        if row is None:
            return
        row.last_push_at = now
        row.pushes = (row.pushes or 0) + 1
        waiting = session.scalar(select(WebSubPush.id).where(
            WebSubPush.feed_id == row.feed_id, func.length(WebSubPush.body) == len(body), WebSubPush.body == body,
        ).limit(1))
        if waiting is None:
            session.add(WebSubPush(subscription_id=row.id, feed_id=row.feed_id, received_at=now,
                                   content_type=content_type, body=body))
        if row.state == "subscribed":
            _set_push_until(session, session.get(Feed, row.feed_id), quiet_after, now)


def record_rejected(db: Database, subscription_id: str, reason: str) -> None:
    """Count a delivery ignored for its signature (shown in the feed's push state)."""
    with db.transaction() as session:
        session.execute(
            update(WebSubSubscription).where(WebSubSubscription.id == subscription_id)
            .values(rejected=WebSubSubscription.rejected + 1, last_error=f"push ignored: signature {reason}")
        )


# ------------------------------------------------------------------ the service's ticks


def wanted_hubs(db: Database) -> dict[str, tuple[tuple[str, ...], str]]:
    """Active feeds whose last parsed body named hubs: feed id -> (hubs in the order named, topic)."""
    with db.sessions() as session:
        rows = session.execute(
            select(Feed.id, Feed.hub_urls, Feed.hub_topic)
            .where(Feed.active.is_(True), Feed.disabled_reason.is_(None), Feed.hub_urls.is_not(None))
        ).all()
        named = ((feed_id, tuple(h for h in hubs or () if isinstance(h, str) and h), topic)
                 for feed_id, hubs, topic in rows)
        return {feed_id: (hubs, topic or "") for feed_id, hubs, topic in named if hubs}


def live_subscriptions(db: Database) -> list[Subscription]:
    """Every subscription not ended, oldest first."""
    with db.sessions() as session:
        return _live_in(session)


def _live_in(session: Session) -> list[Subscription]:
    rows = session.scalars(
        select(WebSubSubscription).where(WebSubSubscription.state.in_(LIVE_STATES))
        .order_by(WebSubSubscription.created_at, WebSubSubscription.id)
    ).all()
    return [Subscription.of(r) for r in rows]


def subscriptions_by_feed_in(session: Session) -> dict[str, Subscription]:
    """The subscription each feed's health shows: a subscribed one (the lease ending last) before others, newest first."""
    shown: dict[str, Subscription] = {}
    for sub in _live_in(session):  # oldest first: a later one of the same rank wins
        best = shown.get(sub.feed_id)
        if best is None or _rank(sub) <= _rank(best):
            shown[sub.feed_id] = sub
    return shown


def _rank(sub: Subscription) -> tuple[int, float]:
    lease_end = sub.lease_expires_at.timestamp() if sub.lease_expires_at else 0.0
    return _SHOWN_FIRST.get(sub.state, 5), -lease_end


def add_subscription(
    db: Database, *, token: str, feed_id: str, hub: str, topic: str, secret: str, now: datetime
) -> None:
    """A new subscription, asked for now (pending until the hub verifies our intent)."""
    with db.transaction() as session:
        session.add(WebSubSubscription(
            id=token, feed_id=feed_id, hub=hub, topic=topic, secret=secret, state="pending",
            pending_mode="subscribe", requested_at=now, pushes=0, rejected=0, created_at=now,
        ))


def mark_requested(db: Database, token: str, *, mode: str, now: datetime) -> None:
    """A (re)subscription or unsubscription is being sent: its verification of intent will be confirmed."""
    with db.transaction() as session:
        session.execute(update(WebSubSubscription).where(WebSubSubscription.id == token)
                        .values(pending_mode=mode, requested_at=now))


def mark_failed(db: Database, token: str, error: str, now: datetime) -> None:
    """The hub refused the request, could not be reached, or never verified it (retried later)."""
    with db.transaction() as session:
        row = session.get(WebSubSubscription, token)
        if row is None:
            return
        if row.state in ("pending", "failed"):
            row.state = "failed"
        row.pending_mode = None
        row.requested_at = now
        row.last_error = error[:500]


def end_subscription(db: Database, token: str, *, now: datetime, quiet_after: timedelta) -> None:
    """Stop using a subscription (its hub or topic is no longer named, or its feed is gone)."""
    with db.transaction() as session:
        row = session.get(WebSubSubscription, token)
        if row is None:
            return
        row.state, row.pending_mode, row.ended_at = "ended", None, now
        _set_push_until(session, session.get(Feed, row.feed_id), quiet_after, now)


def _fall_back(feed: Feed | None, now: datetime) -> bool:
    """Stop counting a feed as pushed; it is polled now, then at its normal interval. True if it was pushed."""
    if feed is None or feed.push_until is None:
        return False
    feed.push_until = None
    if feed.next_poll_at is None or feed.next_poll_at > now:
        feed.next_poll_at = now
    return True


def lapse(db: Database, now: datetime) -> list[tuple[str, str]]:
    """Expire subscriptions whose lease ended; feeds whose push time passed fall back to polling.

    Returns (feed id, reason) for each feed that fell back: `lease_expired` or `no_push`. A feed another
    of whose hubs still keeps it pushed (`push_until` ahead, from that hub's lease) does not fall back.
    """
    fallen: list[tuple[str, str]] = []
    with db.transaction() as session:
        expired = session.scalars(select(WebSubSubscription).where(
            WebSubSubscription.state == "subscribed", WebSubSubscription.lease_expires_at < now)).all()
        for row in expired:
            row.state = "expired"
            feed = session.get(Feed, row.feed_id)
            if feed is not None and feed.push_until is not None and feed.push_until > now:
                continue  # pushed by another hub: push_until is never past an expired lease's end
            if _fall_back(feed, now):
                fallen.append((row.feed_id, "lease_expired"))
        for feed in session.scalars(select(Feed).where(Feed.push_until.is_not(None), Feed.push_until <= now)):
            if _fall_back(feed, now):
                fallen.append((feed.id, "no_push"))
        # Pushes of feeds no longer polled (removed, paused, disabled) would wait for ever.
        retired = select(Feed.id).where((Feed.active.is_(False)) | Feed.disabled_reason.is_not(None))
        session.execute(delete(WebSubPush).where(WebSubPush.feed_id.in_(retired)))
    return fallen


def purge_ended(db: Database, now: datetime) -> int:
    """Delete subscriptions ended more than ENDED_RETENTION ago (and any push of theirs); returns how many."""
    before = now - ENDED_RETENTION
    ended_since = func.coalesce(WebSubSubscription.ended_at, WebSubSubscription.requested_at,
                                WebSubSubscription.created_at)
    with db.transaction() as session:
        old = select(WebSubSubscription.id).where(WebSubSubscription.state == "ended", ended_since < before)
        ids = list(session.scalars(old))
        for part in chunked(ids):
            session.execute(delete(WebSubPush).where(WebSubPush.subscription_id.in_(part)))
            session.execute(delete(WebSubSubscription).where(WebSubSubscription.id.in_(part)))
    return len(ids)


def pending_pushes(db: Database, limit: int = 200) -> list[Push]:
    """The oldest pushes of the inbox (at most one per feed: a feed's next push waits for its refresh)."""
    with db.sessions() as session:
        firsts = select(func.min(WebSubPush.id)).group_by(WebSubPush.feed_id).scalar_subquery()
        rows = session.scalars(
            select(WebSubPush).where(WebSubPush.id.in_(firsts)).order_by(WebSubPush.id).limit(limit)
        ).all()
        return [Push(r.id, r.feed_id, r.subscription_id, r.received_at, r.content_type, r.body) for r in rows]


def delete_pushes(db: Database, ids: Sequence[int]) -> None:
    """Drop pushes that were refreshed (or whose feed is gone)."""
    if ids:
        with db.transaction() as session:
            session.execute(delete(WebSubPush).where(WebSubPush.id.in_(list(ids))))

