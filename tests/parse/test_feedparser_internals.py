"""monitor/parse/feedparser_internals.py: what it reads itself gives exactly feedparser's result."""

from __future__ import annotations

from feedparser.datetimes import _parse_date
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.parse.feedparser_internals import parse_date

_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Wen", "mon", "Thursday"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Sept", "nov", "Foo"]
_ZONES = ["GMT", "UT", "Z", "+0000", "-0500", "+0530", "-1200", "+9959", "EST", "gmt", "+05:30", "GMT+2", "+000", ""]


@st.composite
def _rfc822_like(draw: st.DrawFn) -> str:
    """Dates of the fast shape, and of shapes a character away from it (each must go to feedparser's chain)."""
    day = draw(st.integers(0, 39))
    year = draw(st.sampled_from(["0000", "0001", "1970", "2024", "9999", "24", "02024"]))
    clock = ":".join(f"{draw(st.integers(0, 99)):02d}" for _ in range(3))
    parts = [draw(st.sampled_from(_DAYS)) + ",", str(day), draw(st.sampled_from(_MONTHS)), year, clock,
             draw(st.sampled_from(_ZONES))]
    text = " ".join(parts)
    if draw(st.booleans()):
        text = text.replace(" ", draw(st.sampled_from(["  ", "\t", " ,"])), 1)
    return text


@settings(max_examples=1500, deadline=None)
@given(_rfc822_like())
def test_parse_date_equals_feedparser(value: str) -> None:
    assert parse_date(value) == _parse_date(value)


def test_parse_date_edges_equal_feedparser() -> None:
    for value in ["Wed, 20 Nov 2024 10:05:00 GMT", "Sat, 29 Feb 2025 00:00:00 GMT", "Mon, 01 Jan 0001 00:30:00 +0100",
                  "Fri, 31 Dec 9999 23:59:59 -0100", "Sun, 9 Mar 2025 02:30:00 -0800", "Tue, 20 Nov 2024 10:05:00 Z",
                  "Thu, 20 Nov 2024 10:05:00 +0000 ", "2024-11-20T10:05:00Z", ""]:
        assert parse_date(value) == _parse_date(value), value
    assert parse_date("Wed, 20 Nov 2024 10:05:00 -0530") == _parse_date("Wed, 20 Nov 2024 10:05:00 -0530") is not None
