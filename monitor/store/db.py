"""Engines and sessions: SQLite (WAL, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import DatabaseUnavailable, StorageError


def normalize_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` and pick the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    """True when the database is SQLite."""
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for the URL, with SQLite tuned for one writer process and many readers."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StorageError(
                "PostgreSQL needs the psycopg driver: pip install 'monitor[postgres]'"
            ) from None
        # JIT compiles a query whose estimated cost passes jit_above_cost: with a fast-growing table's
        # stale statistics a 1 ms cluster-key lookup was estimated that high and spent 11 ms compiling.
        # Our queries are short OLTP ones; JIT never pays for them.
        # psycopg would prepare a statement on its 5th run, and PostgreSQL then keeps a generic plan
        # made while the tables were still small: a fresh install's lookup of a feed's article ids
        # (an IN list) stayed a sequential scan (5 ms a call at 20,000 articles) until autovacuum
        # analysed the table. Unprepared, each of our statements is planned for its own values.
        # The server's own cached plans keep the default mode: forcing custom plans for every
        # statement (plan_cache_mode=force_custom_plan, as before) also re-planned each foreign-key
        # check and trigger statement for every row inserted, ~15 % of the server's CPU at ingest,
        # and their generic plans (a primary-key probe, an INSERT ... VALUES) cannot go stale that way.
        options = "-c jit=off"
        connect_args = {"options": options, "prepare_threshold": None, **kwargs.pop("connect_args", {})}
        return create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args, **kwargs
        )
    return create_engine(url, **kwargs)


SQLITE_PAGE_SIZE = 16384
"""Bytes a page of a SQLite database this creates (SQLite's default: 4096)."""
WAL_CHECKPOINT_BYTES = 40 * 1024 * 1024
"""WAL written before SQLite copies it into the database (in pages of the database's own size)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the dashboard read while the service writes; the busy timeout turns short lock waits
    # into waits instead of "database is locked" errors.
    cursor = dbapi_connection.cursor()
    # Pages of 16 KiB, for a database this creates (an existing one keeps its own: WAL mode cannot change
    # it). Ingest dirties pages all over the random-key indexes (article ids, cluster keys), and a commit
    # writes each dirty page to the WAL as one frame: a quarter as many frames, and shallower B-trees,
    # took ~10 % off the writer thread's CPU (benchmarks/README.md, tenth session).
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A checkpoint copies the WAL's pages into the database and syncs: ingest commits dirty ~2,000
    # pages each (random cluster keys), so at the default 1,000 pages nearly every commit paid for
    # one. At ~40 MB of WAL (10,000 pages of 4 KiB) a page rewritten by several commits is copied once.
    page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")
    # Cluster keys and article ids land at random places in their B-trees: with the default 2 MB page
    # cache nearly every insert read its pages back from the OS (a read() each). 64 MB of cache and
    # reads through a memory map took ingest from ~80 to ~98 changed feeds/s (benchmarks/README.md).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


@contextmanager
def database_errors() -> Iterator[None]:
    """Raise the project's errors for the driver's: DatabaseUnavailable for an unreachable server or a lost
    connection (OperationalError, InterfaceError, any error that invalidated the connection), StorageError
    for a statement the database refused. The message is the driver's own."""
    try:
        yield
    except DBAPIError as exc:
        detail = str(exc.orig)
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            raise DatabaseUnavailable(detail, connection_lost=exc.connection_invalidated) from exc
        raise StorageError(detail) from exc


def is_unavailable(error: BaseException) -> bool:
    """True for the database's own trouble (unreachable, connection lost), not a statement's or the caller's.

    The refresh stores each feed in a transaction it shares with other feeds: a feed's own failure is recorded
    on that feed, the database's fails the whole transaction. This tells them apart without the caller
    knowing the driver's exceptions.
    """
    return isinstance(error, OperationalError | InterfaceError | DatabaseUnavailable)


Transaction = Session
"""An open transaction, handed to the store's functions by whoever opened it (the refresh's batch writer)."""


class Database:
    """One database: its engine and a session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = create_db_engine(self.url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """True when this is SQLite (single process)."""
        return is_sqlite(self.url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def guarded_transaction(self) -> Iterator[Session]:
        """`transaction()` whose driver errors come out as the project's (commit included)."""
        with database_errors(), self.transaction() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
