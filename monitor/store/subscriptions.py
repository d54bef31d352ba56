"""Opt-outs (unsubscribe, resubscribe) and the stored secret that signs unsubscribe links."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from monitor.store.db import Database
from monitor.store.outbox_assembly import new_delivery_id
from monitor.store.rows import Delivery, RoutedItem, StoredSecret, SubscriberState, utcnow
from monitor.store.sql import insert_ignore, lock_rows

UNSUBSCRIBE_SECRET = "unsubscribe"
"""The name of the key that signs unsubscribe links in the stored_secrets table."""
CANCELLED = "cancelled"
"""The status of a delivery that will not be sent because its subscriber unsubscribed."""


def existing_secret(db: Database, name: str) -> bytes | None:
    """The stored secret of that name, or None before its first use (reading never creates one)."""
    with db.sessions() as session:
        value = session.scalar(select(StoredSecret.value).where(StoredSecret.name == name))
    return None if value is None else bytes.fromhex(value)


def stored_secret(db: Database, name: str) -> bytes:
    """A 32-byte secret generated on first use and kept in the database, the same for every process."""
    existing = existing_secret(db, name)
    if existing is not None:
        return existing
    with db.transaction() as session:
        # Two processes may generate one at once: the first insert wins and both read it back.
        insert_ignore(
            session,
            StoredSecret.__table__,  # type: ignore[arg-type]
            [{"name": name, "value": secrets.token_hex(32), "created_at": utcnow()}],
            conflict=("name",),
        )
        value = session.scalar(select(StoredSecret.value).where(StoredSecret.name == name))
    assert value is not None
    return bytes.fromhex(value)


@dataclass(frozen=True, slots=True)
class OptOut:
    """A subscriber who unsubscribed: when, and the address that did."""

    subscriber_id: str
    address: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """What unsubscribing did: the opt-out in force and what it cancelled."""

    opt_out: OptOut
    already: bool  # it was already opted out (the link was followed twice)
    cancelled_deliveries: int
    cancelled_items: int


class Subscriptions:
    """Who opted out, in the database (shared by the service, the dashboard and the CLI)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def unsubscribe_secret(self) -> bytes:
        """The key that signs unsubscribe links."""
        return stored_secret(self.db, UNSUBSCRIBE_SECRET)

    def opted_out(self) -> dict[str, OptOut]:
        """Every opted-out subscriber by id."""
        with self.db.sessions() as session:
            return opted_out_in(session)

    def opt_out(self, subscriber_id: str) -> OptOut | None:
        """The subscriber's opt-out, if they unsubscribed."""
        return self.opted_out().get(subscriber_id)

    def unsubscribe(self, subscriber_id: str, address: str | None, now: datetime, *, channel: str = "email") -> Unsubscribed:
        """Record the opt-out (idempotent) and cancel what is waiting for the subscriber, visibly."""
        with self.db.transaction() as session:
            state = session.get(SubscriberState, subscriber_id)
            if state is None:
                state = SubscriberState(subscriber_id=subscriber_id)
                session.add(state)
            already = state.unsubscribed_at is not None
            if not already:
                state.unsubscribed_at, state.unsubscribed_address = now, address
            assert state.unsubscribed_at is not None
            opt_out = OptOut(subscriber_id, state.unsubscribed_address, state.unsubscribed_at)
            reason = f"not sent: {address or subscriber_id} unsubscribed at {opt_out.at:%Y-%m-%d %H:%M} UTC"
            deliveries, items = cancel_waiting_in(session, subscriber_id, channel, reason, now)
        return Unsubscribed(opt_out, already, deliveries, items)

    def resubscribe(self, subscriber_id: str, now: datetime) -> OptOut | None:
        """Clear an opt-out; returns the one cleared, or None when the subscriber had not opted out."""
        with self.db.transaction() as session:
            state = session.get(SubscriberState, subscriber_id)
            if state is None or state.unsubscribed_at is None:
                return None
            cleared = OptOut(subscriber_id, state.unsubscribed_address, state.unsubscribed_at)
            state.unsubscribed_at = state.unsubscribed_address = None
            if state.last_digest_at is not None:
                # Count digest periods from now: the periods missed while opted out are not caught up.
                state.last_digest_at = now
            return cleared

    def cancel_waiting(self, subscriber_id: str, channel: str, reason: str, now: datetime) -> tuple[int, int]:
        """Cancel an opted-out subscriber's stray items (routed while the opt-out was being written)."""
        with self.db.sessions() as session:
            stray = session.scalar(
                select(RoutedItem.id)
                .where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
                .limit(1)
            )
        if stray is None:
            return 0, 0  # the usual case: a read, no write
        with self.db.transaction() as session:
            return cancel_waiting_in(session, subscriber_id, channel, reason, now)


def opted_out_in(session: Session) -> dict[str, OptOut]:
    """Every opted-out subscriber by id, read in the caller's transaction (routing uses it)."""
    rows = session.execute(
        select(SubscriberState.subscriber_id, SubscriberState.unsubscribed_address, SubscriberState.unsubscribed_at)
        .where(SubscriberState.unsubscribed_at.is_not(None))
    ).all()
    return {sid: OptOut(sid, address, at) for sid, address, at in rows if at is not None}


def cancel_waiting_in(
    session: Session, subscriber_id: str, channel: str, reason: str, now: datetime
) -> tuple[int, int]:
    """Cancel a subscriber's pending deliveries and put its not yet assembled items in a cancelled one.

    A delivery a worker holds the lease on is left to it: it is being sent right now, and its
    outcome is recorded as it happens (a retry is then cancelled when it is next claimed).
    Returns (deliveries cancelled, items cancelled).
    """
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.status == "pending",
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
        )
        .values(status=CANCELLED, last_error=reason, lease_owner=None, lease_until=None)
    )
    cancelled = int(getattr(result, "rowcount", 0) or 0)
    items = list(
        session.scalars(
            lock_rows(
                select(RoutedItem).where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
            )
        )
    )
    if not items:
        return cancelled, 0
    # The items stay visible (in `monitor deliveries` and on the dashboard) as one cancelled
    # delivery, and retention deletes them with it; they are never sent after a resubscribe.
    delivery = Delivery(
        id=new_delivery_id(), subscriber_id=subscriber_id, channel=channel, kind="alert", status=CANCELLED,
        attempts=0, next_attempt_at=now, created_at=now, item_count=len({i.article_id for i in items}),
        last_error=reason,
    )
    session.add(delivery)
    session.flush()
    for item in items:
        item.delivery_id = delivery.id
    return cancelled + 1, len(items)
