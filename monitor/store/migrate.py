"""Alembic migrations, applied at start and by `monitor db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from monitor.store.db import Database

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
