"""The retry schedule: 5 s … 24 h with ±20% jitter, Retry-After as a floor, then give up."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from monitor.notify.retry import MAX_ATTEMPTS, SCHEDULE, next_attempt_delay


class Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.value


def test_schedule_without_jitter() -> None:
    delays = [next_attempt_delay(n, retry_after=None, rng=Fixed(0.5)) for n in range(1, 8)]
    assert delays == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                      timedelta(hours=5), timedelta(hours=10), timedelta(hours=24)]
    assert MAX_ATTEMPTS == 8


def test_gives_up_after_the_last() -> None:
    assert next_attempt_delay(len(SCHEDULE) + 1, retry_after=None, rng=random.Random(1)) is None
    assert next_attempt_delay(50, retry_after=10, rng=random.Random(1)) is None


def test_jitter_bounds() -> None:
    rng = random.Random(42)
    for attempt, base in enumerate(SCHEDULE, start=1):
        for _ in range(200):
            delay = next_attempt_delay(attempt, retry_after=None, rng=rng)
            assert delay is not None and base * 0.8 <= delay <= base * 1.2
    low = next_attempt_delay(2, retry_after=None, rng=Fixed(0.0))
    high = next_attempt_delay(2, retry_after=None, rng=Fixed(1.0))
    assert low == timedelta(minutes=4) and high == timedelta(minutes=6)


def test_never_sooner_than_retry_after() -> None:
    assert next_attempt_delay(1, retry_after=120, rng=Fixed(0.5)) == timedelta(seconds=120)
    # A shorter Retry-After does not make us retry earlier than the schedule.
    assert next_attempt_delay(3, retry_after=10, rng=Fixed(0.5)) == timedelta(minutes=30)


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        next_attempt_delay(0, retry_after=None, rng=Fixed(0.5))
