"""Retention and the cluster-key migration: nothing an article owned outlives it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import select, text

from monitor.store.articles import save_articles
from monitor.store.db import Database
from monitor.store.housekeeping import purge_older_than
from monitor.store.migrate import alembic_config, head_revision, upgrade
from monitor.store.rows import ArticleRow, ClusterKey, Sighting
from tests.ingest.stories import OTHER, OTHER_TITLE, WIRE, WIRE_TITLE
from tests.ingest.test_clusters import story

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _keys(db: Database) -> dict[str, int]:
    with db.sessions() as session:
        counts: dict[str, int] = {}
        for article_id in session.scalars(select(ClusterKey.article_id)):
            counts[article_id] = counts.get(article_id, 0) + 1
        return counts


def test_purge_deletes_old_articles_with_their_sightings_and_band_keys(db: Database) -> None:
    with db.transaction() as session:
        save_articles(session, "f", [story("old", WIRE_TITLE, WIRE)], NOW - timedelta(days=100))
        save_articles(session, "f", [story("new", OTHER_TITLE, OTHER)], NOW)
    assert set(_keys(db)) == {"old", "new"}
    with db.sessions() as session:  # sightings are written through the driver: times must read back as written
        seen = {s.article_id: (s.first_seen_at, s.last_seen_at) for s in session.scalars(select(Sighting))}
    assert seen == {"old": (NOW - timedelta(days=100),) * 2, "new": (NOW,) * 2}
    removed = purge_older_than(db, NOW - timedelta(days=90))
    assert removed["articles"] == 1
    with db.sessions() as session:
        assert list(session.scalars(select(ArticleRow.id))) == ["new"]
        assert list(session.scalars(select(Sighting.article_id))) == ["new"]
    assert set(_keys(db)) == {"new"}, "the purged article's band keys went with it"


def _wire_story_stored(db: Database) -> dict[str, int]:
    """Migrate, store one wire story, and return its band keys' count by article."""
    upgrade(db)
    with db.transaction() as session:
        save_articles(session, "f", [story("a", WIRE_TITLE, WIRE)], NOW)
    return _keys(db)


def _downgrade(db: Database, revision: str) -> None:
    cfg = alembic_config(db)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def test_cluster_key_migrations_keep_the_keys_down_and_up(database_url: str) -> None:
    db = Database(database_url)
    try:
        before = _wire_story_stored(db)
        assert before["a"] > 0
        _downgrade(db, "0003")  # back to a foreign key and an article_id index
        assert _keys(db) == before
        assert upgrade(db) == head_revision(db)
        assert _keys(db) == before
        # No foreign key any more: a key whose article is gone is allowed (and harmless).
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO cluster_keys (key, article_id) VALUES (9, 'gone')"))
        with db.sessions() as session:
            assert session.scalar(select(ArticleRow.minhash).where(ArticleRow.id == "a")) is None, "stored before 0005"
    finally:
        db.dispose()


def test_row_id_migration_keeps_the_keys_and_makes_a_pair_stored_twice_one_row(database_url: str) -> None:
    db = Database(database_url)
    try:
        before = _wire_story_stored(db)
        with db.engine.begin() as connection:  # allowed since 0021 (no uniqueness), and harmless
            connection.execute(text("INSERT INTO cluster_keys (key, article_id) SELECT key, article_id FROM cluster_keys"))
        assert _keys(db) == {"a": 2 * before["a"]}
        _downgrade(db, "0020")  # back to the (key, article_id) primary key
        assert _keys(db) == before
        assert upgrade(db) == head_revision(db)
        assert _keys(db) == before
    finally:
        db.dispose()
