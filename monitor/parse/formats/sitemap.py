"""Sitemaps (sitemaps.org 0.9) with Google News' `news:news`, and sitemap indexes.

A `<urlset>` becomes a RawFeed of entries with a link, the news title, the publication date (else
`<lastmod>`) and the news language, and no body: the refresh fetches each new URL's page for its
text (monitor/refresh/sitemap.py), as it does for `full_text: true` feeds. A `<sitemapindex>`
becomes a RawFeed of format "sitemap-index" whose entries are its child sitemaps (link, lastmod);
the refresh fetches those, bounded in depth and count. Parsing never fetches anything.

Detection is by the root element and the sitemaps.org namespace: an un-namespaced `<urlset>` is not
taken (the RSS/Atom catch-all keeps it, as before). A document is read with iterparse, each element
dropped once read, and only the MAX_SITEMAP_URLS newest URLs are kept (a sitemap may list 50,000).
"""

from __future__ import annotations

import heapq
import io
import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.errors import ParseError
from monitor.parse.formats.base import Confidence, RawEntry, RawFeed, Sniff

__all__ = [
    "INDEX_FORMAT",
    "MAX_SITEMAP_URLS",
    "SITEMAP",
    "SITEMAP_FORMAT",
    "SitemapFormat",
    "looks_like_sitemap",
]

MAX_SITEMAP_URLS = 1000
"""URLs (or child sitemaps) kept from one sitemap document: the newest by date, undated ones last."""
SITEMAP_FORMAT = "sitemap"
"""The format (and feed kind) of a `<urlset>`."""
INDEX_FORMAT = "sitemap-index"
"""The format of a `<sitemapindex>`: the refresh turns it into a SITEMAP_FORMAT feed."""

_NAMESPACES = (b"sitemaps.org/schemas/sitemap/", b"google.com/schemas/sitemap/")
_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
_SNIFF_BYTES = 4096
_ROOTS = frozenset({"urlset", "sitemapindex"})


# UTF-16 and UTF-32 are told by a byte order mark, or (declared or not) by where the NUL bytes of the
# first character sit (XML 1.0, appendix F). The four-byte forms are tried first: a UTF-32-LE mark
# starts with the UTF-16-LE one, and '<' in UTF-32-LE starts like '<' in UTF-16-LE.
_WIDE_STARTS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", 4), (b"\x00\x00\xfe\xff", "utf-32-be", 4),
    (b"\xff\xfe", "utf-16-le", 2), (b"\xfe\xff", "utf-16-be", 2),
)


def _wide_encoding(body: bytes) -> tuple[str, int] | None:
    """The UTF-16/UTF-32 codec of a body and its code unit size, from its mark or its first character's NULs."""
    for mark, encoding, width in _WIDE_STARTS:
        if body.startswith(mark):
            return encoding, width
    first = body[:4]
    if len(first) == 4 and first[:3] == b"\x00\x00\x00" and first[3]:
        return "utf-32-be", 4
    if len(first) == 4 and first[0] and first[1:] == b"\x00\x00\x00":
        return "utf-32-le", 4
    if len(first) >= 2 and first[0] and not first[1]:
        return "utf-16-le", 2
    if len(first) >= 2 and not first[0] and first[1]:
        return "utf-16-be", 2
    return None


def looks_like_sitemap(body: bytes) -> bool:
    """A cheap look at the first bytes: a sitemap's root and namespace (the poller asks before parsing).

    A UTF-16 or UTF-32 sitemap is looked at decoded (the parser itself reads any encoding feedparser knows).
    """
    head = body[:_SNIFF_BYTES]
    wide = _wide_encoding(body)
    if wide is not None:
        encoding, width = wide
        head = body[: _SNIFF_BYTES * width].decode(encoding, "replace").encode("utf-8", "replace")
    return (b"<urlset" in head or b"<sitemapindex" in head) and any(ns in head for ns in _NAMESPACES)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _date(value: str | None) -> datetime | None:
    """A W3C datetime (`2024-11-09`, `2024-11-09T18:30:00+02:00`) as aware UTC; None when absent or invalid."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(slots=True)
class _Url:
    loc: str = ""
    lastmod: str | None = None
    title: str = ""
    published: str | None = None
    language: str | None = None


class SitemapFormat:
    """Sure of a `<urlset>` or `<sitemapindex>` in the sitemaps.org namespace."""

    name = SITEMAP_FORMAT

    def detect(self, sniff: Sniff) -> Confidence:
        """SURE for a namespaced sitemap or index root, else NO."""
        if sniff.prolog.root not in _ROOTS or sniff.looks_like_html():
            return Confidence.NO
        return Confidence.SURE if looks_like_sitemap(sniff.prolog.body) else Confidence.NO

    def parse(self, sniff: Sniff) -> RawFeed:
        """The newest MAX_SITEMAP_URLS URLs (or child sitemaps) with their dates, titles and languages."""
        index = sniff.prolog.root == "sitemapindex"
        publication = ""
        counter = itertools.count()  # ties in the heap never compare entries
        newest: list[tuple[datetime, int, RawEntry]] = []
        oldest = datetime.min.replace(tzinfo=UTC)
        current: _Url | None = None
        try:
            for event, element in ET.iterparse(io.BytesIO(sniff.prolog.body), events=("start", "end")):
                name = _local(element.tag)
                if event == "start":
                    if name in ("url", "sitemap"):
                        current = _Url()
                    continue
                text = (element.text or "").strip()
                if current is not None:
                    if name == "loc":
                        current.loc = text
                    elif name == "lastmod":
                        current.lastmod = text
                    elif name == "title" and element.tag.startswith("{" + _NEWS):
                        current.title = text
                    elif name == "publication_date":
                        current.published = text
                    elif name == "language":
                        current.language = text
                    elif name == "name" and not publication:
                        publication = text
                if name in ("url", "sitemap") and current is not None:
                    entry = _entry(current)
                    if entry is not None:
                        item = (entry.published or oldest, next(counter), entry)
                        if len(newest) < MAX_SITEMAP_URLS:
                            heapq.heappush(newest, item)
                        else:
                            heapq.heappushpop(newest, item)
                    current = None
                    element.clear()  # a 50,000-URL sitemap is never held whole
        except ET.ParseError as exc:
            raise ParseError("parse_error", f"the sitemap is not well-formed XML: {exc}") from exc
        entries = tuple(entry for _, _, entry in sorted(newest, key=lambda item: (item[0], item[1]), reverse=True))
        return RawFeed(title=publication, entries=entries, format=INDEX_FORMAT if index else SITEMAP_FORMAT)


def _entry(url: _Url) -> RawEntry | None:
    if not url.loc:
        return None
    return RawEntry(
        link=url.loc,
        title=url.title,
        published=_date(url.published) or _date(url.lastmod),
        language=url.language or None,
    )


SITEMAP = SitemapFormat()
"""The sitemap format (formats/__init__.py BUILT_IN)."""
