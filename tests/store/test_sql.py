"""The portable SQL helpers: insert-if-new (the SQLite driver path and SQLAlchemy's), on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import DataError, IntegrityError

from monitor.errors import DatabaseUnavailable
from monitor.store.db import Database, database_errors
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow, ClusterKey, MatchRow, RoutedItem, Sighting
from monitor.store.sql import (
    _SQLITE_ROWS_BOUND,
    insert_many,
    insert_new,
    insert_returning_ids,
    select_by_keys,
    select_in,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
_ARTICLES = cast(Table, ArticleRow.__table__)


def _article(article_id: str, published_at: datetime) -> dict[str, Any]:
    return {
        "id": article_id, "guid": None, "url": f"https://{article_id}.test/", "title": f"t {article_id}",
        "summary_html": "", "content_html": "", "summary_text": "s", "content_text": "", "author": "",
        "language": "en", "published_at": published_at, "first_seen_at": NOW, "updated_at": NOW,
        "content_hash": f"h-{article_id}", "first_feed_id": "f", "cluster_id": article_id, "minhash": b"\x01\x02",
    }


def test_insert_new_returns_only_the_rows_it_inserted_with_values_as_given(db: Database) -> None:
    with db.transaction() as session:
        assert insert_new(session, _ARTICLES, [_article("a", NOW - timedelta(hours=1))], conflict=["id"]) == [("a",)]
    # More rows than one SQLite statement binds, one of them already stored and one given twice.
    count = 2 * (_SQLITE_ROWS_BOUND // len(_article("x", NOW))) + 3
    rows = [_article(f"n{i:03d}", NOW - timedelta(minutes=i)) for i in range(count)]
    with db.transaction() as session:
        inserted = insert_new(session, _ARTICLES, [_article("a", NOW), *rows, rows[0]], conflict=["id"])
    assert sorted(inserted) == sorted((row["id"],) for row in rows)
    with db.sessions() as session:
        stored = {r.id: r for r in session.scalars(select(ArticleRow))}
    assert len(stored) == count + 1
    assert stored["a"].published_at == NOW - timedelta(hours=1), "a conflicting row leaves the stored one as it was"
    for row in rows:
        got = stored[row["id"]]
        assert (got.published_at, got.first_seen_at, got.updated_at) == (row["published_at"], NOW, NOW)
        assert (got.minhash, got.cluster_id, got.guid) == (b"\x01\x02", row["id"], None)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database (for the SQLite driver path alone)."""
    database = Database(f"sqlite:///{tmp_path / 'sql.db'}")
    upgrade(database)
    yield database
    database.dispose()


def test_insert_new_on_sqlite_fills_column_defaults_the_rows_leave_out(sqlite_db: Database) -> None:
    # SQLite only: PostgreSQL's unnest statement takes every column from the rows (callers give them all).
    db = sqlite_db
    with db.transaction() as session:
        insert_new(session, _ARTICLES, [_article("a", NOW)], conflict=["id"])
        session.add(MatchRow(article_id="a", watchlist="w", entry_kind="actor", entry_id="e", entry_name="E",
                             highlights=[], snippet="", content_hash="h-a", created_at=NOW))
    with db.sessions() as session:
        match_id = session.scalar(select(MatchRow.id))
    routed = {"subscriber_id": "s", "article_id": "a", "watchlist": "w", "entry_id": "e", "match_id": match_id}
    with db.transaction() as session:  # no created_at: the column's default (now) is used
        inserted = insert_new(session, cast(Table, RoutedItem.__table__), [routed, {**routed, "subscriber_id": "t"}],
                              conflict=("subscriber_id", "article_id", "watchlist", "entry_id"))
    assert sorted(inserted) == [("s", "a", "w", "e"), ("t", "a", "w", "e")]
    with db.sessions() as session:
        assert all(r.created_at is not None for r in session.scalars(select(RoutedItem)))


def test_insert_many_converts_shared_values_once_and_reads_back_the_same(db: Database) -> None:
    with db.transaction() as session:
        insert_new(session, _ARTICLES, [_article("a", NOW), _article("b", NOW)], conflict=["id"])
        earlier = NOW - timedelta(days=1)
        insert_many(session, cast(Table, Sighting.__table__), ("article_id", "feed_id", "first_seen_at", "last_seen_at"),
                    [("a", "f", earlier, NOW), ("b", "f", NOW, NOW)], skip_conflicts_on=("article_id", "feed_id"))
    with db.sessions() as session:
        seen = {s.article_id: (s.first_seen_at, s.last_seen_at) for s in session.scalars(select(Sighting))}
    assert seen == {"a": (earlier, NOW), "b": (NOW, NOW)}


