"""Several feeds per writer transaction: a savepoint per feed, one commit, failures kept to their feed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, create_engine, func, select
from sqlalchemy.orm import Session

import monitor.refresh.refresh as pipeline
from monitor.model import Article
from monitor.refresh.poll_report import PollSummary
from monitor.refresh.poller import FeedPoller
from monitor.refresh.refresh import Fetched
from monitor.store.db import Database
from monitor.store.rows import ArticleRow, Feed, RoutedItem, Sighting
from monitor.store.snoozes import Snoozes, SnoozesFrom, snoozes_from_in
from monitor.store.sql import begin_writes, insert_ignore
from monitor.store.subscriptions import OptOut
from tests.ingest.test_pipeline_ingest import NOW, Setup, serve
from tests.support.feedserver import FeedServer, Route

QATAR = "Qatar said on Saturday its role as a mediator is frozen."


def _one_transaction(poller: FeedPoller, total: int, calls: list[int]) -> None:
    """Make the poller store every claimed feed in a single `write` call (so a single transaction)."""
    original = poller.writer.write
    poller.writer.writers = 1  # one writer collects every feed
    held: list[Fetched] = []

    def write(batch: list[Fetched], summary: PollSummary) -> None:
        held.extend(batch)
        if len(held) == total:
            calls.append(len(held))
            original(list(held), summary)

    poller.writer.write = write  # type: ignore[method-assign]


def test_a_failing_feed_rolls_back_alone_and_every_lease_is_recorded(
    tmp_path: Path, database_url: str, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        serve(server, f"good{n}", [(f"g{n}", f"Story {n}", f"{QATAR} Item {n}.")])
    serve(server, "bad", [("b1", "Bad story", QATAR)])
    server.routes["/gone.xml"] = Route(b"nope", status=404, content_type="text/plain")
    names = [f"good{n}" for n in range(4)] + ["bad", "gone"]
    setup = Setup(tmp_path, database_url, server, dict.fromkeys(names, False))
    real_save = pipeline.save_articles

    def save(session: Session, feed_id: str, articles: Sequence[Article], now: datetime, **kw: Any) -> Any:
        changes = real_save(session, feed_id, articles, now, **kw)  # written, then must be rolled back
        if feed_id == "bad":
            raise RuntimeError("boom")
        return changes

    monkeypatch.setattr(pipeline, "save_articles", save)
    calls: list[int] = []
    _one_transaction(setup.poller, len(names), calls)
    summary = asyncio.run(setup.poller.poll_due())
    assert calls == [len(names)], "all six feeds went through one call"
    assert summary.feeds == 6 and summary.ok == 4 and summary.new_articles == 4 and summary.matches == 4
    assert summary.errors == 2 and summary.error_kinds == {"internal": 1, "http_4xx": 1}
    with setup.db.sessions() as session:
        rows = {f.id: f for f in session.scalars(select(Feed))}
        assert all(r.lease_owner is None and r.lease_until is None for r in rows.values()), "every lease released"
        assert rows["bad"].error_kind == "internal" and "boom" in (rows["bad"].error_message or "")
        assert rows["bad"].consecutive_errors == 1 and rows["bad"].last_status == 200
        assert rows["gone"].error_kind == "http_4xx" and rows["gone"].consecutive_errors == 1
        assert all(rows[f"good{n}"].error_kind is None and rows[f"good{n}"].poll_count == 1 for n in range(4))
        assert rows["bad"].body_hash is None, "the failed feed is parsed again next time"
        assert session.scalar(select(func.count()).select_from(ArticleRow)) == 4, "nothing of the failed feed"
        assert session.scalar(select(func.count()).select_from(Sighting).where(Sighting.feed_id == "bad")) == 0
        assert session.scalar(select(func.count()).select_from(RoutedItem)) == summary.routed >= 1
    # The next poll: the same bodies (unchanged, recorded without a savepoint), the failed feed stored now.
    monkeypatch.setattr(pipeline, "save_articles", real_save)
    del setup.poller.writer.write  # the class's own again
    setup.poller.feeds.make_all_due(NOW)
    summary = asyncio.run(setup.poller.poll_due())
    assert summary.feeds == 6 and summary.new_articles == 1 and summary.errors == 1
    with setup.db.sessions() as session:
        rows = {f.id: f for f in session.scalars(select(Feed))}
        assert rows["bad"].error_kind is None and rows["bad"].consecutive_errors == 0
        assert all(r.lease_owner is None for r in rows.values())
        assert all(rows[f"good{n}"].poll_count == 2 for n in range(4))
    setup.db.dispose()


def test_savepoints_nest_in_the_transaction_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    meta = MetaData()
    table = Table("t", meta, Column("a", Integer, primary_key=True), Column("b", String))
    meta.create_all(engine)
    with Session(engine) as session:
        with session.begin():
            begin_writes(session, table)
            session.scalar(select(func.count()).select_from(table))
            with session.begin_nested():
                session.execute(table.insert(), [{"b": "x"}])
            # Released, not committed: the outer transaction still decides.
            session.rollback()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(table)) == 0
    engine.dispose()


@pytest.mark.parametrize("sizes", [[1, 2, 3, 7, 2, 1500]])
def test_insert_ignore_counts_inserted_rows(database_url: str, sizes: list[int]) -> None:
    engine = Database(database_url).engine
    meta = MetaData()
    table = Table(
        "ignore_probe", meta, Column("a", Integer, primary_key=True), Column("b", String), UniqueConstraint("b")
    )
    meta.create_all(engine)
    try:
        seen: set[str] = set()
        with Session(engine) as session, session.begin():
            for round_, size in enumerate(sizes):
                # Half the rows repeat earlier ones (or each other): only the new are counted.
                rows = [{"b": f"v{(round_ * 7 + i) // 2}"} for i in range(size)]
                expected = len({r["b"] for r in rows} - seen)
                seen |= {r["b"] for r in rows}
                assert insert_ignore(session, table, rows, conflict=["b"]) == expected
            assert session.scalar(select(func.count()).select_from(table)) == len(seen)
    finally:
        meta.drop_all(engine)
        engine.dispose()


def test_snoozes_and_opt_outs_are_read_once_per_transaction(
    tmp_path: Path, database_url: str, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        serve(server, f"good{n}", [(f"g{n}", f"Story {n}", f"{QATAR} Item {n}.")])
    names = [f"good{n}" for n in range(4)]
    setup = Setup(tmp_path, database_url, server, dict.fromkeys(names, False))
    # A snooze on the entry while the feeds are stored: every feed's route is held back.
    Snoozes(setup.db).snooze_entry("qatar", NOW + timedelta(minutes=5), NOW)
    reads: list[str] = []
    real_snoozes, real_opt_outs = pipeline.snoozes_from_in, pipeline.opted_out_in

    def snoozes_from_in(session: Session, since: datetime) -> SnoozesFrom:
        reads.append("snoozes")
        return real_snoozes(session, since)

    def opted_out_in(session: Session) -> dict[str, OptOut]:
        reads.append("opt-outs")
        return real_opt_outs(session)

    monkeypatch.setattr(pipeline, "snoozes_from_in", snoozes_from_in)
    monkeypatch.setattr(pipeline, "opted_out_in", opted_out_in)
    calls: list[int] = []
    _one_transaction(setup.poller, len(names), calls)
    summary = asyncio.run(setup.poller.poll_due())
    assert calls == [4] and summary.matches == 4
    assert summary.routed == 0, "the snooze held every feed's route"
    assert reads == ["snoozes"], "one read for the four feeds; no route left to check for opt-outs"
    setup.db.dispose()


def test_snoozes_read_once_tell_what_is_in_force_later(db: Database) -> None:
    snoozes = Snoozes(db)
    snoozes.snooze_entry("qatar", NOW + timedelta(minutes=5), NOW)
    with db.transaction() as session:
        read = snoozes_from_in(session, NOW)
    assert read.at(NOW).entries == {(None, "qatar")}
    assert read.at(NOW + timedelta(minutes=4)).entries == {(None, "qatar")}
    assert read.at(NOW + timedelta(minutes=5)).entries == frozenset(), "ended at its `until`"
    with pytest.raises(ValueError, match="cannot tell"):
        read.at(NOW - timedelta(seconds=1))


def test_routing_reads_again_when_the_clock_goes_back_within_a_transaction(
    tmp_path: Path, database_url: str, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = Setup(tmp_path, database_url, server, {})
    Snoozes(setup.db).snooze_entry("qatar", NOW + timedelta(minutes=5), NOW - timedelta(hours=1))
    reads: list[datetime] = []
    real_snoozes = pipeline.snoozes_from_in

    def snoozes_from_in(session: Session, since: datetime) -> SnoozesFrom:
        reads.append(since)
        return real_snoozes(session, since)

    monkeypatch.setattr(pipeline, "snoozes_from_in", snoozes_from_in)
    with setup.db.transaction() as session:
        later = pipeline._holds(session, setup.runtime, NOW + timedelta(minutes=6))
        earlier = pipeline._holds(session, setup.runtime, NOW)  # an injected clock that went back
        again = pipeline._holds(session, setup.runtime, NOW + timedelta(minutes=1))
    assert reads == [NOW + timedelta(minutes=6), NOW], "read again for the earlier time, not for the later one"
    assert not later.snoozed_entries and earlier.snoozed_entries == {(None, "qatar")}
    assert again.snoozed_entries == {(None, "qatar")}
    setup.db.dispose()
