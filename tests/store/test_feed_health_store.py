"""The feed-health state in the database: compare-and-set per feed, one delivery per operator and tick, housekeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from monitor.feedhealth import Alerted
from monitor.store.db import Database
from monitor.store.feed_health import (
    StateChange,
    feed_health_alerts,
    feed_health_for_delivery,
    load_alerted,
    purge_feed_health,
    save_changes,
)
from monitor.store.rows import Delivery

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FAILING = Alerted(failing_at=NOW)


def failing(feed_id: str) -> StateChange:
    return StateChange(feed_id, Alerted(), FAILING, (("failing", {"feed": {"id": feed_id}}),))


def test_state_moves_only_from_what_was_read_a_tick_is_one_delivery_per_operator_and_housekeeping_keeps_pending(db: Database) -> None:
    raised = save_changes(db, [failing("a"), failing("b")], now=NOW, recipients=[("ops", "email"), ("hook", "webhook")])
    assert sorted(a.feed_id for a in raised) == ["a", "b"] and len({a.batch for a in raised}) == 1
    # A second process that read the state before this write changes nothing and raises nothing.
    assert save_changes(db, [failing("a")], now=NOW, recipients=[("ops", "email")]) == []
    assert load_alerted(db) == {"a": FAILING, "b": FAILING}
    with db.sessions() as session:
        deliveries = session.scalars(select(Delivery).where(Delivery.kind == "feed_health")).all()
        assert sorted((d.subscriber_id, d.channel, d.item_count) for d in deliveries) == [("hook", "webhook", 2),
                                                                                         ("ops", "email", 2)]
    assert [a.feed_id for a in feed_health_for_delivery(db, deliveries[0].id)] == ["a", "b"]
    recovered = save_changes(db, [StateChange("a", FAILING, Alerted(), (("recovered", {}),))],
                             now=NOW + timedelta(hours=1), recipients=[("ops", "email")])
    assert [a.event for a in recovered] == ["recovered"] and load_alerted(db) == {"b": FAILING}
    assert [a.event for a in feed_health_alerts(db, "a")] == ["recovered", "failing"]

    # Housekeeping (one test with the above: a PostgreSQL database each costs seconds): alerts raised before
    # the cutoff go, unless a pending delivery still sends them.
    [pending] = save_changes(db, [failing("c")], now=NOW, recipients=[("ops", "email")])
    with db.transaction() as session:
        for delivery in session.scalars(select(Delivery).where(Delivery.period_key != f"feedhealth:{pending.batch}")):
            delivery.status = "sent"
    assert purge_feed_health(db, NOW + timedelta(minutes=30)) == 2, "the first tick's two, sent"
    assert sorted((a.feed_id, a.event) for a in feed_health_alerts(db)) == [("a", "recovered"), ("c", "failing")]
