"""What every configuration model shares: strictness (unknown keys refused), id and time-zone checks."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class StrictModel(BaseModel):
    """A frozen model that refuses keys it does not know (a typo is a located problem, not ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_id(value: str) -> str:
    """`value` when it is a valid id (lowercase letters, digits, `-`, `_`, `.`), else a ValueError saying so."""
    if not _ID.match(value):
        raise ValueError(
            f"id {value!r} must be lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return value


def check_zone(value: str) -> str:
    """`value` when it names an IANA time zone, else a ValueError saying so."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Istanbul") from None
    return value
