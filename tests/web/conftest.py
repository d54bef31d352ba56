"""Fixtures for the dashboard tests: one seeded demo database per backend and test session, copied per test.

`seeded` is SQLite unless a module asks for both backends with `pytestmark = BOTH_BACKENDS` (or a test
with `@BOTH_BACKENDS`, see tests/web/seed.py): then each test runs once on a copy of the SQLite file and
once on a PostgreSQL database created from the seeded PostgreSQL template.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from monitor.config import load_config
from monitor.store.db import Database
from monitor.web.app import create_app
from monitor.web.auth import AuthSettings
from tests.conftest import create_postgres_from_template, drop_postgres, postgres_or_skip
from tests.web.editor_fixtures import Editable, editable_copy
from tests.web.seed import Seeded, seed, seed_clock


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The demo pipeline run once into a SQLite database (slow part, done once)."""
    return seed(tmp_path_factory.mktemp("seeded"))


@pytest.fixture(scope="session")
def seeded_postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The demo pipeline run once into a PostgreSQL database, the template of every test's copy.

    Skips (fails under CI=true) when no PostgreSQL server answers. `seed()` disposes of every engine it
    opens, so the template has no open connection left and CREATE DATABASE ... TEMPLATE can copy it.
    The template is dropped at the end of the session.
    """
    url = postgres_or_skip()
    try:
        yield seed(tmp_path_factory.mktemp("seeded-postgres"), url)
    finally:
        drop_postgres(url)


def _with_database(template: Seeded, url: str) -> Seeded:
    """The template's Seeded pointing at another (copied) database."""
    config = load_config(template.config_dir, {}).config
    config = config.model_copy(update={"settings": config.settings.model_copy(update={"database": url})})
    return Seeded(template.config_dir, config, url, template.failed_delivery_id, template.hostile_feed_ids)


@pytest.fixture
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Seeded]:
    """A private copy of the seeded database, so tests that write (retry) do not affect each other.

    The backend is the fixture's parameter ("sqlite" or "postgres"), SQLite when not parametrized.
    """
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        template: Seeded = request.getfixturevalue("seeded_template")
        target = tmp_path / "monitor.db"
        shutil.copy(Path(template.database_url.removeprefix("sqlite:///")), target)
        yield _with_database(template, f"sqlite:///{target}")
        return
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}: sqlite or postgres")
    template = request.getfixturevalue("seeded_postgres_template")
    url = create_postgres_from_template(template.database_url)
    try:
        yield _with_database(template, url)
    finally:
        drop_postgres(url)


@pytest.fixture
def db(seeded: Seeded) -> Iterator[Database]:
    """The test's database."""
    database = Database(seeded.database_url)
    yield database
    database.dispose()


# The app answers only the names it is reached by (DNS rebinding): not TestClient's default "testserver".
LOCAL_BASE_URL = "http://127.0.0.1"


@pytest.fixture
def client(seeded: Seeded, db: Database) -> Iterator[TestClient]:
    """A client of the app without authentication (loopback mode)."""
    with TestClient(create_app(seeded.config, db, clock=seed_clock), base_url=LOCAL_BASE_URL) as test_client:
        yield test_client


def authed_client(seeded: Seeded, db: Database, **auth: str) -> TestClient:
    """A client of the app with the given credentials configured."""
    app = create_app(seeded.config, db, auth=AuthSettings(**auth), clock=seed_clock)  # type: ignore[arg-type]
    return TestClient(app, base_url=LOCAL_BASE_URL)


@pytest.fixture
def editable(seeded_template: Seeded, tmp_path: Path) -> Editable:
    """A private, writable copy of the seeded demo."""
    return editable_copy(seeded_template, tmp_path)


@pytest.fixture
def app_client(editable: Editable) -> Iterator[TestClient]:
    """The dashboard on the editable copy, without authentication (loopback)."""
    db = Database(editable.database_url)
    with TestClient(create_app(editable.config, db, clock=seed_clock), base_url=LOCAL_BASE_URL) as client:
        yield client
    db.dispose()
