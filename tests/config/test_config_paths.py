"""Relative paths in the configuration resolve against the configuration directory, from any working directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.models import feed_id_from_url
from monitor.config.paths import resolve_database_url, resolve_feed_url


def write_config(directory: Path, monitor_yaml: str, feeds_yaml: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "monitor.yaml").write_text(textwrap.dedent(monitor_yaml), encoding="utf-8")
    (directory / "feeds.yaml").write_text(textwrap.dedent(feeds_yaml), encoding="utf-8")
    return directory


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that is not the configuration's parent."""
    directory = tmp_path / "elsewhere" / "deeper"
    directory.mkdir(parents=True)
    monkeypatch.chdir(directory)
    return directory


def test_relative_settings_and_feeds_resolve_against_the_config_directory(tmp_path: Path, elsewhere: Path) -> None:
    config_dir = write_config(tmp_path / "site" / "config", """
        database: sqlite:///../var/monitor.db
        allow_local_feeds: true
        email:
          outbox_dir: ../var/outbox
          templates_dir: my-templates
    """, """
        feeds:
          - url: ../feeds/local.xml
          - url: file:feeds/other.xml
            id: other
          - url: /srv/feeds/absolute.xml
            id: absolute
          - url: https://example.org/feed
    """)
    site = tmp_path / "site"
    # A relative --config (from the working directory) works the same as an absolute one.
    for given in (config_dir, Path("../../site/config")):
        config = load_config(given, env={}).config
        settings = config.settings
        assert settings.database == f"sqlite:///{site / 'var' / 'monitor.db'}"
        assert settings.email.outbox_dir == site / "var" / "outbox"
        assert settings.email.templates_dir == config_dir / "my-templates"
        local, other, absolute, remote = config.feeds
        assert local.url == str(site / "feeds" / "local.xml")
        assert local.id == feed_id_from_url("../feeds/local.xml"), "the derived id is the written URL's"
        assert other.url == (config_dir / "feeds" / "other.xml").as_uri()
        assert absolute.url == "/srv/feeds/absolute.xml" and remote.url == "https://example.org/feed"
    assert not (elsewhere / "var").exists()


def test_defaults_live_in_the_config_directory(tmp_path: Path, elsewhere: Path) -> None:
    config_dir = write_config(tmp_path / "config", "", "feeds: []\n")
    settings = load_config(config_dir, env={}).config.settings
    assert settings.database == f"sqlite:///{config_dir / 'var' / 'monitor.db'}"
    assert settings.email.outbox_dir == config_dir / "var" / "outbox"
    assert settings.email.templates_dir is None


def test_environment_overrides_resolve_the_same_way(tmp_path: Path, elsewhere: Path) -> None:
    config_dir = write_config(tmp_path / "config", "", "feeds: []\n")
    env = {"MONITOR_DATABASE_URL": "sqlite:///state/db.sqlite", "MONITOR_EMAIL_OUTBOX_DIR": "mail"}
    settings = load_config(config_dir, env=env).config.settings
    assert settings.database == f"sqlite:///{config_dir / 'state' / 'db.sqlite'}"
    assert settings.email.outbox_dir == config_dir / "mail"


@pytest.mark.parametrize("url", [
    "sqlite:////srv/monitor.db", "sqlite:///:memory:", "sqlite://", "sqlite:///file:x.db?mode=ro&uri=true",
    "postgresql+psycopg://user:secret@db.internal/monitor", "postgres://db/monitor", "not a url",
])
def test_other_database_urls_are_left_alone(url: str, tmp_path: Path) -> None:
    assert resolve_database_url(url, tmp_path) == url


def test_a_password_in_a_sqlite_style_url_survives(tmp_path: Path) -> None:
    assert resolve_database_url("sqlite:///rel.db?timeout=5", tmp_path) == f"sqlite:///{tmp_path / 'rel.db'}?timeout=5"


@pytest.mark.parametrize("url", ["https://example.org/feed", "file:///srv/x.xml", "/srv/x.xml", "c:\\feeds\\x.xml"])
def test_absolute_and_remote_feeds_are_left_alone(url: str, tmp_path: Path) -> None:
    assert resolve_feed_url(url, tmp_path) == url
