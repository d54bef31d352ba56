"""Alembic environment: run against the connection handed in by monitor.store.migrate."""

from __future__ import annotations

from alembic import context

from monitor.store.rows import Base, in_metadata

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from monitor.store.db import create_db_engine

        engine = create_db_engine(context.config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
        include_name=in_metadata,  # the FTS5 tables and the GIN index of migration 0019
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
