"""Small portable SQL helpers: insert-or-ignore, row locking and savepoints that both backends understand."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import Connection, CursorResult, Insert, Select, String, Table, false, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
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
    return len(insert_new(session, table, rows, conflict=conflict))


def insert_new(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Insert rows, skipping those that collide on the `conflict` columns; returns the inserted rows' keys."""
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(rows) > 1:
        names = list(rows[0])
        result = _insert_unnest(connection, table, names, [[row[n] for row in rows] for n in names], conflict)
        return [tuple(row) for row in result]
    if connection.dialect.name == "sqlite" and _plain_returning(connection, table, rows[0], conflict):
        return _insert_new_sqlite(connection, table, rows, conflict)
    stmt = _insert_ignore_stmt(connection.dialect.name, table, tuple(conflict))
    # One single-row statement (compiled once, then cached), run for all rows: SQLAlchemy's
    # "insertmanyvalues" batches it into multi-row INSERTs, and RETURNING yields exactly the
    # inserted rows (rowcount is unreliable for these: -1 with psycopg). A `.values(rows)` statement
    # would instead be compiled anew for every distinct number of rows.
    if len(rows) == 1:
        return [tuple(row) for row in session.execute(stmt, dict(rows[0]))]
    return [tuple(row) for row in session.execute(stmt, list(rows))]


def _sqlite_run(connection: Connection, sql: str, params: Any, *, many: bool = False) -> list[Any]:
    """SQLite: run one statement on the connection's own sqlite3 connection (in its transaction); its rows.

    The writer's hot statements skip SQLAlchemy's execution context and result wrapping (~40 us a
    statement, ~0.3 ms a changed feed at six statements). A driver error comes out as SQLAlchemy's own
    (OperationalError, IntegrityError, ...), as from `exec_driver_sql`, and a closed connection is
    invalidated in the pool as SQLAlchemy does, so callers tell them apart alike. Another SQLite driver
    than the standard library's goes through `exec_driver_sql`.
    """
    if connection.dialect.driver != "pysqlite":
        result = connection.exec_driver_sql(sql, params)
        return [] if many else [tuple(row) for row in result]
    driver = connection.connection.driver_connection
    cursor = None
    try:
        cursor = driver.cursor()  # type: ignore[union-attr]
        if many:
            cursor.executemany(sql, params)
            return []
        cursor.execute(sql, params)
        return cursor.fetchall()  # type: ignore[no-any-return]
    except sqlite3.Error as exc:
        lost = bool(connection.dialect.is_disconnect(exc, driver, cursor))  # type: ignore[arg-type]
        if lost and not connection.invalidated:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql, params, exc, sqlite3.Error, connection_invalidated=lost, dialect=connection.dialect
        ) from exc
    finally:
        if cursor is not None:
            cursor.close()


_SQLITE_ROWS_BOUND = 999
"""Values bound in one multi-row INSERT on SQLite at most (the oldest builds' limit; ~50 rows of 20 columns)."""


