"""The source formats parse_feed dispatches to, as Miniflux's parser.ParseFeed does: detect, then parse.

Every registered format is asked, in registration order, how sure it is that the fetched document
is its own (formats/base.py: Confidence). The first SURE answer wins; without one, the first MAYBE
(the RSS/Atom/RDF format answers MAYBE for any other XML root, since feedparser's loose parser
still finds entries in odd documents). Nobody sure or hopeful: parse_feed's not_a_feed error.

Adding a format is one module under formats/ and one entry in BUILT_IN below (docs/feeds.md, Source formats).
"""

from __future__ import annotations

from monitor.parse.formats.base import Confidence, FeedFormat, RawEntry, RawFeed, RawText, Sniff
from monitor.parse.formats.jsonfeed import JSON_FEED
from monitor.parse.formats.sitemap import SITEMAP
from monitor.parse.formats.syndication import SYNDICATION

__all__ = [
    "BUILT_IN",
    "Confidence",
    "FeedFormat",
    "RawEntry",
    "RawFeed",
    "RawText",
    "Sniff",
    "pick",
    "register",
    "registered",
    "unregister",
]

# JSON Feed before RSS/Atom/RDF: its MAYBE (other JSON served as JSON) must win over the XML catch-all's
# MAYBE for a JSON body whose HTML strings look like a root element. Sitemaps are SURE of their own
# namespaced roots only, where RSS/Atom/RDF answers MAYBE, so their place after it does not matter.
BUILT_IN: tuple[FeedFormat, ...] = (JSON_FEED, SYNDICATION, SITEMAP)
"""The formats every parse_feed knows, in detection order."""

_FORMATS: list[FeedFormat] = list(BUILT_IN)


def register(fmt: FeedFormat) -> FeedFormat:
    """Add a format after those already registered; its name must be new. Returns it (usable as a decorator)."""
    if any(known.name == fmt.name for known in _FORMATS):
        raise ValueError(f"a feed format named {fmt.name!r} is already registered")
    _FORMATS.append(fmt)
    return fmt


def unregister(name: str) -> None:
    """Remove the format called `name` (tests register throwaway formats and take them out again)."""
    _FORMATS[:] = [known for known in _FORMATS if known.name != name]


def registered() -> tuple[FeedFormat, ...]:
    """The registered formats, in detection order."""
    return tuple(_FORMATS)


def pick(sniff: Sniff) -> FeedFormat | None:
    """The format that takes this document: the first SURE, else the first MAYBE, else None."""
    fallback: FeedFormat | None = None
    for fmt in _FORMATS:
        confidence = fmt.detect(sniff)
        if confidence == Confidence.SURE:
            return fmt
        if confidence == Confidence.MAYBE and fallback is None:
            fallback = fmt
    return fallback
