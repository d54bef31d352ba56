"""Coordination between service processes through the database: advisory locks and stale leases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import update

from monitor.store.db import Database
from monitor.store.rows import Delivery, Feed

SYNC_LOCK, HOUSEKEEPING_LOCK, WEBSUB_LOCK = 4242002, 4242003, 4242004
"""PostgreSQL advisory lock keys: config sync at start/reload, one housekeeper at a time, and one
WebSub tick at a time (two would both subscribe a new feed) (4242001 is the migrations' lock in
monitor/store/migrate.py)."""


@contextmanager
def advisory_lock(db: Database, key: int, *, wait: bool = True) -> Iterator[bool]:
    """A PostgreSQL session advisory lock (always granted on SQLite, which has one process)."""
    if db.is_sqlite:
        yield True
        return
    with db.engine.connect() as conn:
        sql = f"SELECT pg_advisory_lock({key})" if wait else f"SELECT pg_try_advisory_lock({key})"
        got = conn.exec_driver_sql(sql).scalar() is not False
        conn.commit()  # the lock is held by the session, not by this transaction
        try:
            yield got
        finally:
            if got:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
                conn.commit()


def release_stale_leases(db: Database, owner: str) -> int:
    """Free leases no living process can hold: all on SQLite (we hold its lock), our own id on PostgreSQL.

    A process killed with SIGKILL leaves its leases; on SQLite they would otherwise block its feeds
    and deliveries until they expire. On PostgreSQL other processes may be alive, so only leases
    carrying our own host:pid (a restarted container has the same one) are ours to free.
    """
    released = 0
    with db.transaction() as session:
        for model in (Feed, Delivery):
            stmt = update(model).where(model.lease_owner.is_not(None))
            if not db.is_sqlite:
                stmt = stmt.where(model.lease_owner == owner)
            result = session.execute(stmt.values(lease_owner=None, lease_until=None))
            released += int(getattr(result, "rowcount", 0) or 0)
    return released
