"""The rule on hand-made hourly series: windows, baselines, history, thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.spikes import HourlySeries, SpikeRule, check_hour, check_window

H = datetime(2026, 12, 10, 9, tzinfo=UTC)
START = H - timedelta(days=30)


def test_hour_window_compares_the_same_hour_of_the_previous_seven_days() -> None:
    counts = {H - timedelta(days=k): 2 for k in range(1, 8)} | {H: 12, H - timedelta(hours=1): 50}
    check = check_window(SpikeRule(), "hour", counts, H, START)
    assert check is not None
    assert (check.observed, check.baseline, check.start, check.end) == (12, (2,) * 7, H, H + timedelta(hours=1))
    assert check.rate == (14 + 1) / 8 and check.usual == 2.0
    assert check.spike


def test_day_window_is_the_last_24_hours_against_the_previous_14_days() -> None:
    counts = {H - timedelta(hours=h): 1 for h in range(24 * 15)}
    check = check_window(SpikeRule(), "day", counts, H, START)
    assert check is not None
    assert check.observed == 24 and check.baseline == (24,) * 14 and not check.spike
    assert check.start == H - timedelta(hours=23)


def test_min_stories_holds_even_when_the_tail_is_tiny() -> None:
    counts = {H: 4}
    check = check_window(SpikeRule(), "hour", counts, H, START)
    assert check is not None and check.p_value < 1e-4 and not check.spike
    assert check_window(SpikeRule(min_stories=4), "hour", counts, H, START).spike  # type: ignore[union-attr]


def test_p_value_threshold() -> None:
    counts = {H - timedelta(days=k): 3 for k in range(1, 8)} | {H: 9}
    check = check_window(SpikeRule(), "hour", counts, H, START)
    assert check is not None and 0.001 < check.p_value < 0.01 and not check.spike
    assert check_window(SpikeRule(p_value=0.01), "hour", counts, H, START).spike  # type: ignore[union-attr]


def test_baseline_days_before_the_history_are_left_out() -> None:
    counts = {H: 6, H - timedelta(days=1): 6}
    check = check_window(SpikeRule(), "hour", counts, H, H - timedelta(days=1))
    assert check is not None and check.baseline == (6,) and not check.spike
    assert check_window(SpikeRule(), "hour", counts, H, H) is None
    assert check_window(SpikeRule(), "hour", counts, H, None) is None


def test_window_choice() -> None:
    counts = {H: 20}
    assert [c.kind for c in check_hour(SpikeRule(window="both"), counts, H, START)] == ["hour", "day"]
    assert [c.kind for c in check_hour(SpikeRule(window="day"), counts, H, START)] == ["day"]


def test_hourly_series_totals_any_run_of_hours() -> None:
    counts = {H: 3, H + timedelta(hours=2): 4, H - timedelta(hours=5): 1}
    series = HourlySeries(counts)
    assert series.total(H, 1) == 3 and series.total(H, 3) == 7 and series.total(H - timedelta(days=9), 24 * 9) == 1
    assert series.total(H + timedelta(hours=3), 5) == 0 and series.total(H - timedelta(hours=5), 8) == 8
    assert HourlySeries({}).total(H, 24) == 0
