"""Spike alerting's shared state: each entry's once-per-spike state, the alerts raised, and their deliveries.

Kept in the database so that "once per spike" holds across ticks, restarts and processes: the spike
tick runs under an advisory lock (one process judges at a time), each entry's state row is locked
and compared with what the tick started from before it is written, an alert is unique per entry
and hour (`uq_spike_alert_hour`), and a spike delivery per subscriber and alert (the delivery's
period_key `spike:<alert id>`, unique per subscriber). A spike delivery carries no routed items:
what it shows is the alert's `content`, fixed when it was raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from monitor.store.db import Database, database_errors
from monitor.store.outbox_assembly import new_delivery_id
from monitor.store.rows import Delivery, SpikeAlertRow, SpikeStateRow
from monitor.store.sql import insert_ignore, insert_new

SPIKES_LOCK = 4242004
"""PostgreSQL advisory lock key of the spike tick (the others are in monitor/store/coordination.py)."""
SPIKE_PERIOD_PREFIX = "spike:"

_STATE = cast(Table, SpikeStateRow.__table__)
_ALERTS = cast(Table, SpikeAlertRow.__table__)
_DELIVERIES = cast(Table, Delivery.__table__)


@dataclass(frozen=True, slots=True)
class StoredSpikeState:
    """One entry's state as stored: in a spike or not, the counts to grow from, the last complete hour judged."""

    active: bool = False
    alerted: tuple[tuple[str, int], ...] = ()
    judged_through: datetime | None = None


@dataclass(frozen=True, slots=True)
class SpikeAlert:
    """A raised spike alert as stored."""

    id: str
    watchlist: str
    entry_id: str
    at: datetime
    reason: str
    content: dict[str, Any]
    created_at: datetime


def _stored(row: SpikeStateRow | None) -> StoredSpikeState:
    if row is None:
        return StoredSpikeState()
    alerted = tuple(sorted((str(kind), int(count)) for kind, count in (row.alerted or [])))
    return StoredSpikeState(bool(row.active), alerted, row.judged_through)


def _alert(row: SpikeAlertRow) -> SpikeAlert:
    return SpikeAlert(row.id, row.watchlist, row.entry_id, row.at, row.reason, dict(row.content), row.created_at)


def load_states(db: Database) -> dict[tuple[str, str], StoredSpikeState]:
    """Every entry's stored spike state."""
    with database_errors(), db.sessions() as session:
        return {(r.watchlist, r.entry_id): _stored(r) for r in session.scalars(select(SpikeStateRow))}


def save_state(
    db: Database, key: tuple[str, str], *, expected: StoredSpikeState, new: StoredSpikeState, now: datetime,
    alert: tuple[datetime, str, dict[str, Any]] | None = None, recipients: Sequence[tuple[str, str]] = (),
) -> str | None | bool:
    """Move an entry from `expected` to `new` and, with `alert` (at, reason, content), raise it to `recipients`.

    One transaction, the state row locked: when the row is no longer `expected` (another process got
    there first) nothing is written and False is returned. Otherwise returns the new alert's id, or
    None without one (or when this hour's alert already exists). `recipients`: (subscriber id, channel).
    """
    with database_errors(), db.transaction() as session:
        insert_ignore(session, _STATE, [{"watchlist": key[0], "entry_id": key[1], "active": False, "alerted": [],
                                         "judged_through": None, "updated_at": now}],
                      conflict=("watchlist", "entry_id"))
        row = session.scalars(
            select(SpikeStateRow).where(SpikeStateRow.watchlist == key[0], SpikeStateRow.entry_id == key[1])
            .with_for_update()
        ).one()
        if _stored(row) != expected:
            return False
        row.active, row.alerted = new.active, [list(pair) for pair in new.alerted]
        row.judged_through, row.updated_at = new.judged_through, now
        if alert is None:
            return None
        return _raise(session, key, alert, recipients, now)


def _raise(session: Session, key: tuple[str, str], alert: tuple[datetime, str, dict[str, Any]],
           recipients: Sequence[tuple[str, str]], now: datetime) -> str | None:
    at, reason, content = alert
    alert_id = f"spk_{uuid.uuid4().hex}"
    inserted = insert_new(session, _ALERTS, [{"id": alert_id, "watchlist": key[0], "entry_id": key[1], "at": at,
                                              "reason": reason, "content": content, "created_at": now}],
                          conflict=("watchlist", "entry_id", "at"))
    if not inserted:
        return None  # raised before for this hour (by another process, or before a restart)
    rows = [
        {"id": new_delivery_id(), "subscriber_id": subscriber_id, "channel": channel, "kind": "spike",
         "period_key": SPIKE_PERIOD_PREFIX + alert_id, "status": "pending", "attempts": 0, "next_attempt_at": now,
         "created_at": now, "item_count": 0, "more_items": 0}
        for subscriber_id, channel in recipients
    ]
    for row in rows:  # one by one: insert_ignore's batch form wants the conflict columns first
        insert_ignore(session, _DELIVERIES, [row], conflict=("subscriber_id", "period_key"))
    return alert_id


def spike_for_delivery(db: Database, delivery_id: str) -> SpikeAlert | None:
    """The alert a spike delivery sends (a resend's: the original's), None when it is gone."""
    with database_errors(), db.sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is not None and delivery.resend_of:
            delivery = session.get(Delivery, delivery.resend_of)
        if delivery is None or not (delivery.period_key or "").startswith(SPIKE_PERIOD_PREFIX):
            return None
        row = session.get(SpikeAlertRow, (delivery.period_key or "")[len(SPIKE_PERIOD_PREFIX):])
        return _alert(row) if row is not None else None


def spike_alerts(db: Database, entry: tuple[str, str] | None = None, *, since: datetime | None = None,
                 limit: int = 200) -> list[SpikeAlert]:
    """The alerts raised, newest first (one entry's, or all)."""
    with database_errors(), db.sessions() as session:
        stmt = select(SpikeAlertRow).order_by(SpikeAlertRow.at.desc(), SpikeAlertRow.id).limit(limit)
        if entry is not None:
            stmt = stmt.where(SpikeAlertRow.watchlist == entry[0], SpikeAlertRow.entry_id == entry[1])
        if since is not None:
            stmt = stmt.where(SpikeAlertRow.at >= since)
        return [_alert(r) for r in session.scalars(stmt)]
