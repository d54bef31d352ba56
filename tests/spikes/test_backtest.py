"""`monitor spikes` over seeded histories, on SQLite and PostgreSQL: which spikes fire, and that each fires once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from monitor.clock import CommandContext
from monitor.store.db import Database
from monitor.usecases.spikes import SpikeEvent, spike_backtest
from tests.spikes.history import NOW, TODAY, add_stories, add_story, config, quiet_history

SURGE = TODAY - timedelta(days=2) + timedelta(hours=10)  # 10:00-10:59 UTC two days ago


def spikes(db: Database, tmp_path: Path, *entries: str, **settings: object) -> list[SpikeEvent]:
    return list(spike_backtest(config(tmp_path, *entries, spikes=settings or None), db, days=14, now=NOW))


def test_a_surge_of_distinct_stories_fires_once_at_its_hour(db: Database, tmp_path: Path) -> None:
    quiet_history(db, "fidan")
    add_stories(db, "fidan", SURGE, 12)
    events = spikes(db, tmp_path, "fidan")
    assert [(e.entry_id, e.at, e.reason) for e in events] == [("fidan", SURGE + timedelta(hours=1), "new")]
    hour, day = events[0].checks
    assert (hour.kind, hour.observed, hour.usual, hour.start) == ("hour", 12, 0.0, SURGE)
    assert (day.kind, day.observed, day.usual) == ("day", 4 + 12, 4.0)
    assert hour.p_value < 1e-10 and events[0].articles == 4 + 12


def test_one_syndicated_story_across_20_outlets_counts_once(db: Database, tmp_path: Path) -> None:
    quiet_history(db, "fidan")
    add_story(db, ["fidan"], SURGE, copies=20, title="Fidan visits Cairo")
    assert spikes(db, tmp_path, "fidan") == []
    add_stories(db, "fidan", SURGE, 5)  # five more distinct stories make it one
    (event,) = spikes(db, tmp_path, "fidan")
    assert [(c.kind, c.observed) for c in event.checks] == [("hour", 6)] and event.articles == 20 + 5
    assert (event.top[0].title, event.top[0].outlets, event.top[0].articles) == ("Fidan visits Cairo", 20, 20)


def test_a_daily_rhythm_does_not_alert_every_morning(db: Database, tmp_path: Path) -> None:
    for day in range(21, -1, -1):
        add_stories(db, "briefing", TODAY - timedelta(days=day) + timedelta(hours=8), 8)
    assert spikes(db, tmp_path, "briefing") == []
    # Against the previous 24 hours instead of the same hour of past days, every morning would be a spike:
    assert spikes(db, tmp_path, "briefing", window="hour", p_value=0.5)  # the check can see mornings


def test_zero_to_two_or_four_is_no_spike(db: Database, tmp_path: Path) -> None:
    quiet_history(db, "other")
    add_stories(db, "rare", SURGE, 2)
    add_stories(db, "scarce", SURGE, 4)
    assert spikes(db, tmp_path, "rare", "scarce") == []
    (event,) = spikes(db, tmp_path, "rare", "scarce", min_stories=4)  # the minimum is what held 0 -> 4 back
    assert event.entry_id == "scarce"


def test_a_continuing_surge_is_not_realerted_and_a_grown_one_is(db: Database, tmp_path: Path) -> None:
    quiet_history(db, "steady")
    quiet_history(db, "growing")
    add_stories(db, "steady", SURGE, 10)
    add_stories(db, "steady", SURGE + timedelta(hours=1), 10)
    add_stories(db, "growing", SURGE, 10)
    add_stories(db, "growing", SURGE + timedelta(hours=1), 25)
    events = spikes(db, tmp_path, "steady", "growing")
    assert [(e.entry_id, e.at - SURGE, e.reason) for e in events] == [
        ("growing", timedelta(hours=1), "new"), ("steady", timedelta(hours=1), "new"),
        ("growing", timedelta(hours=2), "grew"),
    ]


def test_spikes_false_turns_an_entry_off_unless_named(db: Database, tmp_path: Path) -> None:
    quiet_history(db, "fidan")
    add_stories(db, "fidan", SURGE, 12)
    assert list(spike_backtest(config(tmp_path, "fidan", spikes={"enabled": False}), db, days=14, now=NOW)) == []
    named = spike_backtest(config(tmp_path, "fidan", spikes={"enabled": False}), db, days=14, now=NOW, entry="w/fidan")
    assert len(list(named)) == 1


def test_the_command_lists_spikes_as_text_and_json(db: Database, tmp_path: Path) -> None:
    quiet_history(db, "fidan")
    add_stories(db, "fidan", SURGE, 12)
    config_dir = tmp_path / "config"
    (config_dir / "watchlists").mkdir(parents=True)
    (config_dir / "monitor.yaml").write_text(f"database: {db.url}\n", encoding="utf-8")
    (config_dir / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    (config_dir / "subscribers.yaml").write_text("subscribers: []\n", encoding="utf-8")
    (config_dir / "watchlists" / "w.yaml").write_text(
        "name: W\nactors:\n  - id: fidan\n    name: Hakan Fidan\n    spikes: {min_stories: 5}\n", encoding="utf-8")

    def cli(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["spikes", *args, "--config", str(config_dir)],
                                    obj=CommandContext(clock=lambda: NOW))
        return result.exit_code, result.output

    code, out = cli("--days", "14")
    assert code == 0, out
    assert "2026-12-13 11:00 UTC  w/fidan (Hakan Fidan)  spike, 16 article(s)" in out
    assert "last hour: 12 stories, usually 0.0" in out and out.rstrip().endswith("1 spike(s) in the last 14 days (UTC)")
    code, out = cli("--json", "fidan")
    (line,) = out.splitlines()
    assert code == 0 and json.loads(line)["windows"][0]["stories"] == 12
    assert cli("--days", "1")[1].startswith("0 spike(s)")  # the surge is older than a day
    assert cli("--min-stories", "17")[1].startswith("0 spike(s)")
    code, out = cli("nobody")
    assert code == 1 and "no watchlist entry 'nobody'" in out
