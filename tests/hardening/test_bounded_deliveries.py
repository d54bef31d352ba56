"""Issue 13.2: a flood of matching items makes deliveries of bounded size that are sent, never a stuck one.

Before, one delivery took every pending item: 40,000 matching items left it pending forever on
PostgreSQL ("number of parameters must be between 0 and 65535" while building it, outside any error
handling, so it was re-leased every 5 minutes with no error recorded), and 225k crashed `run --once`
on SQLite. Now a delivery holds at most MAX_ITEMS_PER_DELIVERY articles (the rest go into further
deliveries assembled with it, each saying how many follow), IN lists are bound in chunks, and a
delivery that cannot be built is a recorded failure of that delivery (last_error, attempts, backoff).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from monitor.store.outbox_assembly import MAX_ITEMS_PER_DELIVERY
from monitor.store.rows import ArticleRow, MatchRow, RoutedItem, Sighting
from tests.notify.test_notify_flow_harness import Flow, email_subscriber, stories
from tests.support.feedserver import FeedServer

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FLOOD = 33_000
"""Articles routed at once: with their cluster ids, more values than PostgreSQL binds in one statement."""


def route_generated_articles(session: Session, count: int, subscriber: str, *, first_id: int = 1,
                             schema_0005: bool = False) -> None:
    """`count` stored, matched and routed articles (rows as the pipeline writes them), each its own cluster."""
    ids = [f"gen{n:06d}" for n in range(first_id, first_id + count)]
    when = START - timedelta(hours=1)
    session.execute(insert(ArticleRow), [
        {"id": a, "url": f"https://news.test/{a}", "title": f"Hostage talks, part {a}", "summary_text": "Talks.",
         "published_at": when, "first_seen_at": when, "updated_at": when, "content_hash": "h", "first_feed_id": "wire",
         "cluster_id": a}
        for a in ids
    ])
    session.execute(insert(Sighting), [
        {"article_id": a, "feed_id": "wire", "first_seen_at": when, "last_seen_at": when} for a in ids
    ])
    matches = [
        {"id": n, "article_id": a, "watchlist": "mena-security", "entry_kind": "topic", "entry_id": "hostage-talks",
         "entry_name": "Hostage talks", "highlights": "[]", "snippet": "[[Hostage]] talks", "content_hash": "h",
         "created_at": when}
        for n, a in enumerate(ids, start=first_id)
    ]
    if schema_0005:  # before migration 0006: no more_highlights column to fill (or to default)
        columns = ", ".join(matches[0])
        session.execute(text(f"INSERT INTO matches ({columns}) VALUES ({', '.join(':' + c for c in matches[0])})"),
                        [{**m, "created_at": when.replace(tzinfo=None)} for m in matches])
    else:
        session.execute(insert(MatchRow), [{**m, "highlights": [], "more_highlights": 0} for m in matches])
    session.execute(insert(RoutedItem), [
        {"subscriber_id": subscriber, "article_id": a, "watchlist": "mena-security", "entry_id": "hostage-talks",
         "match_id": n, "created_at": when}
        for n, a in enumerate(ids, start=first_id)
    ])


def emails(outbox: Path) -> list[EmailMessage]:
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(outbox.glob("*.eml"))]


def test_a_flood_of_matching_items_is_sent_in_bounded_deliveries(
    tmp_path: Path, database_url: str, feed_server: FeedServer
) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": []}, start=START)
    try:
        with flow.db.transaction() as session:
            route_generated_articles(session, FLOOD, "desk")
        parts = -(-FLOOD // MAX_ITEMS_PER_DELIVERY)

        assert flow.worker.assemble() == parts
        deliveries = flow.deliveries()
        assert len(deliveries) == parts
        assert max(d.item_count for d in deliveries) == MAX_ITEMS_PER_DELIVERY
        assert sum(d.item_count for d in deliveries) == FLOOD
        # Each says how many articles follow it: FLOOD - 100, FLOOD - 200, ..., 0.
        assert sorted(d.more_items for d in deliveries) == sorted(
            FLOOD - MAX_ITEMS_PER_DELIVERY * (n + 1) for n in range(parts))
        with flow.db.sessions() as session:
            per_delivery = Counter(session.scalars(select(RoutedItem.delivery_id)))
        assert None not in per_delivery and max(per_delivery.values()) == MAX_ITEMS_PER_DELIVERY

        # Send a few (the service sends them all, tick after tick); a stop gives the rest of the batch back.
        outbox = tmp_path / "outbox"
        summary = flow.worker.send_due(stop=lambda: len(list(outbox.glob("*.eml"))) >= 3)
        assert (summary.sent, summary.retried, summary.failed) == (3, 0, 0)
        by_id = {d.id: d for d in flow.deliveries()}
        for message in emails(outbox):
            delivery = by_id[str(message["X-Monitor-Delivery"])]
            assert delivery.status == "sent"
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert text.count("https://news.test/gen") == MAX_ITEMS_PER_DELIVERY
            if delivery.more_items:
                assert f"... and {delivery.more_items} more articles: they follow in the next alert." in text
            assert len(message.as_bytes()) < 512 * 1024
        rest = [d for d in by_id.values() if d.status == "pending"]
        assert len(rest) == parts - 3
        assert all(d.lease_owner is None and d.attempts == 0 and d.last_error is None for d in rest)
    finally:
        flow.close()


def test_a_digest_of_a_flood_is_sent_in_parts(tmp_path: Path, database_url: str, feed_server: FeedServer) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("daily", "cron '0 9 * * *'")],
                feeds={"wire": []}, start=START)
    try:
        with flow.db.transaction() as session:
            route_generated_articles(session, 250, "daily")
        created = flow.outbox.assemble_digest("daily", "email", "digest@2026-11-24T09:00Z", START, send_empty=False)
        assert created is not None
        parts = {d.period_key: (d.item_count, d.more_items) for d in flow.deliveries()}
        assert parts == {"digest@2026-11-24T09:00Z": (100, 150), "digest@2026-11-24T09:00Z+2": (100, 50),
                         "digest@2026-11-24T09:00Z+3": (50, 0)}
        # The same period again (another process, a catch-up): nothing new.
        assert flow.outbox.assemble_digest("daily", "email", "digest@2026-11-24T09:00Z", START, send_empty=False) is None
        assert flow.worker.send_due().sent == 3
        texts = [m.get_body(("plain",)).get_content() for m in emails(tmp_path / "outbox")]  # type: ignore[union-attr]
        assert sorted(t.count("https://news.test/gen") for t in texts) == [50, 100, 100]
        assert sum("they follow in the next part of this digest" in t for t in texts) == 2
    finally:
        flow.close()


def test_a_delivery_that_cannot_be_built_is_a_recorded_failure_not_a_crashed_tick(
    tmp_path: Path, database_url: str, feed_server: FeedServer
) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1")}, start=START)
    try:
        flow.poll()
        # A stored match this code cannot read (say, written by a newer version): building the delivery fails.
        with flow.db.transaction() as session:
            session.execute(update(MatchRow).values(highlights=[{"field": "body", "from": 1}]))
        summary = flow.deliver()  # before: TypeError out of the tick, the delivery leased and silent
        assert (summary.sent, summary.retried, summary.failed) == (0, 1, 0)
        [delivery] = flow.deliveries()
        assert delivery.status == "pending" and delivery.attempts == 1 and delivery.lease_owner is None
        assert "could not build the delivery: TypeError" in (delivery.last_error or "")
        assert delivery.next_attempt_at > flow.now, "retried with backoff"
        listed = flow.cli("deliveries", "--json")
        assert listed.exit_code == 0, listed.output
        [row] = [json.loads(line) for line in listed.output.splitlines() if line.startswith("{")]
        assert row["id"] == delivery.id and "could not build the delivery" in row["last_error"]

        # Repaired, it goes out at its retry time, with the same id.
        with flow.db.transaction() as session:
            session.execute(update(MatchRow).values(highlights=[]))
        flow.now = delivery.next_attempt_at
        assert flow.deliver().sent == 1
        [sent] = flow.deliveries()
        assert sent.id == delivery.id and sent.status == "sent"
    finally:
        flow.close()


def test_pending_deliveries_assembled_before_the_cap_are_split_by_the_migration(
    tmp_path: Path, database_url: str, feed_server: FeedServer
) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": []}, start=START)
    try:
        from alembic import command

        from monitor.store.migrate import alembic_config, upgrade

        cfg = alembic_config(flow.db)
        with flow.db.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0005")
        with flow.db.transaction() as session:
            route_generated_articles(session, 250, "desk", schema_0005=True)
            session.execute(text(
                "INSERT INTO deliveries (id, subscriber_id, channel, kind, status, attempts, next_attempt_at, "
                "created_at, item_count) VALUES ('dlv_old', 'desk', 'email', 'alert', 'pending', 3, :t, :t, 250)"
            ), {"t": START.replace(tzinfo=None)})
            session.execute(update(RoutedItem).values(delivery_id="dlv_old"))
        upgrade(flow.db)
        [old] = flow.deliveries()
        assert (old.item_count, old.status, old.attempts) == (MAX_ITEMS_PER_DELIVERY, "pending", 3)
        assert flow.worker.assemble() == 2, "the other 150 articles are assembled again"
        assert sorted(d.item_count for d in flow.deliveries()) == [50, 100, 100]
    finally:
        flow.close()
