"""parse_feed: fetched bytes -> ParsedFeed of sanitised Articles (DESIGN §2 step 3).

Sniff the body, let the registered formats say whose it is (monitor/parse/formats/), parse it with
that format, then finish it with the post-processing every format shares (monitor/parse/build.py).
"""

from __future__ import annotations

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse.build import build_parsed_feed
from monitor.parse.discovery import html_not_a_feed_message
from monitor.parse.formats import Sniff, pick

__all__ = ["parse_feed"]


def parse_feed(
    body: bytes,
    *,
    base_url: str,
    content_type: str | None = None,
    language_hint: str | None = None,
) -> ParsedFeed:
    """Parse fetched feed bytes into a ParsedFeed; raise ParseError("not_a_feed" | "parse_error")."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("parse_feed takes the fetched bytes, never a URL or path")
    body = bytes(body)
    if not body.strip():
        raise ParseError("not_a_feed", "the response body is empty; check the feed URL")
    sniff = Sniff(body, base_url=base_url, content_type=content_type)
    fmt = pick(sniff)
    if fmt is None:
        raise _not_a_feed(sniff)
    return build_parsed_feed(fmt.parse(sniff), base_url=base_url, language_hint=language_hint)


def _not_a_feed(sniff: Sniff) -> ParseError:
    """The error for a document no format takes: an HTML page (naming its feed links), or no feed at all."""
    if sniff.looks_like_html():
        return ParseError("not_a_feed", html_not_a_feed_message(sniff.body, sniff.base_url))
    root = sniff.prolog.root
    if root is None:
        return ParseError("not_a_feed", "the response contains no XML element; it is not an RSS/Atom feed")
    return ParseError(
        "not_a_feed",
        f"the document (root element <{root}>) is not an RSS, Atom or RDF feed; check the feed URL",
    )
