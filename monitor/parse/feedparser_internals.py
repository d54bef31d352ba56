"""The one place that reaches into feedparser beyond `feedparser.parse`: its decoder and its private rules.

Why private names at all: the fast path (fastpath*.py) must give exactly feedparser's result, and the
prolog scrubber (prolog.py) must decode exactly as feedparser does, or a feed would parse differently
depending on which path took it. feedparser has no public date parser, namespace table, content-type
map, URI joiner or cp1252 table; a re-implementation that agrees on today's corpus could drift from it
on tomorrow's input. So the names are imported here, once, and pyproject.toml pins feedparser to the
range the corpus equivalence test (tests/parse/test_fastpath.py) has passed on (>=6.0.11,<6.1). On a
feedparser upgrade, run that test first; an import error here names what moved.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from time import struct_time
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8 as _convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from feedparser.urls import make_safe_absolute_uri as _make_safe_absolute_uri

__all__ = [
    "CP1252_REMAP",
    "NAMESPACES",
    "convert_to_utf8",
    "make_safe_absolute_uri",
    "map_content_type",
    "parse_date",
    "urljoin",
]

NAMESPACES: Mapping[str, str] = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
"""feedparser's namespace URI (lowercased) -> standard prefix table ('' for the core RSS/Atom namespaces)."""

CP1252_REMAP: Mapping[int, str] = _cp1252
"""feedparser's remap of C1 control characters to the cp1252 characters they usually meant (str.translate)."""

map_content_type: Callable[[str], str] = _FeedParserMixin.map_content_type
"""feedparser's normalisation of a text construct's type ("html" -> "text/html", ...)."""


# The commonest date of RSS, read as feedparser's RFC 822 handler reads it, without trying its chain of
# handlers one by one (~4x the CPU). feedparser's first handler (W3DTF) refuses any date that starts
# with a day name (its year is int("wed,")), and its second (RFC 822) takes this shape whole: day,
# month, year, time, then GMT, UT, Z or a +hhmm offset. A date it cannot represent (31 Feb, year 0,
# an overflow) goes through feedparser's whole chain as before.
_COMMON_RFC822 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) (GMT|UT|Z|[+-][0-9]{4})\Z"
)
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


def parse_date(value: str) -> struct_time | None:
    """feedparser's date parser: a UTC struct_time, or None when no handler understands `value`."""
    common = _COMMON_RFC822.match(value)
    if common is not None:
        day, month, year, hour, minute, second, zone = common.groups()
        offset = 0 if zone[0] not in "+-" else (int(zone[1:3]) * 60 + int(zone[3:])) * (-1 if zone[0] == "-" else 1)
        try:
            stamp = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
            return (stamp - timedelta(minutes=offset)).utctimetuple()
        except (ValueError, OverflowError):
            pass
    result: struct_time | None = _parse_date(value)
    return result


def urljoin(base: str, uri: str) -> str:
    """feedparser's URI join (urllib's, after its own fix-ups; '' where urllib raises)."""
    return str(_urljoin(base, uri))


def make_safe_absolute_uri(base: str, rel: str | None = None) -> str:
    """feedparser's absolute URI for `rel` against `base`, '' for a scheme it refuses."""
    return str(_make_safe_absolute_uri(base, rel))


def convert_to_utf8(headers: dict[str, str], data: bytes, result: dict[str, Any]) -> bytes:
    """feedparser's decoder: `data` re-encoded as UTF-8, with its encoding notes written into `result`."""
    converted: bytes = _convert_to_utf8(headers, data, result)
    return converted
