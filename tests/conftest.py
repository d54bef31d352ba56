"""Shared fixtures: databases (SQLite and PostgreSQL), a local HTTP server, the demo paths."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store.db import Database
from monitor.store.migrate import upgrade
from tests.support.feedserver import FeedServer, running_feed_server

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_admin_url() -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, connect_timeout=3):
            return plain
    except Exception:
        return None


_ADMIN = _postgres_admin_url()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-golden", action="store_true", default=False,
                     help="rewrite golden files (rendered emails, payloads) from the current code")


def postgres_or_skip() -> str:
    """A fresh PostgreSQL database URL, or skip (fail under CI) when no server answers."""
    if _ADMIN is None:
        if IN_CI:
            pytest.fail(f"CI=true but no PostgreSQL answers at {POSTGRES_URL}; PostgreSQL tests are mandatory in CI")
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_URL} (set MONITOR_TEST_POSTGRES_URL)")
    import psycopg

    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def create_postgres_from_template(template_url: str) -> str:
    """A new PostgreSQL database copied from a database made by postgres_or_skip; drop it with drop_postgres.

    PostgreSQL refuses to copy a template that has open connections: dispose of its engines first.
    """
    import psycopg

    template = template_url.rsplit("/", 1)[1]
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_ADMIN or "", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return f"{template_url.rsplit('/', 1)[0]}/{name}"


def drop_postgres(url: str) -> None:
    """Drop a database made by postgres_or_skip or create_postgres_from_template."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_ADMIN or "", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    url = postgres_or_skip()
    try:
        yield url
    finally:
        drop_postgres(url)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database, on SQLite and on PostgreSQL."""
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP feed server on 127.0.0.1 for the test."""
    with running_feed_server() as server:
        yield server


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database only."""
    url = postgres_or_skip()
    try:
        yield url
    finally:
        drop_postgres(url)
