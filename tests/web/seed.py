"""A seeded demo database for the web tests: the bundled demo feeds plus script-injection feeds."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import load_config
from monitor.config.models import Config
from monitor.service.process import Service
from monitor.store.db import Database
from monitor.store.rows import Delivery
from tests.support.corpora import SANITIZE

ROOT = Path(__file__).resolve().parents[2]
# Feed items carrying script, event-handler and iframe vectors; read in place, never copied.
HOSTILE_FEEDS = (
    "entry_content_crazy.xml",
    "entry_title_crazy.xml",
    "entry_content_script_inline.xml",
    "entry_content_iframe.xml",
    "entry_content_onerror.xml",
    "entry_summary_script_map_description.xml",
)
PROBE_WATCHLIST = """\
name: Sanitiser probe
description: Matches the feedparser sanitize corpus items so their snippets show up everywhere
topics:
  - id: hostile-markup
    name: Hostile markup
    query: 'safe OR crazy OR javascript OR execute* OR description'
"""
PROBE_SUBSCRIBER = """
  - id: security-team
    name: Security team
    email: security@demo.example
    watchlists: [sanitizer-probe]
    schedule: immediate
    timezone: UTC
"""
FAILED_ERROR = "550 5.1.1 mailbox unavailable: <mena-desk@demo.example>"
SEED_NOW = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)
"""The clock of the seeded demo and of the app under test: the morning after the demo feeds' newest item
(2024-11-20 15:15 UTC), so "the last 30 days" holds every demo article whatever the date today."""


def seed_clock() -> datetime:
    """The injected clock of the seeded demo and of every app the web tests build on it."""
    return SEED_NOW


@dataclass(frozen=True)
class Seeded:
    """A configuration directory with a database the demo pipeline filled."""

    config_dir: Path
    config: Config
    database_url: str
    failed_delivery_id: str
    hostile_feed_ids: tuple[str, ...]


def hostile_feeds_available() -> bool:
    """True when the shared feedparser corpus is on this machine."""
    return all((SANITIZE / name).is_file() for name in HOSTILE_FEEDS)


def seed(directory: Path, database_url: str | None = None) -> Seeded:
    """Copy the demo configuration, add the hostile feeds, run one cycle, and fail one delivery.

    The database is a SQLite file in `directory` unless `database_url` names another (an empty
    PostgreSQL database, say); the service migrates it and runs the same demo cycle into it.
    """
    config_dir = directory / "config"
    shutil.copytree(ROOT / "config", config_dir)
    database_url = database_url or f"sqlite:///{directory / 'monitor.db'}"
    monitor_yaml = (config_dir / "monitor.yaml").read_text(encoding="utf-8")
    assert "sqlite:///../var/monitor.db" in monitor_yaml, "config/monitor.yaml no longer names the demo database"
    monitor_yaml = monitor_yaml.replace("sqlite:///../var/monitor.db", database_url)
    monitor_yaml = monitor_yaml.replace("outbox_dir: ../var/outbox", f"outbox_dir: {directory / 'outbox'}")
    (config_dir / "monitor.yaml").write_text(monitor_yaml, encoding="utf-8")
    feeds_yaml = (config_dir / "feeds.yaml").read_text(encoding="utf-8")
    feeds_yaml = feeds_yaml.replace("url: ../examples/", f"url: {ROOT / 'examples'}/")
    hostile: list[str] = []
    if hostile_feeds_available():
        for name in HOSTILE_FEEDS:
            feed_id = "sanitize-" + name.removesuffix(".xml").replace("_", "-")
            hostile.append(feed_id)
            feeds_yaml += f"\n  - url: {SANITIZE / name}\n    id: {feed_id}\n    name: Sanitize {name}\n"
        (config_dir / "watchlists" / "sanitizer-probe.yaml").write_text(PROBE_WATCHLIST, encoding="utf-8")
        with (config_dir / "subscribers.yaml").open("a", encoding="utf-8") as subscribers:
            subscribers.write(PROBE_SUBSCRIBER)
    (config_dir / "feeds.yaml").write_text(feeds_yaml, encoding="utf-8")
    env = {"MONITOR_CONFIG": str(config_dir)}
    Service(config_dir, env, clock=seed_clock).run_once()
    db = Database(database_url)
    try:
        with db.transaction() as session:
            delivery = session.scalars(
                select(Delivery).where(Delivery.subscriber_id == "mena-desk").order_by(Delivery.created_at)
            ).first()
            assert delivery is not None, "the demo cycle should have sent at least one delivery"
            delivery.status, delivery.last_error, delivery.attempts = "failed", FAILED_ERROR, 7
            delivery.sent_at = None
            failed_id = delivery.id
    finally:
        db.dispose()
    config = load_config(config_dir, env).config
    return Seeded(config_dir, config, database_url, failed_id, tuple(hostile))


# Runs a test that reads the seeded data once per backend, so the dashboard's SQL is checked on both:
# `pytestmark = BOTH_BACKENDS` in a module, or `@BOTH_BACKENDS` on a test (the `seeded` fixture's parameter).
BOTH_BACKENDS = pytest.mark.parametrize(
    "seeded", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
