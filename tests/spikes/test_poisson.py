"""The Poisson upper tail against values worked by hand (docs/spikes.md, "Worked example")."""

from __future__ import annotations

import math

import pytest

from monitor.spikes import poisson_upper_tail, smoothed_rate


def by_hand(k: int, rate: float) -> float:
    """1 - sum_{i<k} e^-rate rate^i / i!, term by term, as on paper."""
    return 1 - sum(math.exp(-rate) * rate**i / math.factorial(i) for i in range(k))


def test_p_of_12_or_more_at_rate_3_is_the_hand_computed_value() -> None:
    # e^-3 (1 + 3 + 9/2 + 27/6 + ... + 3^11/11!) = 0.99992861337...; 1 - that = 7.1386629e-05 (docs/spikes.md)
    assert poisson_upper_tail(12, 3.0) == pytest.approx(7.138662897e-05, rel=1e-8)


@pytest.mark.parametrize(("k", "rate", "expected"), [
    (1, 1.0, 1 - math.exp(-1)),                      # P(X >= 1) = 1 - P(X = 0)
    (2, 0.125, 1 - math.exp(-0.125) * 1.125),        # 0.0071909846: 0 -> 2 on an empty baseline, not below 0.001
    (5, 0.125, 2.291910213652e-07),                  # 0 -> 5 on an empty hour baseline: a spike
    (8, 4.5, 8.658647164736e-02),                    # a daily rhythm of 8 after one day of history: no spike
    (100, 50.0, 3.200065324585e-10),                 # far above the mean: summed upwards, no cancellation
    (30, 40.0, 9.567713178483e-01),                  # below the mean: one minus the lower tail
])
def test_tail_matches_exact_values(k: int, rate: float, expected: float) -> None:
    assert poisson_upper_tail(k, rate) == pytest.approx(expected, rel=1e-9)
    assert poisson_upper_tail(k, rate) == pytest.approx(by_hand(k, rate), rel=1e-6)


def test_edges() -> None:
    assert poisson_upper_tail(0, 3.0) == 1.0
    assert poisson_upper_tail(1, 0.0) == 0.0
    assert 0 < poisson_upper_tail(500, 1.0) < 1e-300 or poisson_upper_tail(500, 1.0) == 0.0
    with pytest.raises(ValueError):
        poisson_upper_tail(1, -1.0)


def test_smoothed_rate_is_never_zero_and_follows_the_mean() -> None:
    assert smoothed_rate(()) == 1.0
    assert smoothed_rate((0,) * 7) == pytest.approx(1 / 8)
    assert smoothed_rate((3,) * 7) == pytest.approx(22 / 8)
