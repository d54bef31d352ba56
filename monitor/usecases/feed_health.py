"""The feed-health tick of `monitor run`: judge every feed (monitor/feedhealth/) and raise alerts to operators, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from monitor.config.models import Config
from monitor.feedhealth import Alerted, FeedFacts, HealthEvent, HealthRule, Judgement, hint_for, judge
from monitor.store.coordination import advisory_lock
from monitor.store.db import Database
from monitor.store.feed_health import (
    FEED_HEALTH_LOCK,
    FeedRecord,
    StateChange,
    load_alerted,
    load_feed_records,
    save_changes,
)


@dataclass(frozen=True, slots=True)
class RaisedHealthAlert:
    """A feed-health alert the tick raised: its id, feed, event and how many subscribers it goes to."""

    alert_id: str
    feed_id: str
    event: HealthEvent
    recipients: int


def rule_of(config: Config) -> HealthRule:
    """The thresholds monitor.yaml sets."""
    settings = config.settings
    return HealthRule(failing_after=settings.feed_failing_after, stale_factor=settings.feed_stale_factor,
                      stale_min=settings.feed_stale_min)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else None


def _seconds(value: timedelta | None) -> float | None:
    return round(value.total_seconds()) if value is not None else None


def alert_content(record: FeedRecord, event: HealthEvent, judgement: Judgement, rule: HealthRule,
                  now: datetime) -> dict[str, Any]:
    """What a feed-health delivery shows, as stored with the alert (JSON: times as ISO 8601 UTC, spans in seconds)."""
    facts: FeedFacts = record.facts
    failing = event == "failing"
    return {
        "feed": {"id": facts.feed_id, "name": record.name, "url": record.url},
        "event": event,
        "error_kind": facts.error_kind if failing else None,
        "error_message": record.error_message if failing else None,
        "hint": hint_for(facts.error_kind) if failing else "",
        "failing_since": _iso(facts.failing_since) if failing else None,
        "consecutive_errors": record.consecutive_errors if failing else 0,
        "last_success_at": _iso(record.last_success_at),
        "last_new_item_at": _iso(facts.last_new_item_at),
        "usual_interval_seconds": _seconds(judgement.usual),
        "silent_seconds": _seconds(judgement.silent_for) if event == "stale" else None,
        "failing_after_seconds": _seconds(rule.failing_after),
        "at": _iso(now),
    }


class FeedHealthTicker:
    """The feed-health tick: one judgement per feed; a tick's alerts go to every `feed_health: true` subscriber as one delivery."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def tick(self, config: Config, now: datetime) -> list[RaisedHealthAlert]:
        """Judge every feed; returns the alerts raised (none when another process is at it)."""
        with advisory_lock(self.db, FEED_HEALTH_LOCK, wait=False) as mine:
            if not mine:
                return []
            return self._tick(config, now)

    def _tick(self, config: Config, now: datetime) -> list[RaisedHealthAlert]:
        rule = rule_of(config)
        alerted = load_alerted(self.db)
        recipients = [(s.id, s.channel) for s in config.subscribers if s.feed_health]
        changes: list[StateChange] = []
        seen: set[str] = set()
        for record in load_feed_records(self.db):
            feed_id = record.facts.feed_id
            seen.add(feed_id)
            stored = alerted.get(feed_id, Alerted())
            judgement = judge(record.facts, stored, rule, now)
            if judgement.alerted == stored and not judgement.events:
                continue
            alerts = tuple((event, alert_content(record, event, judgement, rule, now)) for event in judgement.events)
            changes.append(StateChange(feed_id, stored, judgement.alerted, alerts))
        # A feed whose row is gone: forget what was alerted about it.
        changes += [StateChange(feed_id, stored, Alerted()) for feed_id, stored in alerted.items() if feed_id not in seen]
        if not changes:
            return []
        raised = save_changes(self.db, changes, now=now, recipients=recipients)
        return [RaisedHealthAlert(a.id, a.feed_id, cast(HealthEvent, a.event), len(recipients)) for a in raised]
