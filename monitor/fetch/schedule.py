"""The next-poll policy: adaptive interval, backoff with jitter, and server hints (pure, no I/O)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

WEEK = timedelta(days=7)
ERROR_BACKOFF_CAP = timedelta(hours=24)
"""Backoff never exceeds max(max_interval, this): a broken feed is still tried daily."""
RETRY_AFTER_CAP = timedelta(days=7)
"""An explicit Retry-After is honoured up to this; beyond it a server is more likely wrong than serious."""


def adaptive_interval(
    now: datetime, *, interval: timedelta, max_interval: timedelta, recent_entry_times: Sequence[datetime] = ()
) -> timedelta:
    """The polling interval suggested by how often the feed publishes (Miniflux's entry-frequency idea).

    With n entries published in the last 7 days the feed is polled every
    7d/n, clamped to [interval, max_interval]. With entries but none in the
    last week the feed is quiet: max_interval. With no entries at all we have
    no evidence (a new or empty feed) and keep the configured interval.
    Times in the future (clock skew) count as recent.
    """
    high = max(interval, max_interval)
    if not recent_entry_times:
        return interval
    since = now - WEEK
    count = sum(1 for t in recent_entry_times if t >= since)
    if count == 0:
        return high
    return min(max(WEEK / count, interval), high)


def backoff_delay(
    base: timedelta,
    *,
    consecutive_errors: int,
    max_interval: timedelta,
    rng: random.Random | None = None,
) -> timedelta:
    """base * 2**errors, capped at max(max_interval, 24h), then jittered down by up to half.

    Jitter in [d/2, d] spreads feeds of one failed host apart without ever
    polling sooner than the no-error base (d/2 >= base once errors >= 1).
    """
    if consecutive_errors <= 0:
        return base
    cap = max(max_interval, ERROR_BACKOFF_CAP, base)
    exponent = min(consecutive_errors, 32)  # 2**32 * any interval is far past the cap already
    delay = min(base * (2**exponent), cap)
    factor = (rng or random).uniform(0.5, 1.0)
    return max(delay * factor, base)


def next_poll_at(
    now: datetime,
    *,
    interval: timedelta,
    max_interval: timedelta,
    consecutive_errors: int,
    retry_after: float | None = None,
    max_age: float | None = None,
    ttl_minutes: int | None = None,
    recent_entry_times: Sequence[datetime] = (),
    rng: random.Random | None = None,
) -> datetime:
    """When to poll a feed next, given its history and what the server said.

    1. base = adaptive_interval(...): [interval, max_interval] by publishing rate.
    2. On errors, backoff_delay(...): exponential with jitter, capped at
       max(max_interval, 24h).
    3. Never sooner than the server's hints: Retry-After (up to 7 days),
       Cache-Control max-age and RSS <ttl>. The last two are freshness hints
       and count only up to max_interval, so a CDN's max-age=31536000 cannot
       stop a feed from being polled.
    `now` and `recent_entry_times` must both be aware (or both naive).
    """
    high = max(interval, max_interval)
    base = adaptive_interval(
        now, interval=interval, max_interval=high, recent_entry_times=recent_entry_times
    )
    delay = backoff_delay(base, consecutive_errors=consecutive_errors, max_interval=high, rng=rng)
    floors = [delay]
    if retry_after is not None and retry_after > 0:
        floors.append(min(timedelta(seconds=retry_after), RETRY_AFTER_CAP))
    if max_age is not None and max_age > 0:
        floors.append(min(timedelta(seconds=max_age), high))
    if ttl_minutes is not None and ttl_minutes > 0:
        floors.append(min(timedelta(minutes=ttl_minutes), high))
    return now + max(floors)