def test_insert_returning_ids_gives_each_row_its_own_id_in_row_order(db: Database) -> None:
    with db.transaction() as session:
        insert_new(session, _ARTICLES, [_article("a", NOW)], conflict=["id"])
    # More rows than one SQLite statement binds: the ids of every chunk, in the order of the rows.
    rows = [{"article_id": "a", "watchlist": "w", "entry_kind": "actor", "entry_id": f"e{i:03d}", "entry_name": f"E{i}",
             "snippet": "", "highlights": [{"n": i}], "more_highlights": i % 3, "content_hash": "h", "created_at": NOW}
            for i in range(2 * (_SQLITE_ROWS_BOUND // 10) + 5)]
    with db.transaction() as session:
        ids = insert_returning_ids(session, cast(Table, MatchRow.__table__), rows)
    assert len(set(ids)) == len(rows)
    with db.sessions() as session:
        stored = {m.id: m for m in session.scalars(select(MatchRow))}
    for match_id, row in zip(ids, rows, strict=True):
        got = stored[match_id]
        assert (got.entry_id, got.highlights, got.more_highlights, got.created_at) == (
            row["entry_id"], row["highlights"], row["more_highlights"], NOW)


def test_select_in_reads_the_rows_of_the_keys_with_values_as_the_orm_gives(db: Database) -> None:
    rows = [_article(f"s{i}", NOW - timedelta(minutes=i)) for i in range(5)]
    with db.transaction() as session:
        insert_new(session, _ARTICLES, rows, conflict=["id"])
    columns = ("id", "published_at", "cluster_id", "minhash")
    with db.sessions() as session:
        found = select_in(session, _ARTICLES, columns, "id", ["s1", "s3", "missing", "s3"])
        orm = session.execute(select(*(_ARTICLES.c[c] for c in columns)).where(_ARTICLES.c.id.in_(["s1", "s3"]))).all()
        assert select_in(session, _ARTICLES, columns, "id", []) == []
    assert sorted(found) == sorted(tuple(r) for r in orm)
    assert {r[0]: r[1] for r in found} == {"s1": NOW - timedelta(minutes=1), "s3": NOW - timedelta(minutes=3)}
    assert all(r[1].tzinfo is not None for r in found), "datetimes come back aware, as the ORM gives them"
    with db.sessions() as session:
        recent = select_in(session, _ARTICLES, ("id",), "id", ["s1", "s3", "s4"],
                           at_least=("published_at", NOW - timedelta(minutes=3)))
    assert sorted(recent) == [("s1",), ("s3",)], "a bound value converted as the column's type does"


def test_a_refused_statement_comes_out_as_sqlalchemys_error_and_rolls_back(db: Database) -> None:
    sightings = cast(Table, Sighting.__table__)
    columns = ("article_id", "feed_id", "first_seen_at", "last_seen_at")
    with db.transaction() as session:
        insert_new(session, _ARTICLES, [_article("a", NOW)], conflict=["id"])
        insert_many(session, sightings, columns, [("a", "f", NOW, NOW)])
    with pytest.raises(IntegrityError), db.transaction() as session:
        insert_new(session, _ARTICLES, [_article("b", NOW)], conflict=["id"])
        insert_many(session, sightings, columns, [("b", "f", NOW, NOW), ("a", "f", NOW, NOW)])  # ("a", "f") again
    with pytest.raises(IntegrityError), db.transaction() as session:
        insert_returning_ids(session, _ARTICLES, [_article("a", NOW)])  # its id again
    with db.sessions() as session:
        assert session.scalars(select(ArticleRow.id)).all() == ["a"], "the failed transactions left nothing"
        assert session.scalar(select(func.count()).select_from(sightings)) == 1


def test_a_closed_sqlite_connection_is_the_databases_trouble_and_leaves_the_pool(sqlite_db: Database) -> None:
    keys = cast(Table, ClusterKey.__table__)
    with sqlite_db.sessions() as session:
        connection = session.connection()
        connection.connection.driver_connection.close()  # type: ignore[union-attr]
        with pytest.raises(DatabaseUnavailable) as failed, database_errors():
            select_by_keys(session, keys, ("key", "article_id"), "key", [1, 2])
        assert failed.value.connection_lost and "closed database" in str(failed.value)
        assert connection.invalidated, "the dead connection is not given back to the pool"
    with sqlite_db.sessions() as session:  # a new connection works
        assert select_by_keys(session, keys, ("key", "article_id"), "key", [1]) == []


def test_a_value_longer_than_its_column_is_never_stored_cut(db: Database) -> None:
    # PostgreSQL refuses it (the arrays are cast to VARCHAR, not VARCHAR(n), which would cut it silently);
    # SQLite keeps it whole (it enforces no length). Either way no stored value differs from the given one.
    with db.transaction() as session:
        insert_new(session, _ARTICLES, [_article("a", NOW)], conflict=["id"])
    long_id = "E" * 250  # matches.entry_id is VARCHAR(200)
    row = {"article_id": "a", "watchlist": "w", "entry_kind": "actor", "entry_id": long_id, "entry_name": "E",
           "snippet": "", "highlights": [], "more_highlights": 0, "content_hash": "h", "created_at": NOW}
    try:
        with db.transaction() as session:
            insert_returning_ids(session, cast(Table, MatchRow.__table__), [row, {**row, "watchlist": "v"}])
    except DataError:
        assert db.engine.dialect.name == "postgresql"
    with db.sessions() as session:
        stored = session.scalars(select(MatchRow.entry_id)).all()
        assert all(entry_id == long_id for entry_id in stored)
        assert select_in(session, _ARTICLES, ("id",), "id", ["a" + "x" * 70]) == [], "no key matched by its prefix"
