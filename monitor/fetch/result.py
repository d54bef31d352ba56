"""What a fetch returns or raises, and the parsing of the caching headers on the way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one successful fetch (2xx or 304)."""

    requested_url: str
    final_url: str
    status: int
    body: bytes | None  # None when not_modified or unchanged
    body_hash: str | None  # sha256 hex of the body; on 304 the previous_body_hash passed in
    content_type: str | None
    etag: str | None
    last_modified: str | None
    retry_after: float | None
    max_age: float | None
    permanent_redirect: str | None  # the URL to store instead of requested_url
    not_modified: bool
    unchanged: bool
    elapsed: float
    hubs: tuple[str, ...] = ()  # WebSub hubs of the answer's Link headers (rel="hub"), absolute
    self_url: str | None = None  # the answer's Link rel="self" (the WebSub topic), absolute
    pushed: bool = False  # a body a WebSub hub pushed (monitor/refresh/push.py), not a poll's answer


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (never negative)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with servers that omit it
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def parse_max_age(cache_control: str | None) -> float | None:
    """The max-age of a Cache-Control header in seconds, or None."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None
