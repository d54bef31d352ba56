"""Migration 0022: the search queue filled per statement, one articles index fewer; same queue, down and up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import inspect, select

from monitor.model import Article
from monitor.store.articles import save_articles
from monitor.store.db import Database
from monitor.store.migrate import alembic_config, head_revision, upgrade
from monitor.store.rows import SearchPending

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _article(article_id: str, title: str = "Hostage talks resume", content_hash: str = "h") -> Article:
    return Article(
        id=article_id, guid=article_id, url=f"https://news.test/{article_id}", title=title, summary_html="",
        content_html="", summary_text="Negotiators met in Doha.", content_text="", author="",
        published_at=NOW - timedelta(hours=1), language="en", content_hash=content_hash,
    )


def _queue(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(SearchPending.article_id).order_by(SearchPending.seq)))


def _store_feeds(db: Database) -> None:
    """Three feeds: several new articles in one statement, one already stored, one changed."""
    with db.transaction() as session:
        save_articles(session, "f1", [_article(i) for i in ("c", "a", "e", "b")], NOW)
    with db.transaction() as session:
        save_articles(session, "f2", [_article("a"), _article("d"), _article("f")], NOW)
    with db.transaction() as session:
        save_articles(session, "f3", [_article("e", "Talks stall", "h2")], NOW)


def test_new_articles_are_queued_once_in_insert_order(db: Database) -> None:
    _store_feeds(db)
    # Feed order, each new article once; the changed article is queued again by the update trigger.
    assert _queue(db) == ["c", "a", "e", "b", "d", "f", "e"]


def test_published_at_is_indexed_only_by_the_story_index(db: Database) -> None:
    indexes = {index["name"]: index["column_names"] for index in inspect(db.engine).get_indexes("articles")}
    assert "ix_articles_published_at" not in indexes
    assert indexes["ix_articles_published_story"][0] == "published_at"


def test_migration_0022_down_and_up_keeps_the_queue(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db)
        cfg = alembic_config(db)
        with db.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0021")
        assert "ix_articles_published_at" in {i["name"] for i in inspect(db.engine).get_indexes("articles")}
        _store_feeds(db)  # the per-row trigger of 0019 again
        before = _queue(db)
        assert before == ["c", "a", "e", "b", "d", "f", "e"]
        assert upgrade(db) == head_revision(db)
        with db.transaction() as session:
            save_articles(session, "f4", [_article("g"), _article("h")], NOW)
        assert _queue(db) == [*before, "g", "h"]
    finally:
        db.dispose()
