"""The Poisson upper tail: how surprising a count is for a baseline rate (docs/spikes.md)."""

from __future__ import annotations

import math


def poisson_upper_tail(observed: int, rate: float) -> float:
    """P(X >= observed) for X ~ Poisson(rate): 1.0 for observed <= 0.

    Summed from whichever side has fewer terms and no cancellation: below the mean, one minus the
    lower tail (the lower tail is the small quantity there); above it, the upper terms directly,
    starting at P(X = observed) computed in log space, so tails of 1e-300 are still exact enough.
    """
    if rate < 0 or math.isnan(rate):
        raise ValueError(f"a Poisson rate must be >= 0, not {rate}")
    if observed <= 0:
        return 1.0
    if rate == 0:
        return 0.0
    if observed <= rate:
        term = math.exp(-rate)  # P(X = 0); rate <= observed keeps this loop short
        lower = 0.0
        for i in range(observed):
            lower += term
            term *= rate / (i + 1)
        return max(0.0, 1.0 - lower)
    term = math.exp(observed * math.log(rate) - rate - math.lgamma(observed + 1))  # P(X = observed)
    total = 0.0
    i = observed
    # Above the mean each term shrinks by rate / (i + 1) < 1: stop once they no longer change the sum.
    while term > total * 1e-17:
        total += term
        i += 1
        term *= rate / i
    return min(1.0, total)
