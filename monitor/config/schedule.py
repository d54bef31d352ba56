"""Subscriber schedules: immediate | hourly | daily HH:MM | weekly DAY HH:MM | cron "m h dom mon dow"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed schedule; `cron` is the equivalent 5-field crontab (None for immediate)."""

    kind: Literal["immediate", "hourly", "daily", "weekly", "cron"]
    text: str
    cron: str | None

    def __str__(self) -> str:
        return self.text


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule string, raising ValueError with a hint when it is not one."""
    raw = text.strip()
    words = raw.split(None, 1)
    if not words:
        raise ValueError("empty schedule; use immediate, hourly, daily HH:MM, weekly DAY HH:MM or cron \"...\"")
    head = words[0].lower()
    rest = words[1].strip() if len(words) > 1 else ""
    if head == "immediate" and not rest:
        return Schedule("immediate", raw, None)
    if head == "hourly" and not rest:
        return Schedule("hourly", raw, "0 * * * *")
    if head == "daily":
        hour, minute = _parse_time(rest or "")
        return Schedule("daily", raw, f"{minute} {hour} * * *")
    if head == "weekly":
        parts = rest.split()
        if len(parts) != 2 or parts[0][:3].lower() not in _DAYS:
            raise ValueError(f"weekly schedule {raw!r} must be 'weekly DAY HH:MM', e.g. 'weekly mon 08:00'")
        hour, minute = _parse_time(parts[1])
        return Schedule("weekly", raw, f"{minute} {hour} * * {parts[0][:3].lower()}")
    if head == "cron":
        expr = rest.strip().strip('"').strip("'")
        if len(expr.split()) != 5:
            raise ValueError(f"cron schedule needs 5 fields (m h dom mon dow), got {expr!r}")
        from apscheduler.triggers.cron import CronTrigger

        fields = expr.split()
        fields[4] = _weekdays_by_name(fields[4])
        converted = " ".join(fields)
        try:
            CronTrigger.from_crontab(converted)
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {expr!r}: {exc}") from None
        return Schedule("cron", raw, converted)
    raise ValueError(
        f"unknown schedule {raw!r}; use immediate, hourly, daily HH:MM, weekly DAY HH:MM or cron \"m h dom mon dow\""
    )


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekdays_by_name(field: str) -> str:
    """Standard cron counts weekdays from 0 = Sunday; APScheduler 3 from 0 = Monday: spell them out."""
    if not any(ch.isdigit() for ch in field):
        return field
    days: list[str] = []
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = int(first_text), int(last_text)
        else:
            first = last = int(span)
            if step_text:
                last = 6
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last):
            raise ValueError(f"day of week {part!r} must be 0-7 (0 and 7 are Sunday)")
        days.extend(_CRON_DAYS[n] for n in range(first, last + 1, step))
    return ",".join(dict.fromkeys(days))


def _parse_time(text: str) -> tuple[int, int]:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"time {text!r} must be HH:MM in 24-hour form, e.g. 07:30")
    return int(match.group(1)), int(match.group(2))
