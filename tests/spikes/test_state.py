"""Once per spike: the state machine across successive ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.spikes import SpikeCheck, SpikeState, WindowKind, step

T = datetime(2026, 12, 10, 9, tzinfo=UTC)


def check(observed: int, spike: bool = True, kind: WindowKind = "hour") -> SpikeCheck:
    return SpikeCheck(kind, T, T + timedelta(hours=1), observed, (0,) * 7, 0.125, 0.0 if spike else 1.0, spike)


def run(ticks: list[list[SpikeCheck]], growth: float = 2.0) -> list[str | None]:
    state, reasons = SpikeState(), []
    for checks in ticks:
        decision = step(state, checks, growth=growth)
        reasons.append(decision.reason)
        state = decision.state
    return reasons


def test_a_continuing_surge_alerts_once() -> None:
    assert run([[check(2, False)], [check(10)], [check(12)], [check(19)], [check(3, False)]]) == [
        None, "new", None, None, None]


def test_a_surge_that_doubles_alerts_again_and_then_measures_from_there() -> None:
    assert run([[check(10)], [check(20)], [check(30)], [check(40)]]) == ["new", "grew", None, "grew"]
    assert run([[check(10)], [check(20)]], growth=3.0) == ["new", None]


def test_a_new_spike_after_the_end_alerts_again() -> None:
    assert run([[check(10)], [check(1, False)], [check(10)]]) == ["new", None, "new"]


def test_a_second_window_joining_the_same_surge_does_not_alert() -> None:
    reasons = run([[check(10), check(12, False, "day")], [check(3, False), check(30, True, "day")],
                   [check(2, False), check(59, True, "day")], [check(2, False), check(60, True, "day")]])
    assert reasons == ["new", None, None, "grew"]


def test_a_window_in_progress_cannot_end_a_spike() -> None:
    state = step(SpikeState(), [check(10)], growth=2.0).state
    held = step(state, [check(1, False)], growth=2.0, complete=False)
    assert held.state == state and not held.alert
    assert step(state, [check(1, False)], growth=2.0).state == SpikeState()
