"""next_poll_at: adaptive interval, backoff with jitter, server hints."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.fetch import adaptive_interval, next_poll_at
from monitor.fetch.result import parse_max_age, parse_retry_after

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=15)
MAX = timedelta(hours=6)


def delay(**kw) -> timedelta:
    kw.setdefault("interval", INTERVAL)
    kw.setdefault("max_interval", MAX)
    kw.setdefault("consecutive_errors", 0)
    return next_poll_at(NOW, **kw) - NOW


def test_no_errors_no_history_is_the_interval():
    assert delay() == INTERVAL


def test_backoff_grows_and_caps():
    rng = random.Random(1)
    delays = [delay(consecutive_errors=n, rng=rng) for n in range(0, 20)]
    for n, d in enumerate(delays[1:], start=1):
        full = min(INTERVAL * 2**n, timedelta(hours=24))
        assert full / 2 <= d <= full  # jitter only ever shortens, by at most half
        assert d >= INTERVAL
    assert max(delays) <= timedelta(hours=24)
    assert delays[-1] >= timedelta(hours=12)  # capped, not still growing or wrapped


def test_backoff_cap_follows_a_larger_max_interval():
    d = delay(consecutive_errors=30, max_interval=timedelta(days=3), rng=random.Random(0))
    assert timedelta(days=1.5) <= d <= timedelta(days=3)


def test_jitter_is_seeded_and_spread():
    a = [delay(consecutive_errors=3, rng=random.Random(42)) for _ in range(3)]
    assert a[0] == a[1] == a[2]  # same seed, same answer
    rng = random.Random(7)
    spread = {delay(consecutive_errors=3, rng=rng) for _ in range(50)}
    assert len(spread) > 40
    assert all(INTERVAL * 4 <= d <= INTERVAL * 8 for d in spread)


def test_retry_after_is_respected():
    assert delay(retry_after=3600) == timedelta(hours=1)
    assert delay(retry_after=60) == INTERVAL  # shorter than the interval: the interval wins
    assert delay(retry_after=30 * 86400) == timedelta(days=7)  # absurd values are capped


def test_max_age_and_ttl_are_floors_bounded_by_max_interval():
    assert delay(max_age=1800) == timedelta(minutes=30)
    assert delay(ttl_minutes=60) == timedelta(hours=1)
    assert delay(max_age=365 * 86400) == MAX
    assert delay(max_age=0, ttl_minutes=0) == INTERVAL


def test_adaptive_interval_is_bounded():
    busy = [NOW - timedelta(minutes=i) for i in range(5000)]
    assert adaptive_interval(NOW, interval=INTERVAL, max_interval=MAX, recent_entry_times=busy) == INTERVAL
    daily = [NOW - timedelta(days=i) for i in range(7)]  # 7 a week -> one a day -> capped at 6h
    assert adaptive_interval(NOW, interval=INTERVAL, max_interval=MAX, recent_entry_times=daily) == MAX
    hourly_ish = [NOW - timedelta(hours=i) for i in range(84)]  # 84 a week -> every 2h
    assert adaptive_interval(
        NOW, interval=INTERVAL, max_interval=MAX, recent_entry_times=hourly_ish
    ) == timedelta(hours=2)
    quiet = [NOW - timedelta(days=30)]
    assert adaptive_interval(NOW, interval=INTERVAL, max_interval=MAX, recent_entry_times=quiet) == MAX


@pytest.mark.parametrize("count", [1, 3, 10, 100, 1000, 10000])
def test_next_poll_adaptive_stays_within_bounds(count):
    times = [NOW - timedelta(seconds=i * 604800 / count) for i in range(count)]
    d = delay(recent_entry_times=times)
    assert INTERVAL <= d <= MAX


def test_parse_retry_after():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 01 May 2024 12:10:00 GMT", now=NOW) == 600
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=NOW) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_parse_max_age():
    assert parse_max_age("public, max-age=300") == 300
    assert parse_max_age("s-maxage=10") is None
    assert parse_max_age("no-cache") is None
    assert parse_max_age(None) is None
