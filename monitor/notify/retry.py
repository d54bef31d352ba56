"""When to try a failed delivery again: the schedule of DESIGN §5 with jitter and Retry-After."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

# Delay after the 1st, 2nd, ... failed attempt; after the last one the delivery fails for good
# (8 attempts over about 42 hours, long enough to ride out a weekend-night outage of a receiver).
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=24),
)
JITTER = 0.2  # ±20%: spreads retries of many deliveries that failed together (one receiver down)
MAX_ATTEMPTS = len(SCHEDULE) + 1


class Random(Protocol):
    """The part of random.Random used here (tests pass a seeded one)."""

    def uniform(self, a: float, b: float) -> float:
        """A float in [a, b]."""
        ...


def next_attempt_delay(attempt: int, *, retry_after: float | None, rng: Random) -> timedelta | None:
    """Delay before retrying after failed attempt number `attempt` (1-based); None means give up."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    if attempt > len(SCHEDULE):
        return None
    base = SCHEDULE[attempt - 1].total_seconds()
    delay = base * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None and retry_after > delay:
        # The receiver said when it can take more; earlier would only fail again.
        delay = retry_after
    return timedelta(seconds=delay)
