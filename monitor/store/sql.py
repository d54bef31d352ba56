"""Small portable SQL helpers: insert-or-ignore, row locking and savepoints that both backends understand."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Select, Table, false, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


@lru_cache(maxsize=64)
def _insert_ignore_stmt(dialect: str, table: Table, conflict: tuple[str, ...]) -> Insert:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt: Insert = (
        module.insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*(table.c[name] for name in conflict))
    )
    return stmt


def insert_ignore(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str]) -> int:
    """Insert rows, skipping those that collide on the `conflict` columns; returns rows inserted."""
    if not rows:
        return 0
    stmt = _insert_ignore_stmt(session.get_bind().dialect.name, table, tuple(conflict))
    # One single-row statement (compiled once, then cached), run for all rows: SQLAlchemy's
    # "insertmanyvalues" batches it into multi-row INSERTs, and RETURNING yields exactly the
    # inserted rows (rowcount is unreliable for these: -1 with psycopg). A `.values(rows)` statement
    # would instead be compiled anew for every distinct number of rows.
    if len(rows) == 1:
        return len(session.execute(stmt, dict(rows[0])).all())
    return len(session.execute(stmt, list(rows)).all())


def insert_many(session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT plain tuples through the driver's executemany, skipping SQLAlchemy's per-row binding.

    For hot paths only, with values the driver takes as they are (ints, strings): no type
    decorators run. Measured for the 320 cluster-key rows of a 20-item feed on SQLite: ~11 ms
    through `session.execute(insert(table), dicts)`, ~3.5 ms this way.
    """
    if not rows:
        return
    connection = session.connection()
    marker = "%s" if connection.dialect.paramstyle in ("format", "pyformat") else "?"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
    connection.exec_driver_sql(sql, list(rows))


def select_by_keys(
    session: Session, table: str, columns: Sequence[str], key_column: str, keys: Sequence[int]
) -> list[tuple[Any, ...]]:
    """Rows whose integer `key_column` is one of `keys`, with the keys bound as one parameter.

    An expanding IN of ~320 keys (a feed's cluster band keys) is rendered and bound anew on each
    call; one JSON (SQLite) or array (PostgreSQL) parameter costs a fraction of that.
    """
    if not keys:
        return []
    connection = session.connection()
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        sql = f"SELECT {names} FROM {table} WHERE {key_column} = ANY(%s::bigint[])"
        return [tuple(row) for row in connection.exec_driver_sql(sql, (list(keys),))]
    sql = f"SELECT {names} FROM {table} WHERE {key_column} IN (SELECT value FROM json_each(?))"
    return [tuple(row) for row in connection.exec_driver_sql(sql, (json.dumps(list(keys)),))]


def lock_rows(stmt: Select[Any]) -> Select[Any]:
    """FOR UPDATE SKIP LOCKED on PostgreSQL (so workers never claim the same rows); SQLite ignores it."""
    return stmt.with_for_update(skip_locked=True)


def begin_writes(session: Session, table: Table) -> None:
    """Open the session's transaction for writing now, so that savepoints nest inside it on both backends.

    The sqlite3 module only sends BEGIN before its first INSERT/UPDATE/DELETE: a SAVEPOINT sent
    earlier would open the transaction itself, and releasing it would commit. A no-op UPDATE makes
    the module begin (and takes SQLite's write lock up front). PostgreSQL needs nothing.
    """
    if session.get_bind().dialect.name == "sqlite":
        first = next(iter(table.primary_key.columns))
        session.execute(update(table).where(false()).values({first.name: first}))
