"""Time: the clock every time stamp comes from, and what is computed from "now".

The clock is the wall clock, or one a caller injects (tests drive time by hand). Calendar days in the
configured time zone are the windows and day buckets of backtest, the dashboard and its charts:
articles are placed by their publication time (first-seen when the feed gave none; never later than
first-seen, see monitor/store/articles.py) on the calendar of monitor.yaml's `timezone:`. Relative
times ("5m ago") are shared by the command-line tables and the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware in UTC."""


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CommandContext:
    """What a caller hands the CLI as click's `obj` (`CliRunner().invoke(main, args, obj=...)`)."""

    clock: Clock = system_clock

MAX_DAYS = 3650
"""The widest window (`backtest --days`, the query page and the API): ten years."""


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day a moment falls on in `zone`."""
    return moment.astimezone(zone).date()


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The moment (aware, UTC) a calendar day starts in `zone`."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def last_days(now: datetime, days: int, zone: tzinfo) -> list[date]:
    """The last `days` calendar days in `zone`, today included, oldest first."""
    today = local_day(now, zone)
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


@dataclass(frozen=True, slots=True)
class DayWindow:
    """Whole calendar days in a zone: from `start` (inclusive) to `end` (exclusive), both aware UTC."""

    days: list[date]
    start: datetime
    end: datetime


def day_window(now: datetime, days: int, zone: tzinfo) -> DayWindow:
    """The last `days` calendar days in `zone`, today included: what "the last N days" means everywhere."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, not {days}")
    chosen = last_days(now, days, zone)
    return DayWindow(chosen, local_midnight(chosen[0], zone), local_midnight(chosen[-1] + timedelta(days=1), zone))


def days_between(first: date | None, last: date | None, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
    """The moments (UTC) bounding the calendar days `first` to `last` inclusive in `zone`; None leaves a side open.

    A bound at the edge of the calendar (0001-01-01, 9999-12-31) has no moment in every zone: it is left open,
    which is what it means.
    """
    start = end = None
    try:
        start = local_midnight(first, zone) if first else None
    except OverflowError:
        pass
    try:
        end = local_midnight(last + timedelta(days=1), zone) if last else None
    except OverflowError:
        pass
    return start, end


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago (or in how long) a time is: "5m ago", "in 2h", "never"."""
    if value is None:
        return "never"
    seconds = int((value - (now or datetime.now(UTC))).total_seconds())
    future, seconds = seconds > 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = f"{seconds}s"
    return f"in {text}" if future else f"{text} ago"
