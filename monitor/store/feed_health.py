"""Feed-health alerting's shared state: what was alerted about each feed, the alerts raised, and their deliveries.

Kept in the database so that "once" holds across ticks, restarts and processes: the feed-health tick
runs under an advisory lock (one process judges at a time) and writes everything it decided in one
transaction: each feed's state row is locked and compared with what the tick started from (a feed
another process moved meanwhile is left alone), the alerts are inserted with the tick's batch id, and
each operator gets ONE delivery for the batch (period_key `feedhealth:<batch>`, unique per subscriber),
so a mass outage is one message listing every feed, not one message per feed. Like a spike delivery it
carries no routed items: what it shows is the batch's alerts, fixed when they were raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select

from monitor.feedhealth import Alerted, FeedFacts
from monitor.store.db import Database, database_errors
from monitor.store.outbox_assembly import new_delivery_id
from monitor.store.rows import Delivery, Feed, FeedHealthAlertRow, FeedHealthStateRow
from monitor.store.sql import chunked, insert_ignore

FEED_HEALTH_LOCK = 4242005
"""PostgreSQL advisory lock key of the feed-health tick (the others are in monitor/store/coordination.py)."""
FEED_HEALTH_PERIOD_PREFIX = "feedhealth:"

_STATE = cast(Table, FeedHealthStateRow.__table__)
_DELIVERIES = cast(Table, Delivery.__table__)


@dataclass(frozen=True, slots=True)
class FeedHealthAlert:
    """A raised feed-health alert as stored."""

    id: str
    batch: str
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


@dataclass(frozen=True, slots=True)
class StateChange:
    """What the tick decided for one feed: its state from `expected` to `new`, and the alerts (event, content)."""

    feed_id: str
    expected: Alerted
    new: Alerted
    alerts: tuple[tuple[str, dict[str, Any]], ...] = ()


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


def save_changes(
    db: Database, changes: Sequence[StateChange], *, now: datetime, recipients: Sequence[tuple[str, str]] = (),
) -> list[FeedHealthAlert]:
    """Write a tick's decisions in one transaction and raise its alerts to `recipients` (subscriber, channel).

    A feed whose stored state is no longer its `expected` (another process moved it) is skipped, alerts
    and all. Returns the alerts raised, all of one batch, delivered to each recipient as one delivery.
    """
    batch = f"fhb_{uuid.uuid4().hex}"
    raised: list[FeedHealthAlert] = []
    with database_errors(), db.transaction() as session:
        # Set-wise (a mass outage moves every feed at once): the missing rows in one insert, all rows locked
        # with one SELECT per chunk, the alerts flushed together.
        insert_ignore(session, _STATE, [{"feed_id": c.feed_id, "failing_at": None, "stale_at": None, "updated_at": now}
                                        for c in changes], conflict=("feed_id",))
        rows: dict[str, FeedHealthStateRow] = {}
        for part in chunked([c.feed_id for c in changes]):
            rows |= {r.feed_id: r for r in session.scalars(
                select(FeedHealthStateRow).where(FeedHealthStateRow.feed_id.in_(part)).with_for_update())}
        for change in changes:
            row = rows[change.feed_id]
            if _alerted(row) != change.expected:
                continue  # another process moved it since the tick read it: its alerts are that process's
            if change.new == Alerted():
                session.delete(row)  # nothing alerted: no row (a feed never in trouble has none)
            else:
                row.failing_at, row.stale_at, row.updated_at = change.new.failing_at, change.new.stale_at, now
            raised += [FeedHealthAlert(f"fh_{uuid.uuid4().hex}", batch, change.feed_id, event, content, now)
                       for event, content in change.alerts]
        session.add_all([FeedHealthAlertRow(id=a.id, batch=a.batch, feed_id=a.feed_id, event=a.event,
                                            content=a.content, created_at=a.created_at) for a in raised])
        for subscriber_id, channel in recipients if raised else ():
            # One by one: insert_ignore's batch form wants the conflict columns first.
            insert_ignore(session, _DELIVERIES, [{
                "id": new_delivery_id(), "subscriber_id": subscriber_id, "channel": channel, "kind": "feed_health",
                "period_key": FEED_HEALTH_PERIOD_PREFIX + batch, "status": "pending", "attempts": 0,
                "next_attempt_at": now, "created_at": now, "item_count": len(raised), "more_items": 0,
            }], conflict=("subscriber_id", "period_key"))
    return raised


def _alert(row: FeedHealthAlertRow) -> FeedHealthAlert:
    return FeedHealthAlert(row.id, row.batch, row.feed_id, row.event, dict(row.content), row.created_at)


def feed_health_for_delivery(db: Database, delivery_id: str) -> list[FeedHealthAlert]:
    """The alerts a feed-health delivery sends (a resend's: the original's), feed by feed; [] when they are gone."""
    with database_errors(), db.sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is not None and delivery.resend_of:
            delivery = session.get(Delivery, delivery.resend_of)
        if delivery is None or not (delivery.period_key or "").startswith(FEED_HEALTH_PERIOD_PREFIX):
            return []
        batch = (delivery.period_key or "")[len(FEED_HEALTH_PERIOD_PREFIX):]
        rows = session.scalars(select(FeedHealthAlertRow).where(FeedHealthAlertRow.batch == batch)
                               .order_by(FeedHealthAlertRow.feed_id, FeedHealthAlertRow.id))
        return [_alert(r) for r in rows]


def feed_health_alerts(db: Database, feed_id: str | None = None, *, limit: int = 200) -> list[FeedHealthAlert]:
    """The alerts raised, newest first (one feed's, or all)."""
    with database_errors(), db.sessions() as session:
        stmt = select(FeedHealthAlertRow).order_by(FeedHealthAlertRow.created_at.desc(), FeedHealthAlertRow.id.desc())
        if feed_id is not None:
            stmt = stmt.where(FeedHealthAlertRow.feed_id == feed_id)
        return [_alert(r) for r in session.scalars(stmt.limit(limit))]


def purge_feed_health(db: Database, before: datetime) -> int:
    """Delete alerts raised before `before` that no pending delivery (or pending resend) still renders."""
    with database_errors(), db.transaction() as session:
        pending = select(Delivery.period_key, Delivery.resend_of).where(Delivery.status == "pending")
        batches = set()
        for period_key, resend_of in session.execute(pending):
            original = session.get(Delivery, resend_of) if resend_of else None
            key = original.period_key if original is not None else period_key
            if key and key.startswith(FEED_HEALTH_PERIOD_PREFIX):
                batches.add(key[len(FEED_HEALTH_PERIOD_PREFIX):])
        stmt = delete(FeedHealthAlertRow).where(FeedHealthAlertRow.created_at < before)
        if batches:
            stmt = stmt.where(FeedHealthAlertRow.batch.not_in(sorted(batches)))
        result = session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)
