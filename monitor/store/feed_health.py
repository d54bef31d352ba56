"""Feed-health alerting's shared state: what was alerted about each feed, the alerts raised, and their deliveries.

Kept in the database so that "once" holds across ticks, restarts and processes: the feed-health tick
runs under an advisory lock (one process judges at a time), each feed's state row is locked and
compared with what the tick started from before it is written, and a feed-health delivery is unique
per subscriber and alert (its period_key `feedhealth:<alert id>`). Like a spike delivery it carries no
routed items: what it shows is the alert's `content`, fixed when it was raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from monitor.feedhealth import Alerted, FeedFacts
from monitor.store.db import Database, database_errors
from monitor.store.outbox_assembly import new_delivery_id
from monitor.store.rows import Delivery, Feed, FeedHealthAlertRow, FeedHealthStateRow
from monitor.store.sql import insert_ignore

FEED_HEALTH_LOCK = 4242005
"""PostgreSQL advisory lock key of the feed-health tick (the others are in monitor/store/coordination.py)."""
FEED_HEALTH_PERIOD_PREFIX = "feedhealth:"

_STATE = cast(Table, FeedHealthStateRow.__table__)
_DELIVERIES = cast(Table, Delivery.__table__)


@dataclass(frozen=True, slots=True)
class FeedHealthAlert:
    """A raised feed-health alert as stored."""

    id: str
    feed_id: str
    event: str
    content: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """One feed's facts for the rule, with what an alert about it shows."""

    facts: FeedFacts
    name: str
    url: str
    error_message: str | None
    last_success_at: datetime | None
    consecutive_errors: int


def _alerted(row: FeedHealthStateRow | None) -> Alerted:
    return Alerted() if row is None else Alerted(row.failing_at, row.stale_at)


def load_feed_records(db: Database) -> list[FeedRecord]:
    """Every feed row's facts (a feed removed from or paused in feeds.yaml has `polled` False)."""
    with database_errors(), db.sessions() as session:
        return [
            FeedRecord(
                FeedFacts(
                    feed_id=r.id, polled=bool(r.active), error_kind=r.error_kind,
                    failing_since=r.failing_since or (r.last_success_at or r.created_at if r.error_kind else None),
                    disabled=r.disabled_reason is not None, last_new_item_at=r.last_new_item_at,
                    item_gaps=tuple(float(g) for g in (r.item_gaps or ())),
                ),
                name=r.name or r.title or r.id, url=r.url, error_message=r.disabled_reason or r.error_message,
                last_success_at=r.last_success_at, consecutive_errors=r.consecutive_errors or 0,
            )
            for r in session.scalars(select(Feed).order_by(Feed.id))
        ]


def load_alerted(db: Database) -> dict[str, Alerted]:
    """What was already alerted, by feed id."""
    with database_errors(), db.sessions() as session:
        return {r.feed_id: _alerted(r) for r in session.scalars(select(FeedHealthStateRow))}


def save_alerted(
    db: Database, feed_id: str, *, expected: Alerted, new: Alerted, now: datetime,
    alerts: Sequence[tuple[str, dict[str, Any]]] = (), recipients: Sequence[tuple[str, str]] = (),
) -> list[str] | None:
    """Move a feed from `expected` to `new` and raise `alerts` (event, content) to `recipients` (subscriber, channel).

    One transaction, the state row locked: when the row is no longer `expected` (another process got
    there first) nothing is written and None is returned; otherwise the new alerts' ids.
    """
    with database_errors(), db.transaction() as session:
        insert_ignore(session, _STATE, [{"feed_id": feed_id, "failing_at": None, "stale_at": None,
                                         "updated_at": now}], conflict=("feed_id",))
        row = session.scalars(
            select(FeedHealthStateRow).where(FeedHealthStateRow.feed_id == feed_id).with_for_update()
        ).one()
        if _alerted(row) != expected:
            return None
        row.failing_at, row.stale_at, row.updated_at = new.failing_at, new.stale_at, now
        if new == Alerted():
            session.delete(row)  # nothing alerted: no row (a feed never in trouble has none)
        return [_raise(session, feed_id, event, content, recipients, now) for event, content in alerts]


def _raise(session: Session, feed_id: str, event: str, content: dict[str, Any],
           recipients: Sequence[tuple[str, str]], now: datetime) -> str:
    alert_id = f"fh_{uuid.uuid4().hex}"
    session.add(FeedHealthAlertRow(id=alert_id, feed_id=feed_id, event=event, content=content, created_at=now))
    session.flush()
    for subscriber_id, channel in recipients:  # one by one: insert_ignore's batch form wants the conflict columns first
        insert_ignore(session, _DELIVERIES, [{
            "id": new_delivery_id(), "subscriber_id": subscriber_id, "channel": channel, "kind": "feed_health",
            "period_key": FEED_HEALTH_PERIOD_PREFIX + alert_id, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now, "item_count": 0, "more_items": 0,
        }], conflict=("subscriber_id", "period_key"))
    return alert_id


def _alert(row: FeedHealthAlertRow) -> FeedHealthAlert:
    return FeedHealthAlert(row.id, row.feed_id, row.event, dict(row.content), row.created_at)


def feed_health_for_delivery(db: Database, delivery_id: str) -> FeedHealthAlert | None:
    """The alert a feed-health delivery sends (a resend's: the original's), None when it is gone."""
    with database_errors(), db.sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is not None and delivery.resend_of:
            delivery = session.get(Delivery, delivery.resend_of)
        if delivery is None or not (delivery.period_key or "").startswith(FEED_HEALTH_PERIOD_PREFIX):
            return None
        row = session.get(FeedHealthAlertRow, (delivery.period_key or "")[len(FEED_HEALTH_PERIOD_PREFIX):])
        return _alert(row) if row is not None else None


def feed_health_alerts(db: Database, feed_id: str | None = None, *, limit: int = 200) -> list[FeedHealthAlert]:
    """The alerts raised, newest first (one feed's, or all)."""
    with database_errors(), db.sessions() as session:
        stmt = select(FeedHealthAlertRow).order_by(FeedHealthAlertRow.created_at.desc(), FeedHealthAlertRow.id)
        if feed_id is not None:
            stmt = stmt.where(FeedHealthAlertRow.feed_id == feed_id)
        return [_alert(r) for r in session.scalars(stmt.limit(limit))]


def purge_feed_health(db: Database, before: datetime) -> int:
    """Delete alerts raised before `before` that no pending delivery (or pending resend) still renders."""
    with database_errors(), db.transaction() as session:
        pending = select(Delivery.period_key, Delivery.resend_of).where(Delivery.status == "pending")
        keys = set()
        for period_key, resend_of in session.execute(pending):
            original = session.get(Delivery, resend_of) if resend_of else None
            key = original.period_key if original is not None else period_key
            if key and key.startswith(FEED_HEALTH_PERIOD_PREFIX):
                keys.add(key[len(FEED_HEALTH_PERIOD_PREFIX):])
        stmt = delete(FeedHealthAlertRow).where(FeedHealthAlertRow.created_at < before)
        if keys:
            stmt = stmt.where(FeedHealthAlertRow.id.not_in(sorted(keys)))
        result = session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)
