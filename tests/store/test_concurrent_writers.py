"""Two writers storing the same story at once (PostgreSQL): one article, two sightings, no feed error."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from monitor.store.articles import ArticleChange, save_articles
from monitor.store.db import Database
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow, ClusterKey, Sighting
from tests.conftest import drop_postgres, postgres_or_skip
from tests.ingest.stories import OTHER, OTHER_TITLE, WIRE, WIRE_TITLE
from tests.ingest.test_clusters import story

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def pg() -> Iterator[Database]:
    url = postgres_or_skip()
    database = Database(url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()
        drop_postgres(url)


def _wait_for_lock_wait(db: Database) -> None:
    """Return once some session of this database waits on a row lock (the second writer's INSERT)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            waiting = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )).scalar()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first one's row")


def test_the_second_writer_of_a_story_records_a_sighting_and_leaves_the_rest_to_the_first(pg: Database) -> None:
    wire = story("wire", WIRE_TITLE, WIRE)
    other = story("other", OTHER_TITLE, OTHER)
    second: list[list[ArticleChange]] = []
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with pg.transaction() as session:
                second.append(save_articles(session, "feed-b", [wire, other], NOW))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with pg.transaction() as session:
        first = save_articles(session, "feed-a", [wire], NOW)
        # Before this transaction commits, the other writer does not see "wire" and tries to insert it.
        thread = threading.Thread(target=second_writer)
        thread.start()
        _wait_for_lock_wait(pg)
    thread.join()
    assert not errors, errors
    assert [c.article.id for c in first] == ["wire"]
    assert [c.article.id for c in second[0]] == ["other"], "only the story it stored itself is its to match"
    with pg.sessions() as session:
        assert sorted(session.scalars(select(ArticleRow.id))) == ["other", "wire"]
        assert sorted(tuple(row) for row in session.execute(select(Sighting.article_id, Sighting.feed_id))) == [
            ("other", "feed-b"), ("wire", "feed-a"), ("wire", "feed-b"),
        ]
        indexed = set(session.scalars(select(ClusterKey.article_id)))
    assert indexed == {"wire", "other"}, "each article's band keys written once, by the writer that stored it"
