"""RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and RDF through feedparser, with the ElementTree fast path in front.

The fast path (monitor/parse/fastpath.py) takes the plain RSS 2.0 and Atom 1.0 feeds it reproduces
exactly and declines the rest, which feedparser parses. Both give feedparser-shaped dicts; this
module turns them, by the same code, into the RawFeed the shared post-processing (build.py) finishes.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.parse.fastpath import extract
from monitor.parse.formats.base import Confidence, RawEntry, RawFeed, RawText, Sniff
from monitor.parse.language import normalise_language
from monitor.parse.prolog import UTF8_XML
from monitor.parse.websub import head_links

__all__ = ["SYNDICATION", "USE_FASTPATH", "SyndicationFormat"]

# Module-level so the equivalence test and benchmarks can compare the fast path with feedparser alone.
USE_FASTPATH = True

_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Roots this format is sure of (local names, lowercased: <rdf:RDF> is "rdf").
_OWN_ROOTS = frozenset({"rss", "feed", "rdf"})
_KINDS = {"rss": "rss", "feed": "atom", "rdf": "rdf"}


def _utc(struct: Any) -> datetime | None:
    if not isinstance(struct, time.struct_time):
        return None
    try:
        return datetime(*struct[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _text(detail: Mapping[str, Any] | None) -> RawText | None:
    """A feedparser text construct as a RawText (None when there is none)."""
    if not detail:
        return None
    value = detail.get("value") or ""
    if not isinstance(value, str):
        return None
    return RawText(value=value, html=detail.get("type") in _HTML_TYPES, base=detail.get("base") or None)


def _pick_content(entry: Mapping[str, Any]) -> Mapping[str, Any] | None:
    contents = entry.get("content") or []
    if not contents:
        return None
    html_parts = [c for c in contents if c.get("type") in _HTML_TYPES]
    # Several <content> elements are alternatives (text and html); prefer the richest html one.
    pool = html_parts or list(contents)
    return max(pool, key=lambda c: len(c.get("value") or ""))


def _entry_language(entry: Mapping[str, Any]) -> str | None:
    for key in ("content", "summary_detail", "title_detail"):
        detail = entry.get(key)
        if isinstance(detail, list):
            detail = detail[0] if detail else None
        if isinstance(detail, Mapping):
            lang = normalise_language(detail.get("language"))
            if lang:
                return lang
    return normalise_language(entry.get("language"))


def _author(entry: Mapping[str, Any]) -> str:
    name = entry.get("author") or (entry.get("author_detail") or {}).get("name") or ""
    return name if isinstance(name, str) else ""


def _entry(entry: Mapping[str, Any]) -> RawEntry:
    link = entry.get("link")
    raw_title = entry.get("title") or ""
    guid = entry.get("id")
    return RawEntry(
        guid=guid if isinstance(guid, str) else None,
        link=link if isinstance(link, str) else None,
        title=raw_title if isinstance(raw_title, str) else "",
        summary=_text(entry.get("summary_detail")),
        content=_text(_pick_content(entry)),
        published=_utc(entry.get("published_parsed")) or _utc(entry.get("updated_parsed")),
        author=_author(entry),
        language=_entry_language(entry),
    )


def _ttl_minutes(feed: Mapping[str, Any]) -> int | None:
    raw = feed.get("ttl")
    if isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw.strip())
        return value if 0 < value <= 60 * 24 * 366 else None
    return None


def raw_feed(
    feed: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], bozo_message: str | None, root: str | None = None
) -> RawFeed:
    """Turn feedparser-shaped feed and entry dicts (from either path) into a RawFeed."""
    link = feed.get("link")
    return RawFeed(
        title=feed.get("title") or "",
        link=link if isinstance(link, str) else None,
        language=normalise_language(feed.get("language"))
        or normalise_language((feed.get("title_detail") or {}).get("language")),
        author=_author(feed),
        ttl_minutes=_ttl_minutes(feed),
        entries=tuple(_entry(entry) for entry in entries),
        bozo_message=bozo_message,
        # The kind shown in `monitor feeds`: by root element (feedparser's loose parser reads odd roots as RSS).
        format=_KINDS.get(root or "", "rss"),
    )


class SyndicationFormat:
    """RSS, Atom and RDF: sure of <rss>, <feed> and <rdf:RDF>, a catch-all for any other XML root."""

    name = "rss-atom-rdf"

    def detect(self, sniff: Sniff) -> Confidence:
        """SURE for an RSS/Atom/RDF root, MAYBE for other XML, NO for HTML pages and non-XML."""
        root = sniff.prolog.root
        if root is None or sniff.looks_like_html():
            return Confidence.NO
        return Confidence.SURE if root in _OWN_ROOTS else Confidence.MAYBE

    def parse(self, sniff: Sniff) -> RawFeed:
        """The fast path's result where it accepts the document, else feedparser's."""
        prolog = sniff.prolog
        if USE_FASTPATH and prolog.root in ("rss", "feed"):
            extracted = extract(prolog.body, base_url=sniff.base_url)
            if extracted is not None:
                feed, entries, bozo = extracted
                # The encoding note is the bozo message when the document itself is well-formed.
                return _with_links(raw_feed(feed, entries, bozo or prolog.encoding_problem, prolog.root), prolog.body)
        try:
            # A file-like object: feedparser treats str/bytes that look like a URL or path as one to open.
            # feedparser's own HTML passes are off: nh3 sanitises every HTML field (the sanitize corpus
            # test proves it alone suffices) and resolves links against the construct's xml:base; the
            # two extra sgmllib passes cost more than half of the whole parse.
            result = feedparser.parse(
                io.BytesIO(prolog.body),
                response_headers={"content-location": sniff.base_url, "content-type": UTF8_XML},
                sanitize_html=False,
                resolve_relative_uris=False,
            )
        except Exception as exc:  # feedparser's loose parser can raise on pathological input
            raise ParseError("parse_error", f"the feed could not be parsed: {exc}") from exc
        # A parse error outranks the encoding note, as in feedparser (its strict parser overwrites it).
        bozo_message = (
            (str(result.get("bozo_exception") or "") or "bozo feed")
            if result.get("bozo")
            else prolog.encoding_problem
        )
        feed = result.get("feed") or {}
        entries = result.get("entries") or []
        if not entries:
            has_feed_elements = bool(feed.get("title") or feed.get("link") or feed.get("subtitle"))
            if not result.get("version") and not has_feed_elements:
                if bozo_message:
                    raise ParseError(
                        "parse_error", f"the feed is not well-formed XML and has no entries: {bozo_message}"
                    )
                raise ParseError(
                    "not_a_feed",
                    f"the document (root element <{prolog.root}>) is not an RSS, Atom or RDF feed; check the feed URL",
                )
        return _with_links(raw_feed(feed, entries, bozo_message, prolog.root), prolog.body)


def _with_links(raw: RawFeed, body: bytes) -> RawFeed:
    """The raw feed with the WebSub hubs and self URL of the document's head (monitor/parse/websub.py)."""
    raw.hubs, raw.self_url = head_links(body)
    return raw


SYNDICATION = SyndicationFormat()
"""The RSS/Atom/RDF format, registered first (formats/__init__.py)."""
