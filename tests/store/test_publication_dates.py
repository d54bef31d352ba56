"""Dates mean publication dates: what is stored as published, and `monitor backtest --days` (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import main
from monitor.clock import CommandContext
from monitor.config import load_config
from monitor.config.models import Config
from monitor.model import Article
from monitor.store.articles import save_articles
from monitor.store.db import Database
from monitor.store.rows import ArticleRow

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo, 07:00 in New York
WATCHLIST = """\
name: MENA security
actors:
  - id: ibrahim-kalin
    name: Ibrahim Kalin
    kind: person
    aliases: ["İbrahim Kalın"]
"""


def kalin(article_id: str, published: datetime | None) -> Article:
    """An article about Kalın with a given feed date (None: the feed gave none)."""
    return Article(
        id=article_id, guid=article_id, url=f"https://news.test/{article_id}", title=f"Kalın meets Bar ({article_id})",
        summary_html="", content_html="", summary_text="İbrahim Kalın met Ronen Bar.", content_text="", author="",
        published_at=published, language="en", content_hash=article_id,
    )


def store(db: Database, first_seen: datetime, *articles: Article) -> None:
    """Store articles as a poll at `first_seen` would."""
    with db.transaction() as session:
        save_articles(session, "wire", articles, first_seen, cluster=False)


def published(db: Database) -> dict[str, datetime]:
    with db.sessions() as session:
        return {i: p for i, p in session.execute(select(ArticleRow.id, ArticleRow.published_at))}


def configure(tmp_path: Path, db: Database, timezone: str) -> Path:
    """A configuration directory on the test database, with one watchlist."""
    config_dir = tmp_path / "config"
    (config_dir / "watchlists").mkdir(parents=True, exist_ok=True)
    (config_dir / "monitor.yaml").write_text(f"database: {db.url}\ntimezone: {timezone}\n", encoding="utf-8")
    (config_dir / "feeds.yaml").write_text("feeds:\n  - url: https://news.test/wire.xml\n    id: wire\n",
                                           encoding="utf-8")
    (config_dir / "subscribers.yaml").write_text("subscribers: []\n", encoding="utf-8")
    (config_dir / "watchlists" / "mena.yaml").write_text(WATCHLIST, encoding="utf-8")
    return config_dir


def load(config_dir: Path) -> Config:
    return load_config(config_dir, {}).config


def backtest_cli(config_dir: Path, *args: str, now: datetime = NOW) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["backtest", *args, "--config", str(config_dir)],
                                obj=CommandContext(clock=lambda: now))
    return result.exit_code, result.output


# ------------------------------------------------------------ what is stored as published


def test_published_is_the_feed_date_or_first_seen_and_never_after_first_seen(db: Database) -> None:
    store(db, NOW,
          kalin("dated", NOW - timedelta(days=2)),
          kalin("undated", None),
          kalin("future", NOW + timedelta(days=30)),   # a feed with a wrong clock, or an embargoed item
          kalin("ancient", datetime(1999, 12, 31, 23, 0, tzinfo=UTC)))
    stored = published(db)
    assert stored["dated"] == NOW - timedelta(days=2)
    assert stored["undated"] == NOW, "no date in the feed: first seen"
    assert stored["future"] == NOW, "a date after first seen is clamped to first seen"
    assert stored["ancient"] == datetime(1999, 12, 31, 23, 0, tzinfo=UTC), "an old date is kept: it is old news"

    store(db, NOW + timedelta(hours=1), kalin("undated", None))  # seen again, unchanged
    assert published(db)["undated"] == NOW, "the publication time does not move on a later poll"


# ------------------------------------------------------------ backtest --days


def test_backtest_filters_by_publication_not_first_seen(db: Database, tmp_path: Path) -> None:
    config_dir = configure(tmp_path, db, "UTC")
    # All first seen today: an old article a feed carries today is not news of the last week.
    store(db, NOW,
          kalin("today", NOW - timedelta(hours=3)),
          kalin("five-days", NOW - timedelta(days=5)),
          kalin("forty-days", NOW - timedelta(days=40)),
          kalin("undated", None))
    code, out = backtest_cli(config_dir, "--days", "7", "@ibrahim-kalin")
    assert code == 0, out
    assert "(today)" in out and "(five-days)" in out and "(undated)" in out and "(forty-days)" not in out
    assert "3 article(s) matched among those published in the last 7 days (UTC)" in out
    assert "  2026-11-19      1" in out and "  2026-11-24      2" in out, "counted per publication day"
    code, out = backtest_cli(config_dir, "--days", "41", "@ibrahim-kalin")
    assert "4 article(s) matched" in out and "  2026-10-15      1" in out


def test_backtest_days_are_calendar_days_in_the_configured_zone(db: Database, tmp_path: Path) -> None:
    # 16:00 UTC on the 23rd is 01:00 on the 24th in Tokyo: "today" there, "yesterday" in UTC.
    store(db, NOW, kalin("late-evening", datetime(2026, 11, 23, 16, 0, tzinfo=UTC)),
          kalin("morning", datetime(2026, 11, 24, 6, 0, tzinfo=UTC)))
    utc_dir = configure(tmp_path / "utc", db, "UTC")
    code, out = backtest_cli(utc_dir, "--days", "1", "@ibrahim-kalin")
    assert code == 0, out
    assert "(morning)" in out and "(late-evening)" not in out
    assert "2026-11-24 06:00 UTC  Kalın meets Bar (morning)" in out

    tokyo_dir = configure(tmp_path / "tokyo", db, "Asia/Tokyo")
    code, out = backtest_cli(tokyo_dir, "--days", "1", "@ibrahim-kalin")
    assert code == 0, out
    assert "(morning)" in out and "(late-evening)" in out
    assert "2026-11-24 01:00 JST  Kalın meets Bar (late-evening)" in out, "times in the configured zone"
    assert "2 article(s) matched among those published in the last 1 days (Asia/Tokyo)" in out
    assert "  2026-11-24      2" in out

    # In New York it is 07:00 on the 24th: the 23rd 16:00 UTC is 11:00 there, yesterday.
    ny_dir = configure(tmp_path / "ny", db, "America/New_York")
    code, out = backtest_cli(ny_dir, "--days", "2", "@ibrahim-kalin")
    assert "  2026-11-23      1" in out and "  2026-11-24      1" in out


def test_backtest_with_nothing_in_the_window_says_how_far_back_the_archive_goes(db: Database, tmp_path: Path) -> None:
    config_dir = configure(tmp_path, db, "UTC")
    store(db, NOW, kalin("old", datetime(2024, 11, 19, 8, 0, tzinfo=UTC)))
    code, out = backtest_cli(config_dir, "@ibrahim-kalin")
    assert code == 0, out
    assert "0 article(s) matched among those published in the last 30 days (UTC)" in out
    assert ("1 stored article(s) were published before 2026-10-26 (the oldest on 2024-11-19); "
            "--days 736 includes them") in out
    code, out = backtest_cli(config_dir, "--days", "736", "@ibrahim-kalin")
    assert "1 article(s) matched" in out and "(old)" in out
    code, out = backtest_cli(config_dir, "--days", "735", "@ibrahim-kalin")
    assert "0 article(s) matched" in out


def test_backtest_follows_the_injected_clock_years_ahead(db: Database, tmp_path: Path) -> None:
    """The window moves with the clock: what was this week is, five years on, five years back."""
    config_dir = configure(tmp_path, db, "UTC")
    store(db, NOW, kalin("k1", NOW - timedelta(hours=1)))
    assert "1 article(s) matched" in backtest_cli(config_dir, "--days", "1", "@ibrahim-kalin")[1]
    later = NOW + timedelta(days=5 * 365)
    code, out = backtest_cli(config_dir, "--days", "30", "@ibrahim-kalin", now=later)
    assert code == 0 and "0 article(s) matched" in out and "--days 1826 includes them" in out
    assert "1 article(s) matched" in backtest_cli(config_dir, "--days", "1826", "@ibrahim-kalin", now=later)[1]


@pytest.mark.parametrize("days", ["0", "-3", "3651", "lots"])
def test_backtest_refuses_days_out_of_range(tmp_path: Path, days: str) -> None:
    result = CliRunner().invoke(main, ["backtest", "--days", days, "Kalin", "--config", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--days'" in result.output
    if days.lstrip("-").isdigit():
        assert "1<=x<=3650" in result.output
    assert "Traceback" not in result.output


def test_migration_brings_stored_future_dates_back_to_first_seen(database_url: str) -> None:
    from monitor.store.migrate import upgrade

    db = Database(database_url)
    try:
        upgrade(db, "0005")
        rows = {"future": NOW + timedelta(days=400), "past": NOW - timedelta(days=3), "same": NOW}
        with db.transaction() as session:
            for article_id, when in rows.items():
                session.add(ArticleRow(id=article_id, url=f"https://news.test/{article_id}", published_at=when,
                                       first_seen_at=NOW, updated_at=NOW, content_hash=article_id))
        upgrade(db)
        assert published(db) == {"future": NOW, "past": NOW - timedelta(days=3), "same": NOW}
    finally:
        db.dispose()
