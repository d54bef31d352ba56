"""Digest periods: when a subscriber's schedule last fired, in their own time zone (DST-safe)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from monitor.config.models import SubscriberConfig

_MAX_STEPS = 100_000


def trigger_for(subscriber: SubscriberConfig) -> CronTrigger | None:
    """The cron trigger of a digest schedule in the subscriber's zone; None for immediate."""
    if subscriber.schedule.cron is None:
        return None
    return CronTrigger.from_crontab(subscriber.schedule.cron, timezone=subscriber.zone)


def latest_period(subscriber: SubscriberConfig, since: datetime, now: datetime) -> datetime | None:
    """The latest scheduled digest time in (since, now], in UTC; None if the schedule has not fired.

    After an outage several periods may have passed: they collapse into this one catch-up digest.
    """
    trigger = trigger_for(subscriber)
    if trigger is None:
        return None
    latest: datetime | None = None
    cursor = since + timedelta(microseconds=1)
    previous: datetime | None = None
    for _ in range(_MAX_STEPS):
        fire = trigger.get_next_fire_time(previous, cursor)
        if fire is None or fire > now:
            break
        latest = fire
        previous = fire
        cursor = fire + timedelta(microseconds=1)
    return latest.astimezone(UTC) if latest else None


def next_period(subscriber: SubscriberConfig, now: datetime) -> datetime | None:
    """The next scheduled digest time after `now`, in UTC."""
    trigger = trigger_for(subscriber)
    if trigger is None:
        return None
    fire = trigger.get_next_fire_time(None, now)
    return fire.astimezone(UTC) if fire else None


def period_key(period: datetime) -> str:
    """The unique key of a digest period (one digest per subscriber and key, across processes)."""
    return "digest@" + period.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
