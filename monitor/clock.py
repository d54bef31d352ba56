"""The clock every time stamp comes from: the wall clock, or one a caller injects (tests drive time by hand)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware in UTC."""


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CommandContext:
    """What a caller hands the CLI as click's `obj` (`CliRunner().invoke(main, args, obj=...)`)."""

    clock: Clock = system_clock
