"""Alembic migrations, applied at start and by `monitor db upgrade`."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.request import pathname2url

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import NoDatabase, StorageError
from monitor.store.db import Database, normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database: Database) -> AlembicConfig:
    """An alembic Config pointing at the packaged migrations (works from a wheel)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return cfg


def upgrade(database: Database, revision: str = "head") -> str | None:
    """Bring the schema to `revision`; returns the revision the database is at afterwards."""
    cfg = alembic_config(database)
    with database.engine.begin() as connection:
        if not database.is_sqlite:
            # Several processes may start at once on PostgreSQL: serialise their migrations.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    return current_revision(database)


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(database: Database) -> str | None:
    """The newest revision shipped with this version of monitor."""
    return ScriptDirectory.from_config(alembic_config(database)).get_current_head()


def open_existing(url: str) -> Database:
    """The database at `url`, migrated to this version, if it exists with a schema; else NoDatabase.

    StorageError when the database server cannot be reached or refuses the connection.

    Nothing is created: no SQLite file, no directory, no tables (read-only commands must not leave an
    empty database behind that hides the real one at another path).
    """
    parsed = make_url(normalize_url(url))
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername.startswith("sqlite"):
        path = parsed.database or ""
        if not path or path == ":memory:":
            raise NoDatabase(f"the database {shown} is in memory: there is nothing stored to read")
        if not path.startswith("file:"):
            if not Path(path).is_file():
                raise NoDatabase(f"no database at {path}")
            if not _sqlite_has_schema(Path(path)):
                raise NoDatabase(f"the database {path} has no tables yet")
    database = Database(url)
    try:
        revision = current_revision(database)
        if revision is None:
            raise NoDatabase(f"the database {shown} has no tables yet")
        upgrade(database)  # an older schema is brought up to date, as every command always did
    except SQLAlchemyError as exc:
        database.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StorageError(f"cannot open the database {shown}: {reason}") from None
    except NoDatabase:
        database.dispose()
        raise
    return database


def _sqlite_has_schema(path: Path) -> bool:
    """True when the SQLite file has our migrations table; looked at read-only, so an empty file stays empty."""
    try:
        with closing(sqlite3.connect(f"file:{pathname2url(str(path))}?mode=ro", uri=True)) as connection:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read {path} as a SQLite database: {exc}") from None
    return found is not None
