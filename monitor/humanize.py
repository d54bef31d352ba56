"""Times for people, shared by the command-line tables and the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime


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
