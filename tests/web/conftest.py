"""Fixtures for the dashboard tests: one seeded demo database per test session, copied per test."""

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
from tests.web.seed import Seeded, seed


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The demo pipeline run once into a SQLite database (slow part, done once)."""
    return seed(tmp_path_factory.mktemp("seeded"))


@pytest.fixture
def seeded(seeded_template: Seeded, tmp_path: Path) -> Seeded:
    """A private copy of the seeded database, so tests that write (retry) do not affect each other."""
    source = Path(seeded_template.database_url.removeprefix("sqlite:///"))
    target = tmp_path / "monitor.db"
    shutil.copy(source, target)
    url = f"sqlite:///{target}"
    config = load_config(seeded_template.config_dir, {}).config
    config = config.model_copy(update={"settings": config.settings.model_copy(update={"database": url})})
    return Seeded(seeded_template.config_dir, config, url, seeded_template.failed_delivery_id,
                  seeded_template.hostile_feed_ids)


@pytest.fixture
def db(seeded: Seeded) -> Iterator[Database]:
    """The test's database."""
    database = Database(seeded.database_url)
    yield database
    database.dispose()


@pytest.fixture
def client(seeded: Seeded, db: Database) -> Iterator[TestClient]:
    """A client of the app without authentication (loopback mode)."""
    with TestClient(create_app(seeded.config, db)) as test_client:
        yield test_client


def authed_client(seeded: Seeded, db: Database, **auth: str) -> TestClient:
    """A client of the app with the given credentials configured."""
    return TestClient(create_app(seeded.config, db, auth=AuthSettings(**auth)))  # type: ignore[arg-type]
