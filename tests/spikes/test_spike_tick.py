"""The spike tick of `monitor run`: once per spike across ticks, restarts and processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config.models import Config, SubscriberConfig
from monitor.store.db import Database
from monitor.store.rows import Delivery
from monitor.store.spike_state import load_states, spike_alerts, spike_for_delivery
from monitor.usecases.spikes import SpikeTicker
from tests.spikes.history import TODAY, add_story, config, quiet_history

NOON = TODAY + timedelta(hours=12)


def with_subscribers(cfg: Config, *subscribers: SubscriberConfig) -> Config:
    return cfg.model_copy(update={"subscribers": subscribers})


def subscriber(sid: str, spikes: object = True, **extra: object) -> SubscriberConfig:
    return SubscriberConfig.model_validate({"id": sid, "email": f"{sid}@example.org", "watchlists": ["w"],
                                            "spikes": spikes, **extra})


def surge(db: Database, entry: str, start: datetime, count: int, *, minutes: int = 20) -> None:
    """`count` distinct stories published in the `minutes` after `start`."""
    for i in range(count):
        add_story(db, [entry], start + timedelta(minutes=i * minutes // max(count, 1)), title=f"{entry} story {i}")


def spike_deliveries(db: Database) -> list[tuple[str, str, str]]:
    with db.sessions() as session:
        rows = session.scalars(select(Delivery).where(Delivery.kind == "spike").order_by(Delivery.subscriber_id))
        return [(d.subscriber_id, d.channel, d.period_key or "") for d in rows]


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return with_subscribers(
        config(tmp_path, "fidan", "other"),
        subscriber("desk"), subscriber("fidan-only", ["w/fidan"]), subscriber("other-only", ["w/other"]),
        subscriber("no-spikes", False), subscriber("default"  , False),
    )


def test_a_surge_alerts_once_in_progress_and_not_again_when_its_hour_closes(db: Database, cfg: Config) -> None:
    quiet_history(db, "fidan")
    ticker = SpikeTicker(db)
    assert ticker.tick(cfg, NOON + timedelta(minutes=5)) == []  # a quiet hour so far
    surge(db, "fidan", NOON + timedelta(minutes=6), 12)
    [raised] = ticker.tick(cfg, NOON + timedelta(minutes=30))
    assert (raised.watchlist, raised.entry_id, raised.reason, raised.recipients) == ("w", "fidan", "new", 2)
    assert [(s, c) for s, c, _ in spike_deliveries(db)] == [("desk", "email"), ("fidan-only", "email")]
    for minute in (35, 40, 55, 65, 70, 125):  # the same surge, then its hour judged complete, then later hours
        assert ticker.tick(cfg, NOON + timedelta(minutes=minute)) == [], minute
    [alert] = spike_alerts(db)
    assert alert.reason == "new" and alert.content["name"] == "Fidan" and alert.content["complete"] is False
    hour = alert.content["windows"][0]
    assert (hour["window"], hour["stories"], hour["usual"]) == ("hour", 12, 1.0)  # one story at noon every day
    assert alert.content["top_stories"][0]["title"].startswith("fidan story")
    assert len(spike_deliveries(db)) == 2


def test_a_restart_or_a_second_process_does_not_alert_again(db: Database, cfg: Config) -> None:
    quiet_history(db, "fidan")
    surge(db, "fidan", NOON, 12)
    assert len(SpikeTicker(db).tick(cfg, NOON + timedelta(minutes=30))) == 1
    # A restarted process (or another one): nothing in memory, the state comes from the database.
    assert SpikeTicker(db).tick(cfg, NOON + timedelta(minutes=31)) == []
    assert SpikeTicker(db).tick(cfg, NOON + timedelta(minutes=61)) == []
    assert load_states(db)[("w", "fidan")].active is True
    assert len(spike_alerts(db)) == 1


def test_two_processes_ticking_at_once_raise_one_alert(db: Database, cfg: Config) -> None:
    quiet_history(db, "fidan")
    surge(db, "fidan", NOON, 12)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        ticker = SpikeTicker(db)
        barrier.wait()
        results.append(len(ticker.tick(cfg, NOON + timedelta(minutes=30))))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 1 and len(spike_alerts(db)) == 1 and len(spike_deliveries(db)) == 2


def test_a_spike_that_doubles_alerts_again_and_one_that_ended_alerts_anew(db: Database, cfg: Config) -> None:
    quiet_history(db, "fidan")
    ticker = SpikeTicker(db)
    surge(db, "fidan", NOON, 6)
    [first] = ticker.tick(cfg, NOON + timedelta(minutes=25))
    surge(db, "fidan", NOON + timedelta(minutes=26), 4)  # 10 stories: not twice 6
    assert ticker.tick(cfg, NOON + timedelta(minutes=50)) == []
    surge(db, "fidan", NOON + timedelta(minutes=51), 3, minutes=5)  # 13: more than twice 6
    [grew] = ticker.tick(cfg, NOON + timedelta(minutes=58))
    assert (first.reason, grew.reason) == ("new", "grew")
    # Quiet hours until the day window forgets the surge: the spike ends; a new surge is news again.
    later = NOON + timedelta(days=1, hours=2)
    assert ticker.tick(cfg, later) == []
    assert load_states(db)[("w", "fidan")].active is False
    surge(db, "fidan", later + timedelta(minutes=1), 14)
    [again] = ticker.tick(cfg, later + timedelta(minutes=30))
    assert again.reason == "new" and len(spike_alerts(db)) == 3


def test_spike_deliveries_point_at_their_alert(db: Database, cfg: Config) -> None:
    quiet_history(db, "other")
    surge(db, "other", NOON, 12)
    [raised] = SpikeTicker(db).tick(cfg, NOON + timedelta(minutes=30))
    [(sub_a, _, key_a), (sub_b, _, key_b)] = spike_deliveries(db)
    assert (sub_a, sub_b) == ("desk", "other-only") and key_a == key_b == f"spike:{raised.alert_id}"
    with db.sessions() as session:
        delivery_id = session.scalars(select(Delivery.id).where(Delivery.subscriber_id == "desk")).one()
    alert = spike_for_delivery(db, delivery_id)
    assert alert is not None and alert.id == raised.alert_id and alert.entry_id == "other"


def test_entries_with_spikes_off_and_no_history_raise_nothing(db: Database, tmp_path: Path) -> None:
    surge(db, "fidan", NOON, 12)  # no history before: no baseline, no verdict
    assert SpikeTicker(db).tick(config(tmp_path, "fidan"), NOON + timedelta(minutes=30)) == []
    quiet_history(db, "fidan")
    off = config(tmp_path, "fidan", spikes={"enabled": False})
    assert SpikeTicker(db).tick(off, NOON + timedelta(minutes=31)) == []
    assert spike_alerts(db) == []


def test_subscribers_opt_in_to_spikes() -> None:
    assert subscriber("a", False).wants_spike("w", "x") is False
    assert SubscriberConfig(id="b", email="b@example.org", watchlists=("w",)).spikes is False, "off by default"
    assert subscriber("c", True).wants_spike("w", "x") and not subscriber("c", True).wants_spike("v", "x")
    listed = subscriber("d", ["w/x", "v"])
    assert listed.wants_spike("w", "x") and listed.wants_spike("v", "y") and not listed.wants_spike("w", "y")
    with pytest.raises(ValueError, match="lowercase"):
        subscriber("e", ["W/X"])


def test_spikes_true_follows_single_entries_too() -> None:
    one = SubscriberConfig(id="f", email="f@example.org", watchlists=("w/x",), spikes=True)
    assert one.wants_spike("w", "x") and not one.wants_spike("w", "y")


def test_monitor_check_reports_an_unknown_entry_in_spikes(tmp_path: Path) -> None:
    from monitor.config import load_config
    from monitor.errors import ConfigurationError

    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "w.yaml").write_text("name: W\nactors:\n  - {id: fidan, name: Fidan}\n")
    (tmp_path / "monitor.yaml").write_text("database: sqlite:///m.db\n")
    (tmp_path / "subscribers.yaml").write_text(
        "subscribers:\n  - {id: d, email: d@example.org, watchlists: [w], spikes: [w/fidan, w/fidn]}\n")
    with pytest.raises(ConfigurationError, match="has no actor or topic 'fidn'"):
        load_config(tmp_path, {})
