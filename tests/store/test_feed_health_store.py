"""The feed-health state in the database: compare-and-set per feed, one delivery per operator and alert, housekeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from monitor.feedhealth import Alerted
from monitor.store.db import Database
from monitor.store.feed_health import feed_health_alerts, load_alerted, purge_feed_health, save_alerted
from monitor.store.rows import Delivery

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_state_moves_only_from_what_was_read_and_alerts_go_to_each_operator_once(db: Database) -> None:
    failing = Alerted(failing_at=NOW)
    ids = save_alerted(db, "wire", expected=Alerted(), new=failing, now=NOW,
                       alerts=[("failing", {"feed": {"id": "wire"}})], recipients=[("ops", "email"), ("hook", "webhook")])
    assert ids is not None and len(ids) == 1
    # A second process that read the state before this write changes nothing and raises nothing.
    assert save_alerted(db, "wire", expected=Alerted(), new=failing, now=NOW, alerts=[("failing", {})],
                        recipients=[("ops", "email")]) is None
    assert load_alerted(db) == {"wire": failing}
    with db.sessions() as session:
        deliveries = session.scalars(select(Delivery).where(Delivery.kind == "feed_health")).all()
        assert sorted((d.subscriber_id, d.channel, d.period_key) for d in deliveries) == [
            ("hook", "webhook", f"feedhealth:{ids[0]}"), ("ops", "email", f"feedhealth:{ids[0]}")]
    recovered = save_alerted(db, "wire", expected=failing, new=Alerted(), now=NOW + timedelta(hours=1),
                             alerts=[("recovered", {})], recipients=[("ops", "email")])
    assert recovered is not None and load_alerted(db) == {}, "nothing alerted: no state row"
    assert [a.event for a in feed_health_alerts(db)] == ["recovered", "failing"]


def test_housekeeping_keeps_alerts_a_pending_delivery_still_sends(db: Database) -> None:
    [old] = save_alerted(db, "a", expected=Alerted(), new=Alerted(failing_at=NOW), now=NOW,
                         alerts=[("failing", {})], recipients=[("ops", "email")]) or []
    [sent] = save_alerted(db, "b", expected=Alerted(), new=Alerted(failing_at=NOW), now=NOW,
                          alerts=[("failing", {})], recipients=[("ops", "email")]) or []
    with db.transaction() as session:
        for delivery in session.scalars(select(Delivery).where(Delivery.period_key == f"feedhealth:{sent}")):
            delivery.status = "sent"
    assert purge_feed_health(db, NOW + timedelta(days=1)) == 1
    assert [a.id for a in feed_health_alerts(db)] == [old]
