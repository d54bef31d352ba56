"""Fuzz the entity defence (issue 13.1): wherever and however entity declarations hide, none survives into
what the parsers read, and the parsed text stays within a small multiple of the body."""

from __future__ import annotations

import re

import pytest
from hypothesis import given

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse import parse_feed
from monitor.parse.prolog import neutralise_prolog
from tests.fuzz.strategies import MARKER, entity_bypass_feed
from tests.fuzz.support import TEST_TIMEOUT, fuzz_settings, memory_cap

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

OUTPUT_PER_INPUT_CHAR = 8
"""The bound of docs/security.md: parsed text <= 8 characters per body byte (+ OUTPUT_SLACK). An HTML field
escapes a character into at most 6 (`&quot;`), and a field's plain text adds one more."""
OUTPUT_SLACK = 1024
_DECLARATION = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)


def parsed_size(feed: ParsedFeed) -> int:
    total = len(feed.title) + len(feed.link)
    for a in feed.articles:
        total += sum(len(v) for v in (a.url, a.title, a.summary_html, a.content_html, a.summary_text,
                                      a.content_text, a.author, a.guid or ""))
    return total


def marker_count(feed: ParsedFeed) -> int:
    fields = [feed.title]
    for a in feed.articles:
        fields += [a.title, a.summary_html, a.content_html, a.summary_text, a.content_text, a.author, a.guid or ""]
    return sum(f.count(MARKER) for f in fields)


@fuzz_settings(300)
@given(entity_bypass_feed())
def test_no_entity_declaration_reaches_a_parser_and_nothing_expands(case: tuple[bytes, str | None]) -> None:
    body, content_type = case
    scrubbed = neutralise_prolog(body, base_url="http://e.org/", content_type=content_type).body
    assert not _DECLARATION.search(scrubbed), scrubbed[:400]
    try:
        with memory_cap(len(body)):
            feed = parse_feed(body, base_url="http://e.org/", content_type=content_type)
    except ParseError as exc:
        assert exc.kind in ("not_a_feed", "parse_error"), exc.kind
        return
    assert parsed_size(feed) <= OUTPUT_PER_INPUT_CHAR * len(body) + OUTPUT_SLACK
    # A declaration kept as text (in CDATA) may show its MARKERs once as HTML and once as text; an
    # expansion shows them once per reference (at least 4).
    in_body = body.decode("utf-8", errors="ignore").count(MARKER) + body.decode("utf-16", errors="ignore").count(
        MARKER) + body.decode("utf-32", errors="ignore").count(MARKER) + body.decode("utf-7", errors="ignore").count(
        MARKER)
    assert marker_count(feed) <= 2 * in_body, f"entity expanded: {marker_count(feed)} markers from {in_body}"
