"""Retention of spike alerting's rows: old alerts go once nothing pending sends them; state of removed entries goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from monitor.service.process import Service
from monitor.store.db import Database
from monitor.store.housekeeping import purge_spikes
from monitor.store.outbox import Outbox
from monitor.store.rows import Delivery, SpikeAlertRow, SpikeStateRow
from monitor.store.spike_state import StoredSpikeState, save_state, spike_for_delivery

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)


def raise_alert(db: Database, entry: str, at: datetime, subscribers: tuple[str, ...] = ("desk",)) -> str:
    """A spike alert raised at `at` for w/<entry>, one delivery per subscriber (email)."""
    alert_id = save_state(db, ("w", entry), expected=StoredSpikeState(), new=StoredSpikeState(active=True),
                          now=at, alert=(at, "new", {"name": entry}), recipients=[(s, "email") for s in subscribers])
    assert isinstance(alert_id, str)
    return alert_id


def deliveries_of(db: Database, alert_id: str) -> list[Delivery]:
    with db.sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.period_key == f"spike:{alert_id}")))


def mark(db: Database, alert_id: str, status: str) -> None:
    with db.transaction() as session:
        session.execute(update(Delivery).where(Delivery.period_key == f"spike:{alert_id}").values(status=status))


def alerts(db: Database) -> set[str]:
    with db.sessions() as session:
        return set(session.scalars(select(SpikeAlertRow.id)))


def states(db: Database) -> set[tuple[str, str]]:
    with db.sessions() as session:
        return {(w, e) for w, e in session.execute(select(SpikeStateRow.watchlist, SpikeStateRow.entry_id))}


def test_old_spike_alerts_go_unless_a_pending_delivery_still_sends_them(db: Database) -> None:
    old_sent = raise_alert(db, "a", NOW - timedelta(days=100))
    old_pending = raise_alert(db, "b", NOW - timedelta(days=100))
    old_resent = raise_alert(db, "c", NOW - timedelta(days=95))
    young = raise_alert(db, "d", NOW - timedelta(days=10))
    for alert_id in (old_sent, old_resent, young):
        mark(db, alert_id, "sent")
    [original] = deliveries_of(db, old_resent)
    resend = Outbox(db).resend(original.id, NOW)  # pending: it renders the original's alert

    removed = purge_spikes(db, CUTOFF, [("w", e) for e in "abcd"])
    assert removed == {"spike_alerts": 1, "spike_state": 0}
    assert alerts(db) == {old_pending, old_resent, young}
    alert = spike_for_delivery(db, resend.id)
    assert alert is not None and alert.id == old_resent

    # Once sent, nothing holds them.
    mark(db, old_pending, "sent")
    with db.transaction() as session:
        session.execute(update(Delivery).where(Delivery.id == resend.id).values(status="sent"))
    assert purge_spikes(db, CUTOFF, [("w", e) for e in "abcd"])["spike_alerts"] == 2
    assert alerts(db) == {young}
    assert purge_spikes(db, CUTOFF, [("w", e) for e in "abcd"]) == {"spike_alerts": 0, "spike_state": 0}


def test_a_failed_delivery_does_not_hold_its_old_alert(db: Database) -> None:
    old = raise_alert(db, "a", NOW - timedelta(days=100), subscribers=("desk", "ops"))
    mark(db, old, "failed")
    assert purge_spikes(db, CUTOFF, [("w", "a")])["spike_alerts"] == 1
    assert alerts(db) == set()


def test_spike_state_of_entries_no_longer_configured_goes(db: Database) -> None:
    for entry in ("a", "b"):
        raise_alert(db, entry, NOW - timedelta(hours=1))
    save_state(db, ("gone", "a"), expected=StoredSpikeState(), new=StoredSpikeState(active=True), now=NOW)
    assert states(db) == {("w", "a"), ("w", "b"), ("gone", "a")}
    removed = purge_spikes(db, CUTOFF, [("w", "a"), ("other", "b")])
    assert removed == {"spike_alerts": 0, "spike_state": 2}
    assert states(db) == {("w", "a")}
    assert len(alerts(db)) == 2, "young alerts stay, whatever their entry"


def test_the_services_housekeeping_applies_the_retention_to_spikes(db: Database, database_url: str,
                                                                   tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "watchlists").mkdir(parents=True)
    (config / "monitor.yaml").write_text(f"database: {database_url}\nretention: 30d\n", encoding="utf-8")
    (config / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    (config / "watchlists" / "w.yaml").write_text(
        "id: w\nname: W\nactors:\n  - id: a\n    name: A\n", encoding="utf-8")
    (config / "subscribers.yaml").write_text("subscribers: []\n", encoding="utf-8")
    old = raise_alert(db, "a", NOW - timedelta(days=31))
    mark(db, old, "sent")
    young = raise_alert(db, "b", NOW - timedelta(days=29))
    service = Service(config, {}, clock=lambda: NOW)
    try:
        service.housekeeping()
    finally:
        service.db.dispose()
    assert alerts(db) == {young}, "31 days is past a retention of 30d"
    assert states(db) == {("w", "a")}, "entry b is not configured any more"
