"""Storage on SQLite and PostgreSQL: migrations, feed leases, articles and sightings, the outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.models import FeedConfig
from monitor.model import Article, Highlight, Match
from monitor.store.articles import save_articles, save_matches
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.migrate import current_revision, head_revision, upgrade
from monitor.store.outbox import Outbox, add_routed_items
from monitor.store.poll_records import PollOutcome
from monitor.store.rows import ArticleRow

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def article(article_id: str, title: str = "Kalin meets Bar", content_hash: str = "h1") -> Article:
    return Article(
        id=article_id, guid=article_id, url=f"https://news.test/{article_id}", title=title,
        summary_html="<p>text</p>", content_html="", summary_text="text", content_text="", author="",
        published_at=NOW - timedelta(hours=1), language="en", content_hash=content_hash,
    )


MATCH = Match("mena", "actor", "ibrahim-kalin", "Ibrahim Kalin", (Highlight("title", 0, 5, "Kalin"),), "[[Kalin]]")


def test_migrations_reach_head_and_are_idempotent(db: Database) -> None:
    assert current_revision(db) == head_revision(db)
    assert upgrade(db) == head_revision(db)


def test_feed_leases_are_exclusive_and_expire(db: Database) -> None:
    feeds = FeedRepository(db)
    feeds.sync([FeedConfig(url=f"https://news.test/{i}.xml", id=f"f{i}") for i in range(5)], NOW)
    first = feeds.claim_due("a", NOW, limit=3, lease=timedelta(minutes=1))
    second = feeds.claim_due("b", NOW, limit=10, lease=timedelta(minutes=1))
    assert len(first) == 3 and len(second) == 2
    assert not {f.id for f in first} & {f.id for f in second}
    assert feeds.claim_due("c", NOW, limit=10, lease=timedelta(minutes=1)) == []
    later = NOW + timedelta(minutes=2)
    assert len(feeds.claim_due("c", later, limit=10, lease=timedelta(minutes=1))) == 5, "expired leases return"


def test_poll_outcome_recorded_and_removed_feeds_retired(db: Database) -> None:
    feeds = FeedRepository(db)
    feeds.sync([FeedConfig(url="https://news.test/a.xml", id="a"), FeedConfig(url="https://news.test/b.xml", id="b")], NOW)
    claimed = feeds.claim_due("w", NOW, limit=10, lease=timedelta(minutes=1))
    assert len(claimed) == 2
    feeds.record("a", "w", PollOutcome(status=200, next_poll_at=NOW + timedelta(minutes=15), etag='"x"'), NOW)
    feeds.record(
        "b", "w",
        PollOutcome(status=500, next_poll_at=NOW + timedelta(minutes=30), error_kind="http_5xx", error_message="boom"),
        NOW,
    )
    health = {h.id: h for h in feeds.health(NOW)}
    assert health["a"].last_status == 200 and health["a"].consecutive_errors == 0
    assert health["b"].error_kind == "http_5xx" and health["b"].consecutive_errors == 1
    feeds.sync([FeedConfig(url="https://news.test/a.xml", id="a")], NOW)
    assert not {h.id: h for h in feeds.health(NOW)}["b"].active
    assert feeds.claim_due("w", NOW + timedelta(days=1), limit=10, lease=timedelta(minutes=1))[0].id == "a"


def test_article_in_two_feeds_is_one_article_and_updates_are_not_duplicates(db: Database) -> None:
    with db.transaction() as session:
        assert [c.is_new for c in save_articles(session, "feed-a", [article("x1")], NOW)] == [True]
    with db.transaction() as session:
        assert save_articles(session, "feed-b", [article("x1")], NOW) == [], "same content, another feed"
    with db.transaction() as session:
        changes = save_articles(session, "feed-a", [replace(article("x1"), content_hash="h2")], NOW)
        assert [c.is_new for c in changes] == [False], "changed content is an update"
    from sqlalchemy import func, select

    from monitor.store.rows import ArticleRow, Sighting

    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ArticleRow)) == 1
        assert session.scalar(select(func.count()).select_from(Sighting)) == 2


def test_routing_is_once_per_entry_ever_and_leases_keep_ids(db: Database) -> None:
    outbox = Outbox(db)
    for _ in range(2):  # the same match routed twice (re-poll, second feed) is one item
        with db.transaction() as session:
            save_articles(session, "feed-a", [article("x1")], NOW)
            saved = save_matches(session, "x1", "h1", [MATCH], NOW)
            add_routed_items(session, [("desk", "x1", "mena", "ibrahim-kalin", saved[0][0])], NOW)
    ids = outbox.assemble_immediate("desk", "email", NOW)
    assert len(ids) == 1
    assert outbox.assemble_immediate("desk", "email", NOW) == []
    claimed = outbox.claim_due("worker-1", NOW, limit=10, lease=timedelta(minutes=5))
    assert [c.id for c in claimed] == ids
    assert outbox.claim_due("worker-2", NOW, limit=10, lease=timedelta(minutes=5)) == [], "leased"
    # worker-1 dies without a result; after the lease another worker gets the same delivery id
    reclaimed = outbox.claim_due("worker-2", NOW + timedelta(minutes=6), limit=10, lease=timedelta(minutes=5))
    assert [c.id for c in reclaimed] == ids and reclaimed[0].attempts == 2
    outbox.mark_sent(ids[0], "worker-1", NOW, "late")  # a stale owner cannot record a result
    assert outbox.list()[0].status == "pending"
    outbox.mark_sent(ids[0], "worker-2", NOW, "ok")
    assert outbox.list()[0].status == "sent"
    items = outbox.items(ids[0])
    assert [i.article.id for i in items] == ["x1"] and items[0].matches[0].entry_id == "ibrahim-kalin"


def test_one_digest_per_period_and_empty_periods_not_sent(db: Database) -> None:
    outbox = Outbox(db)
    with db.transaction() as session:
        save_articles(session, "feed-a", [article("x1")], NOW)
        saved = save_matches(session, "x1", "h1", [MATCH], NOW)
        add_routed_items(session, [("desk", "x1", "mena", "ibrahim-kalin", saved[0][0])], NOW)
    first = outbox.assemble_digest("desk", "email", "digest@2026-11-24T04:30Z", NOW, send_empty=False)
    again = outbox.assemble_digest("desk", "email", "digest@2026-11-24T04:30Z", NOW, send_empty=False)
    assert first is not None and again is None
    assert outbox.assemble_digest("desk", "email", "digest@2026-11-25T04:30Z", NOW, send_empty=False) is None
    assert outbox.assemble_digest("desk", "email", "digest@2026-11-26T04:30Z", NOW, send_empty=True) is not None
    failed = outbox.claim_due("w", NOW, limit=10, lease=timedelta(minutes=5))
    for delivery in failed:
        outbox.mark_failed(delivery.id, "w", "550 no such user")
    assert {d.status for d in outbox.list(failed_only=True)} == {"failed"}
    assert outbox.requeue(failed[0].id, NOW)
    assert outbox.claim_due("w", NOW, limit=10, lease=timedelta(minutes=5))[0].id == failed[0].id


def test_models_and_migrations_agree(db: Database) -> None:
    """Every model change comes with its migration (autogenerate would find nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.store.rows import Base, in_metadata

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False, "include_name": in_metadata})
        assert compare_metadata(context, Base.metadata) == []


