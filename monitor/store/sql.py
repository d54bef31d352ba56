"""Small portable SQL helpers: insert-or-ignore and row locking that both backends understand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str]) -> int:
    """Insert rows, skipping those that collide on the `conflict` columns; returns rows inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = (
        module.insert(table)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=list(conflict))
        # rowcount is unreliable for multi-row inserts (-1 with psycopg): count what came back.
        .returning(*(table.c[name] for name in conflict))
    )
    return len(session.execute(stmt).all())


def lock_rows(stmt: Select[Any]) -> Select[Any]:
    """FOR UPDATE SKIP LOCKED on PostgreSQL (so workers never claim the same rows); SQLite ignores it."""
    return stmt.with_for_update(skip_locked=True)
