"""`monitor poll [FEED-ID]`: polls now through the feed leases, also while a real `monitor run` is running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import func, select

from monitor.cli import main
from monitor.config import load_config
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow, Feed
from tests.service.support import Monitor, running_farm, wait_for, write_config


def poll(config: Path, *feed_ids: str) -> Result:
    """Run `monitor poll` on the configuration."""
    return CliRunner().invoke(main, ["poll", *feed_ids, "--config", str(config)])


def articles(db: Database) -> int:
    """Articles stored so far."""
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ArticleRow)) or 0)


def last_polled(db: Database, feed_id: str) -> datetime | None:
    """When the feed was last polled."""
    with db.sessions() as session:
        row = session.get(Feed, feed_id)
        return row.last_polled_at if row else None


def test_poll_polls_only_the_named_feeds_then_all(tmp_path: Path, database_url: str) -> None:
    with running_farm() as farm:
        farm.publish(0, "a0", "Hostages freed in Gaza")
        farm.publish(1, "a1", "Weather report")
        config = write_config(tmp_path, database_url, [farm.url(0), farm.url(1)], interval="1h")
        first = poll(config, "feed-0")
        assert first.exit_code == 0, first.output
        assert "feed-0: 200 ok (next poll in 59m)" in first.output or "feed-0: 200 ok (next poll in 1h)" in first.output
        assert "polled 1 feed(s): 1 ok, 0 not modified, 0 error(s); 1 new article(s)" in first.output
        assert "1 match(es), 1 routed" in first.output and "delivered by the running service" in first.output
        assert (len(farm.hits_for(farm.path(0))), len(farm.hits_for(farm.path(1)))) == (1, 0), "only the named feed"

        every = poll(config)
        assert every.exit_code == 0, every.output
        assert "feed-0: 304 ok" in every.output and "feed-1: 200 ok" in every.output
        assert (len(farm.hits_for(farm.path(0))), len(farm.hits_for(farm.path(1)))) == (2, 1)

        unknown = poll(config, "feed-9")
        assert unknown.exit_code == 1
        assert "unknown feed 'feed-9'; feeds in feeds.yaml: feed-0, feed-1" in unknown.output


def test_a_feed_that_fails_is_reported_and_exits_1(tmp_path: Path) -> None:
    with running_farm() as farm:
        config = write_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", [farm.url(5)], interval="1h")
        result = poll(config, "feed-5")  # the farm answers 404 for a feed it does not have
        assert result.exit_code == 1
        assert "feed-5: http_4xx: " in result.output and "answered 404" in result.output and "Traceback" not in result.output


def test_poll_while_monitor_run_is_running(tmp_path: Path, database_url: str) -> None:
    """SQLite: the running service holds the database; the feed is made due and the service polls it.
    PostgreSQL: `monitor poll` takes the feed's lease and polls it itself; the service's deliver tick sends the alert.
    Either way the feed is fetched once more, not twice."""
    sqlite = database_url.startswith("sqlite")
    with running_farm() as farm:
        farm.publish(0, "a0", "Weather report")
        config = write_config(tmp_path, database_url, [farm.url(0)], interval="1h")
        # On PostgreSQL the service's poll tick is made long, so that only `monitor poll` can poll the feed again.
        monitor = Monitor(config, tmp_path / "run.log", env={} if sqlite else {"MONITOR_POLL_TICK": "1h"})
        db = Database(database_url)
        try:
            monitor.wait_started()
            wait_for(lambda: last_polled(db, "feed-0") is not None, 60, "the service's first poll")
            farm.publish(0, "a1", "Hostages freed in Gaza")
            result = poll(config, "feed-0")
            assert result.exit_code == 0, result.output
            if sqlite:
                assert "`monitor run` is running on this SQLite database" in result.output
                assert "1 feed(s) made due now; the service polls them on its next poll tick" in result.output
            else:
                assert "feed-0: 200 ok" in result.output and "1 routed" in result.output
            wait_for(lambda: articles(db) == 2, 60, "the new article to be stored")
            outbox = tmp_path / "outbox"
            wait_for(lambda: list(outbox.glob("*.eml")), 60, "the running service to send the alert")
            assert monitor.stop() == 0, monitor.log()
        finally:
            monitor.kill()
            db.dispose()
        assert len(farm.hits_for(farm.path(0))) == 2, "one poll by the service at start, one more now"
        assert "Traceback" not in monitor.log()


def test_a_feed_leased_by_another_process_is_left_to_it(tmp_path: Path, postgres_url: str) -> None:
    """PostgreSQL: a lease held by a live process (another host's service) is respected."""
    with running_farm() as farm:
        farm.publish(0, "a0", "Hostages freed in Gaza")
        config = write_config(tmp_path, postgres_url, [farm.url(0)], interval="1h")
        db = Database(postgres_url)
        try:
            upgrade(db)
            now = datetime.now(UTC)
            feeds = FeedRepository(db)
            feeds.sync(load_config(config, {}).config.feeds, now)
            assert feeds.claim_due("other-host:4242", now, limit=10, lease=timedelta(minutes=5))
            result = poll(config, "feed-0")
            assert result.exit_code == 1
            assert "feed-0: not polled: another process holds its lease (it is being polled right now)" in result.output
            assert farm.hits_for(farm.path(0)) == [], "not fetched twice"
            with db.sessions() as session:
                row = session.get(Feed, "feed-0")
                assert row is not None and row.lease_owner == "other-host:4242", "the lease stays with its holder"
        finally:
            db.dispose()
