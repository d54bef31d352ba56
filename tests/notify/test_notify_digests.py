"""Digest periods in the subscriber's zone, across DST changes, with one catch-up after an outage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.config.models import SubscriberConfig
from monitor.notify.digests import latest_period, next_period, period_key
from monitor.notify.routing import Router


def subscriber(schedule: str, timezone: str) -> SubscriberConfig:
    return SubscriberConfig(id="s", email="s@example.org", watchlists=("mena",), schedule=schedule, timezone=timezone)


def test_daily_in_istanbul_is_utc_plus_three() -> None:
    sub = subscriber("daily 07:30", "Europe/Istanbul")
    assert next_period(sub, datetime(2026, 11, 24, 0, 0, tzinfo=UTC)) == datetime(2026, 11, 24, 4, 30, tzinfo=UTC)


def test_daily_in_new_york_follows_the_dst_change() -> None:
    sub = subscriber("daily 07:30", "America/New_York")
    # 2026-11-01 02:00 EDT -> EST: 07:30 local is 11:30Z the day before, 12:30Z after.
    before = latest_period(sub, datetime(2026, 10, 31, 0, 0, tzinfo=UTC), datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
    after = latest_period(sub, datetime(2026, 11, 1, 0, 0, tzinfo=UTC), datetime(2026, 11, 1, 23, 0, tzinfo=UTC))
    assert before == datetime(2026, 10, 31, 11, 30, tzinfo=UTC)
    assert after == datetime(2026, 11, 1, 12, 30, tzinfo=UTC)


def test_an_outage_collapses_into_one_catch_up_period() -> None:
    sub = subscriber("hourly", "UTC")
    since = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    latest = latest_period(sub, since, since + timedelta(hours=5, minutes=10))
    assert latest == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    assert period_key(latest) == "digest@2026-11-24T13:00Z"
    assert latest_period(sub, latest, latest + timedelta(minutes=59)) is None


def test_weekly_and_cron() -> None:
    weekly = subscriber("weekly mon 08:00", "Europe/Berlin")
    assert next_period(weekly, datetime(2026, 11, 24, tzinfo=UTC)) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    cron = subscriber('cron "15 6 * * 1-5"', "UTC")
    assert next_period(cron, datetime(2026, 11, 28, tzinfo=UTC)) == datetime(2026, 11, 30, 6, 15, tzinfo=UTC)


def test_router_follows_lists_and_single_entries_once() -> None:
    router = Router([
        SubscriberConfig(id="a", email="a@x.org", watchlists=("mena", "mena/hostage-talks")),
        SubscriberConfig(id="b", email="b@x.org", watchlists=("mena/hostage-talks",)),
    ])
    assert router.subscribers_for("mena", "hostage-talks") == ["a", "b"]
    assert router.subscribers_for("mena", "ibrahim-kalin") == ["a"]
    assert router.subscribers_for("energy", "lng") == []


def test_cron_weekdays_count_from_sunday_as_in_standard_cron() -> None:
    sunday = datetime(2026, 11, 29, 6, 15, tzinfo=UTC)
    for expr in ('cron "15 6 * * 0"', 'cron "15 6 * * 7"', 'cron "15 6 * * sun"'):
        assert next_period(subscriber(expr, "UTC"), datetime(2026, 11, 28, 7, 0, tzinfo=UTC)) == sunday, expr
