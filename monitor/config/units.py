"""Human units in configuration: durations ("15m", "1h30m", "90d") and sizes ("15MiB")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB|K|M|G)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "k": 1024, "m": 1024**2, "g": 1024**3,
}


def parse_duration(value: Any) -> timedelta:
    """Parse "90s", "15m", "1h30m", "2d" (or a number of seconds) into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m, 2h or 7d")
    if isinstance(value, int | float):
        return _bounded(float(value), value)
    text = str(value).strip().replace(" ", "")
    if not text:
        raise ValueError("empty duration; write e.g. 30s, 15m, 2h or 7d")
    pos, total = 0, 0.0
    for part in _DURATION_PART.finditer(text):
        if part.start() != pos:
            break
        total += float(part.group(1)) * _DURATION_UNITS[part.group(2).lower()]
        pos = part.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 15m, 2h, 1h30m or 7d")
    return _bounded(total, value)


_MAX_SECONDS = 100 * 365 * 86400  # a century: anything longer is a typo, and timedelta overflows soon after


def _bounded(seconds: float, original: Any) -> timedelta:
    # pydantic turns only ValueError into a located problem: never let OverflowError escape.
    if not 0 <= seconds <= _MAX_SECONDS:  # also false for NaN
        raise ValueError(f"{original!r} is not a usable duration; it must be between 0s and 100 years")
    return timedelta(seconds=seconds)


def parse_size(value: Any) -> int:
    """Parse "15MiB", "512KB", "1000" into a number of bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 15MiB")
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a size; write e.g. 512KiB or 15MiB")
    number, unit = match.groups()
    return int(float(number) * _SIZE_UNITS[(unit or "b").lower()])


def format_duration(value: timedelta) -> str:
    """Render a timedelta the way it is written in configuration ("1h30m")."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]