def insert_returning_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows into a table with an autoincrement integer key; return their keys in the order of the rows."""
    if not rows:
        return []
    connection = session.connection()
    key = next(iter(table.primary_key.columns))
    if connection.dialect.name == "sqlite" and _plain_returning(connection, table, rows[0], (key.name,)):
        ids: list[int] = []
        for returned in _insert_values_sqlite(connection, table, rows, f"RETURNING {key.name}"):
            # RETURNING's order is unspecified, but SQLite inserts the VALUES in order and gives each
            # row the largest key so far plus one (no AUTOINCREMENT): sorted keys are in row order,
            # which is how SQLAlchemy's own sort_by_parameter_order works on SQLite.
            ids += sorted(int(r[0]) for r in returned)
        return ids
    if connection.dialect.name == "postgresql" and _plain_returning(connection, table, rows[0], (key.name,)):
        # One unnest statement in the rows' order; keys are handed out in insertion order, so sorted
        # keys are in row order (what SQLAlchemy's sort_by_parameter_order relies on there too).
        names = list(rows[0])
        columns = [[row[name] for row in rows] for name in names]
        keys = _insert_unnest(connection, table, names, columns, (), returning=key.name)
        return sorted(int(r[0]) for r in keys)
    stmt = insert(table).returning(key, sort_by_parameter_order=True)
    return [int(i) for i in session.execute(stmt, list(rows)).scalars().all()]


def _plain_returning(connection: Connection, table: Table, row: dict[str, Any], conflict: Sequence[str]) -> bool:
    """True when the rows need nothing SQLAlchemy adds: every defaulted column given, conflict keys returned as stored."""
    if any(c.default is not None and c.name not in row for c in table.c):
        return False
    return not any(_result_processors(connection.dialect, table, tuple(conflict)))


def _insert_new_sqlite(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> list[tuple[Any, ...]]:
    """SQLite: `insert_new` as multi-row INSERT ... RETURNING through the driver.

    SQLAlchemy's insertmanyvalues built the same statement, but spent ~1.5 ms on a 20-article feed
    converting each row's parameters one by one; here each column's converter runs once per distinct
    value object (a feed's rows share one `now`).
    """
    keys = ", ".join(conflict)
    tail = f"ON CONFLICT ({keys}) DO NOTHING RETURNING {keys}"
    return [tuple(r) for returned in _insert_values_sqlite(connection, table, rows, tail) for r in returned]


def _insert_values_sqlite(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], tail: str
) -> Iterator[list[Any]]:
    """SQLite: the rows as multi-row `INSERT ... VALUES ... <tail>` statements through the driver, one result each.

    As many rows a statement as `_SQLITE_ROWS_BOUND` values allow; values converted by `_converted`.
    """
    names = list(rows[0])
    values = _converted(connection, table, names, [[row[n] for n in names] for row in rows])
    per_statement = max(1, _SQLITE_ROWS_BOUND // len(names))
    placeholders = f"({', '.join(['?'] * len(names))})"
    for start in range(0, len(values), per_statement):
        part = values[start : start + per_statement]
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES {', '.join([placeholders] * len(part))} {tail}"
        yield _sqlite_run(connection, sql, tuple(chain.from_iterable(part)))


def _converted(connection: Connection, table: Table, names: Sequence[str], rows: list[list[Any]]) -> list[list[Any]]:
    """`rows` (lists, changed in place) with each column's bind converter applied, once per distinct value object."""
    for i, process in enumerate(_bind_processors(connection, table, names)):
        if process is None:
            continue
        done: dict[int, Any] = {}  # id() is safe here: `rows` holds every value for the whole call
        for row in rows:
            value = row[i]
            key = id(value)
            if key not in done:
                done[key] = process(value)
            row[i] = done[key]
    return rows


def insert_many(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
    *, skip_conflicts_on: Sequence[str] = (),
) -> None:
    """INSERT plain tuples in one go, skipping SQLAlchemy's per-row work (and rows that collide, if asked).

    SQLite: the driver's executemany (the 320 cluster-key rows of a 20-item feed took ~11 ms
    through `session.execute(insert(table), dicts)`, ~3.5 ms this way). PostgreSQL: one `unnest`
    statement (see `_insert_unnest`). Values go through the columns' own types either way.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _insert_unnest(connection, table, columns, [list(c) for c in zip(*rows, strict=True)], skip_conflicts_on)
        return
    if any(_bind_processors(connection, table, columns)):
        rows = [tuple(row) for row in _converted(connection, table, columns, [list(row) for row in rows])]
    on_conflict = f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING" if skip_conflicts_on else ""
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))}){on_conflict}"
    _sqlite_run(connection, sql, rows, many=True)


def _bind_processors(connection: Connection, table: Table, columns: Sequence[str]) -> list[Any]:
    """Each column's value converter for this dialect (None where the driver takes values as they are)."""
    return _bind_processors_of(connection.dialect, table, tuple(columns))


@lru_cache(maxsize=128)
def _bind_processors_of(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> list[Any]:
    # Cached: looked up for every INSERT of the writer (~0.05 ms a feed), the same every time.
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]


def _insert_unnest(
    connection: Connection, table: Table, names: Sequence[str], columns: list[list[Any]], conflict: Sequence[str],
    *, returning: str | None = None,
) -> CursorResult[Any]:
    """PostgreSQL: INSERT ... SELECT FROM unnest(one typed array per column), RETURNING the conflict columns.

    With `returning` (a column the server fills, such as a serial key), the rows are inserted in the
    arrays' order (WITH ORDINALITY ... ORDER BY) and that column is returned instead.

    The statement's text is the same whatever the number of rows, so psycopg and the server parse
    it once. psycopg's executemany sends one statement per row, and SQLAlchemy's multi-row VALUES
    has a placeholder per value: psycopg re-parses any statement of more than 50 parameters on
    every run (~1 ms for a 20-article feed's INSERT). Arrays go in binary (`%b`): psycopg's text
    format quotes each element through a regex (~1 ms for 20 articles' texts, ~0.1 ms in binary).
    """
    arrays = [
        [process(v) for v in values] if process else values
        for process, values in zip(_bind_processors(connection, table, names), columns, strict=True)
    ]
    casts = ", ".join(f"%b::{cast}[]" for cast in _array_types(connection.dialect, table, tuple(names)))
    listed = ", ".join(names)
    rows = (f"SELECT * FROM unnest({casts})" if returning is None else
            f"SELECT {listed} FROM unnest({casts}) WITH ORDINALITY AS given({listed}, given_order) ORDER BY given_order")
    sql = f"INSERT INTO {table.name} ({listed}) {rows}"
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    returned = [returning] if returning is not None else list(conflict)
    if returned:
        sql += f" RETURNING {', '.join(returned)}"
    with _server_prepared(connection):
        return connection.exec_driver_sql(sql, tuple(arrays))


@lru_cache(maxsize=128)
def _array_types(dialect: Dialect, table: Table, names: tuple[str, ...]) -> tuple[str, ...]:
    """PostgreSQL: the element type each column's array is cast to: its own, but a string type without its
    length. An explicit cast to VARCHAR(n) cuts a longer value silently; the column itself refuses it."""
    types = []
    for name in names:
        column_type = table.c[name].type
        impl = column_type.dialect_impl(dialect)
        limited = isinstance(impl, String) and impl.length is not None
        types.append((String() if limited else column_type).compile(dialect=dialect))
    return tuple(types)


@contextmanager
def _server_prepared(connection: Connection) -> Iterator[None]:
    """PostgreSQL: the statements run in this block are prepared on the server and reused.

    The engine prepares nothing by default (monitor/store/db.py: a generic plan made while a table
    was small can go stale). The statements run here have one plan whatever the values and the
    tables' sizes (an INSERT from arrays, one index probe per key), so parsing and planning them
    once per connection is safe: their parse was ~6 % of the server's CPU at ingest.
    """
    driver: Any = connection.connection.driver_connection
    saved = driver.prepare_threshold
    driver.prepare_threshold = 0  # prepare on the first run (psycopg)
    try:
        yield
    finally:
        driver.prepare_threshold = saved


def select_by_keys(
    session: Session, table: Table, columns: Sequence[str], key_column: str, keys: Sequence[int]
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
        # One index probe per key, whatever the statistics say: a plain join or `= ANY(%s)` was
        # planned as a full scan while the table grew faster than autovacuum analysed it (18-29 ms
        # a call against ~1.3 ms), and psycopg's prepared generic plan for ANY did the same. The
        # LIMIT keeps the subquery from being flattened into such a join; no band key is shared
        # by anywhere near that many articles in the window.
        sql = (
            f"SELECT found.* FROM unnest(%b::bigint[]) AS wanted(k) CROSS JOIN LATERAL "
            f"(SELECT {names} FROM {table.name} WHERE {key_column} = wanted.k LIMIT 1000) AS found"
        )
        with _server_prepared(connection):
            return [tuple(row) for row in connection.exec_driver_sql(sql, (list(keys),))]
    return select_in(session, table, columns, key_column, keys)


def select_in(
    session: Session, table: Table, columns: Sequence[str], key_column: str, keys: Sequence[Any],
    *, at_least: tuple[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """Rows of `columns` whose `key_column` is one of `keys`, values as the columns' types give.

    `at_least`: (column, value) that rows must also have at least. The keys are bound as one parameter,
    any number of them: on SQLite a JSON array through the driver, on PostgreSQL a typed array (`= ANY`,
    planned for its values: the engine prepares nothing). The ORM's expanding IN of a feed's 20 article
    ids cost ~0.3 ms a feed, mostly SQLAlchemy's own work. Other databases get an IN list: at most
    `MAX_BOUND_VALUES` (`chunked`).
    """
    if not keys:
        return []
    connection = session.connection()
    dialect_name = connection.dialect.name
    if dialect_name not in ("sqlite", "postgresql"):
        query = select(*(table.c[column] for column in columns)).where(table.c[key_column].in_(list(keys)))
        if at_least is not None:
            query = query.where(table.c[at_least[0]] >= at_least[1])
        return [tuple(row) for row in connection.execute(query)]
    [process_key] = _bind_processors(connection, table, [key_column])
    bound = [process_key(k) for k in keys] if process_key else list(keys)
    if dialect_name == "sqlite":
        sql = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {key_column} IN (SELECT value FROM json_each(?))"
        params: tuple[Any, ...] = (json.dumps(bound),)
    else:
        [key_type] = _array_types(connection.dialect, table, (key_column,))
        sql = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {key_column} = ANY(%b::{key_type}[])"
        params = (bound,)
    if at_least is not None:
        [process] = _bind_processors(connection, table, [at_least[0]])
        sql += f" AND {at_least[0]} >= {'?' if dialect_name == 'sqlite' else '%s'}"
        params += (at_least[1] if process is None else process(at_least[1]),)
    if dialect_name == "sqlite":
        rows = _sqlite_run(connection, sql, params)
    else:
        rows = [tuple(row) for row in connection.exec_driver_sql(sql, params)]
    processors = _result_processors(connection.dialect, table, tuple(columns))
    if not any(processors):
        return rows
    return [tuple(v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True)) for row in rows]


@lru_cache(maxsize=64)
def _result_processors(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> list[Any]:
    """Each column's result converter for this dialect (None where the driver's value is the value)."""
    return [table.c[name].type.dialect_impl(dialect).result_processor(dialect, None) for name in columns]


MAX_BOUND_VALUES = 1000
"""Values bound in one IN list at most. PostgreSQL's protocol takes at most 65,535 parameters a
statement and SQLite (as built here) 250,000: a list that grows with the data (a delivery's matches,
a cluster's members) is bound in chunks of this size, so no statement can meet either limit."""


def chunked(values: Iterable[Any], size: int = MAX_BOUND_VALUES) -> Iterator[list[Any]]:
    """`values` in lists of at most `size` (for IN lists of any length)."""
    chunk: list[Any] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
