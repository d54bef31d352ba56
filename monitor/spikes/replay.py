"""Run the rule over a stretch of history as the hourly ticks would have, and the series' day totals. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from monitor.spikes.rule import HOUR, HourlySeries, SpikeRule, check_hour, floor_hour
from monitor.spikes.state import Decision, SpikeState, step


@dataclass(frozen=True, slots=True)
class ReplayedAlert:
    """An alert the rule raised at the end of the hour starting at `hour`."""

    hour: datetime
    decision: Decision


def replay(rule: SpikeRule, counts: Mapping[datetime, int], first_hour: datetime, end: datetime,
           history_start: datetime | None, state: SpikeState | None = None) -> Iterator[ReplayedAlert]:
    """The alerts of one tick at the end of every complete hour from `first_hour` up to `end`, oldest first."""
    state = state or SpikeState()
    series = HourlySeries(counts)
    hour = floor_hour(first_hour)
    while hour + HOUR <= end:
        decision = step(state, check_hour(rule, series, hour, history_start), growth=rule.growth)
        if decision.alert:
            yield ReplayedAlert(hour, decision)
        state = decision.state
        hour += HOUR


def daily_counts(counts: Mapping[datetime, int], zone: tzinfo) -> dict[date, int]:
    """Hourly counts summed per calendar day in `zone` (an hour counts on the day it starts)."""
    days: Counter[date] = Counter()
    for hour, count in counts.items():
        days[hour.astimezone(zone).date()] += count
    return dict(days)
