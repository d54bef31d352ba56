"""The spike rule: is a window's count improbably high for its baseline? Pure: counts in, verdicts out.

The series is the number of new distinct stories per UTC hour (hour start -> count, absent hours are
0). Two windows are judged at the end of a complete hour (docs/spikes.md):

- `hour`: that hour against the same hour on each of the previous 7 days;
- `day`: the 24 hours ending with it against the same 24 hours on each of the previous 14 days.

The baseline rate is smoothed, lambda = (sum of baseline counts + 1) / (baseline windows + 1): as if
one more baseline window had seen one story. A zero baseline gives a small positive rate instead of
a division by zero or a certain spike, and a short history weighs the prior more. Baseline windows
that start before the history does (`history_start`: when the store first saw anything) are left
out, since their zeros mean "not watching yet", not "quiet"; with none left there is no verdict.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from monitor.spikes.poisson import poisson_upper_tail

WindowKind = Literal["hour", "day"]
WindowChoice = Literal["hour", "day", "both"]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HOUR_BASELINE_DAYS = 7
DAY_BASELINE_DAYS = 14
DEFAULT_MIN_STORIES = 5
DEFAULT_P_VALUE = 0.001
DEFAULT_GROWTH = 2.0
# The longest look-back a verdict needs: a day window plus its 14 baseline days.
LOOKBACK = DAY * (DAY_BASELINE_DAYS + 1)


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """The thresholds for one entry: a spike is p < `p_value` and at least `min_stories` stories."""

    min_stories: int = DEFAULT_MIN_STORIES
    p_value: float = DEFAULT_P_VALUE
    window: WindowChoice = "both"
    growth: float = DEFAULT_GROWTH  # re-alert a continuing spike once it has grown this many times

    @property
    def kinds(self) -> tuple[WindowKind, ...]:
        """The windows this rule judges."""
        return ("hour", "day") if self.window == "both" else (self.window,)


@dataclass(frozen=True, slots=True)
class SpikeCheck:
    """One window judged: its count, the baseline it was compared with, and the verdict."""

    kind: WindowKind
    start: datetime
    end: datetime
    observed: int
    baseline: tuple[int, ...]  # the count of each baseline window used, most recent first
    rate: float  # the smoothed baseline rate (expected count per window)
    p_value: float  # P(X >= observed | rate)
    spike: bool

    @property
    def usual(self) -> float:
        """The plain mean of the baseline windows (what "usually N" says), 0.0 without any."""
        return sum(self.baseline) / len(self.baseline) if self.baseline else 0.0


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour a moment falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def smoothed_rate(baseline: tuple[int, ...]) -> float:
    """(sum + 1) / (n + 1): the baseline mean pulled towards one story per window, never zero."""
    return (sum(baseline) + 1) / (len(baseline) + 1)


class HourlySeries:
    """Hourly counts with prefix sums: the total of any run of hours in two look-ups.

    A replay judges ~720 hours x 15 baseline days x 24 hours per entry; summing hour by hour made a
    30-day `monitor spikes` over 100 entries take over a minute.
    """

    __slots__ = ("_origin", "_prefix")

    def __init__(self, counts: Mapping[datetime, int]) -> None:
        self._origin = min(counts) if counts else datetime(2000, 1, 1, tzinfo=UTC)
        size = (max(counts) - self._origin) // HOUR + 1 if counts else 0
        values = [0] * size
        for hour, count in counts.items():
            values[(hour - self._origin) // HOUR] += count
        self._prefix = [0, *itertools.accumulate(values)]

    def total(self, start: datetime, hours: int) -> int:
        """The sum of `hours` hourly counts from the hour starting at `start`."""
        last = len(self._prefix) - 1
        first = min(max((start - self._origin) // HOUR, 0), last)
        end = min(max((start - self._origin) // HOUR + hours, 0), last)
        return self._prefix[end] - self._prefix[first]


Counts = Mapping[datetime, int] | HourlySeries
"""Hourly counts: hour start (aware UTC) -> count, absent hours 0; or the same with prefix sums."""


def window_count(counts: Counts, start: datetime, hours: int) -> int:
    """The sum of `hours` hourly counts from `start`."""
    series = counts if isinstance(counts, HourlySeries) else HourlySeries(counts)
    return series.total(start, hours)


def judge(rule: SpikeRule, kind: WindowKind, observed: int, baseline: tuple[int, ...],
          start: datetime, end: datetime) -> SpikeCheck:
    """The verdict for one count against its baseline windows (at least one)."""
    rate = smoothed_rate(baseline)
    p = poisson_upper_tail(observed, rate)
    spike = observed >= rule.min_stories and p < rule.p_value
    return SpikeCheck(kind, start, end, observed, baseline, rate, p, spike)


def check_window(rule: SpikeRule, kind: WindowKind, counts: Counts, hour: datetime,
                 history_start: datetime | None) -> SpikeCheck | None:
    """Judge the `kind` window ending with the hour that starts at `hour`; None without any baseline window."""
    counts = counts if isinstance(counts, HourlySeries) else HourlySeries(counts)
    hours, days = (1, HOUR_BASELINE_DAYS) if kind == "hour" else (24, DAY_BASELINE_DAYS)
    start = hour - HOUR * (hours - 1)
    end = hour + HOUR
    shifts = [start - DAY * k for k in range(1, days + 1)]
    usable = [s for s in shifts if history_start is not None and s >= history_start]
    if not usable:
        return None
    baseline = tuple(window_count(counts, s, hours) for s in usable)
    return judge(rule, kind, window_count(counts, start, hours), baseline, start, end)


def check_hour(rule: SpikeRule, counts: Counts, hour: datetime,
               history_start: datetime | None) -> list[SpikeCheck]:
    """Every window of `rule` judged at the end of the hour starting at `hour` (those with a baseline)."""
    counts = counts if isinstance(counts, HourlySeries) else HourlySeries(counts)
    checks = (check_window(rule, kind, counts, hour, history_start) for kind in rule.kinds)
    return [c for c in checks if c is not None]
