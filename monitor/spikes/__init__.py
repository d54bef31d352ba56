"""Spike detection: the volume rule (Poisson tail and minimum count) and once-per-spike alerting. Pure.

No I/O and no imports of other monitor packages: the store computes the hourly series
(monitor/store/volume.py), the use case feeds it here (monitor/usecases/spikes.py). See docs/spikes.md.
"""

from monitor.spikes.poisson import poisson_upper_tail
from monitor.spikes.replay import ReplayedAlert, daily_counts, replay
from monitor.spikes.rule import (
    LOOKBACK,
    Counts,
    HourlySeries,
    SpikeCheck,
    SpikeRule,
    WindowChoice,
    WindowKind,
    check_hour,
    check_window,
    floor_hour,
    smoothed_rate,
)
from monitor.spikes.state import AlertReason, Decision, SpikeState, step

__all__ = [
    "LOOKBACK", "AlertReason", "Counts", "HourlySeries", "Decision", "ReplayedAlert", "SpikeCheck", "SpikeRule", "SpikeState", "WindowChoice", "WindowKind",
    "check_hour", "check_window", "daily_counts", "floor_hour", "poisson_upper_tail", "replay", "smoothed_rate",
    "step",
]