def test_nul_characters_never_reach_the_database(db: Database) -> None:
    # XML forbids NUL, but a raw 0x00 or `&#0;` gets through feedparser's loose parser, and
    # PostgreSQL text cannot hold one: the feed would fail to store on every poll.
    from monitor.parse import parse_feed

    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire&#0;</title><item>'
        b"<title>Kalin&#0; meets Bar</title><description>talks\x00 in Ankara</description>"
        b"<author>desk\x00@news.test</author><guid>nul-1</guid></item></channel></rss>"
    )
    parsed = parse_feed(body, base_url="https://news.test/feed.xml")
    assert parsed.title == "Wire"
    [entry] = parsed.articles
    assert (entry.title, entry.summary_text) == ("Kalin meets Bar", "talks in Ankara")
    with db.transaction() as session:
        assert [c.article.id for c in save_articles(session, "f", parsed.articles, NOW)] == [entry.id]
    with db.sessions() as session:
        stored = session.get(ArticleRow, entry.id)
        assert stored is not None and stored.title == "Kalin meets Bar"


def test_a_new_sqlite_database_has_large_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    # 16 KiB pages for a database the store creates (fewer WAL frames a commit); an existing database's
    # page size cannot change in WAL mode and is left alone. The WAL is checkpointed at ~40 MB either way.
    import sqlite3

    from monitor.store.db import SQLITE_PAGE_SIZE, WAL_CHECKPOINT_BYTES

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as raw:  # made by an older release: SQLite's default pages, WAL
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE t (x)")
    for path, page_size in ((tmp_path / "new.db", SQLITE_PAGE_SIZE), (old, 4096)):
        db = Database(f"sqlite:///{path}")
        upgrade(db)
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == page_size
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_CHECKPOINT_BYTES // page_size
        db.dispose()
