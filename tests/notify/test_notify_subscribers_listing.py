"""`monitor subscribers` shows each subscriber's cap, mutes, snoozes in force and feed-health flag."""

from __future__ import annotations

import json

from tests.notify.test_notify_flow_harness import Flow, email_subscriber, stories, utc

START = utc(2026, 11, 24, 9, 0)


def test_subscribers_lists_cap_mutes_snoozes_and_feed_health(tmp_path, feed_server) -> None:
    subscribers = [
        email_subscriber("desk", max_alerts_per_hour="20", mute="[mena-security/hostage-talks]"),
        email_subscriber("other"),
        "  - id: ops\n    email: ops@test.example\n    feed_health: true\n",
    ]
    flow = Flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server, subscribers=subscribers,
                feeds={"wire": stories("k1")}, start=START)
    try:
        assert flow.cli("snooze", "ibrahim-kalin", "--for", "4h", "--subscriber", "desk").exit_code == 0
        assert flow.cli("snooze", "mena-security/hostage-talks", "--for", "1h").exit_code == 0  # everyone
        listed = flow.cli("subscribers")
        assert listed.exit_code == 0, listed.output
        header, *_ = listed.output.splitlines()
        assert all(word in header for word in ("cap", "held back", "feed health"))
        desk = next(line for line in listed.output.splitlines() if line.startswith("desk "))
        assert "20/h" in desk and "mute mena-security/hostage-talks" in desk
        assert "snoozed entry ibrahim-kalin until 2026-11-24 13:00 UTC" in desk
        assert "snoozed entry mena-security/hostage-talks until 2026-11-24 10:00 UTC" in desk
        other = next(line for line in listed.output.splitlines() if line.startswith("other "))
        assert "ibrahim-kalin" not in other and "hostage-talks until" in other, "a snooze for everyone shows"
        ops = next(line for line in listed.output.splitlines() if line.startswith("ops "))
        assert " yes " in ops
        rows = {r["id"]: r for r in map(json.loads, flow.cli("subscribers", "--json").output.splitlines())}
        assert rows["desk"]["max_alerts_per_hour"] == 20 and rows["other"]["max_alerts_per_hour"] is None
        assert rows["desk"]["mute"] == ["mena-security/hostage-talks"]
        assert [z["target"] for z in rows["desk"]["snoozes"]] == ["mena-security/hostage-talks", "ibrahim-kalin"]
        assert rows["ops"]["feed_health"] is True and rows["desk"]["feed_health"] is False
        flow.advance(hours=5)  # every snooze has ended
        later = {r["id"]: r for r in map(json.loads, flow.cli("subscribers", "--json").output.splitlines())}
        assert later["desk"]["snoozes"] == []
    finally:
        flow.close()
