"""Once per spike: whether a tick's verdicts raise an alert, given what was alerted before. Pure.

An entry is either quiet or in a spike. A spike starts when any of its windows is a spike while the
entry is quiet: that is an alert. While it lasts, the entry is not alerted again unless a window's
count reaches `growth` times (default 2) the count last alerted for that window: "12 stories" then
"24 stories" alert, 12 -> 20 does not. A window that becomes a spike during a spike that another
window started is the same surge: its count is recorded as the one to grow from, without an alert.
The spike ends at the first tick on which no complete window is a spike; the next spike alerts again.

A tick may judge a window still in progress (`complete=False`, the current hour so far): it can start
or grow a spike but not end one, since a partly filled hour is always lower than a full one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from monitor.spikes.rule import SpikeCheck, WindowKind

AlertReason = Literal["new", "grew"]


@dataclass(frozen=True, slots=True)
class SpikeState:
    """What is remembered about one entry between ticks."""

    active: bool = False
    alerted: tuple[tuple[WindowKind, int], ...] = ()  # per window: the count to grow from

    def reference(self, kind: WindowKind) -> int | None:
        """The count last alerted (or recorded) for a window, None when none was."""
        return dict(self.alerted).get(kind)


@dataclass(frozen=True, slots=True)
class Decision:
    """A tick's outcome: the new state and, when there is one, the alert."""

    state: SpikeState
    reason: AlertReason | None = None
    checks: tuple[SpikeCheck, ...] = field(default=())  # the windows that are spikes on this tick

    @property
    def alert(self) -> bool:
        """True when this tick raises an alert."""
        return self.reason is not None


def step(state: SpikeState, checks: Sequence[SpikeCheck], *, growth: float, complete: bool = True) -> Decision:
    """The next state after one tick's checks, and whether to alert."""
    spikes = tuple(c for c in checks if c.spike)
    if not spikes:
        return Decision(SpikeState() if complete else state)
    if not state.active:
        return Decision(SpikeState(True, tuple((c.kind, c.observed) for c in spikes)), "new", spikes)
    alerted = dict(state.alerted)
    grown = False
    for check in spikes:
        reference = alerted.get(check.kind)
        if reference is None:
            alerted[check.kind] = check.observed  # the same surge seen in another window: no alert
        elif check.observed >= growth * reference:
            alerted[check.kind] = check.observed
            grown = True
    new_state = SpikeState(True, tuple(sorted(alerted.items())))
    return Decision(new_state, "grew", spikes) if grown else Decision(new_state, None, spikes)
