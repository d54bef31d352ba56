"""What a source format is: the FeedFormat protocol, the Sniff it detects on, and the raw feed it returns.

A format turns fetched bytes into a RawFeed: the feed's and its entries' fields as the document
gives them (markup unsanitised, links unresolved, language as declared). Everything every format
shares (sanitising, plain text, link policy, language detection, ids, caps) is done afterwards, once,
by monitor/parse/build.py. See monitor/parse/formats/__init__.py for how a format is chosen.

The raw values are built once by a format and read once by build.py; they are plain (not frozen)
slotted dataclasses because a frozen one's __init__ costs about five times as much, once per entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Protocol

from monitor.parse.prolog import Prolog, neutralise_prolog


class Confidence(IntEnum):
    """How sure a format is that a document is its own: NO, MAYBE (a catch-all) or SURE."""

    NO = 0
    MAYBE = 1
    SURE = 2


class Sniff:
    """The fetched body, with what detection learns about it computed once and shared by every format."""

    __slots__ = ("_prolog", "base_url", "body", "content_type")

    def __init__(self, body: bytes, *, base_url: str, content_type: str | None) -> None:
        self.body = body
        self.base_url = base_url
        self.content_type = content_type
        self._prolog: Prolog | None = None

    @property
    def prolog(self) -> Prolog:
        """The body decoded as feedparser would and scrubbed of every declaration (prolog.py), computed once."""
        if self._prolog is None:
            self._prolog = neutralise_prolog(
                self.body, base_url=self.base_url, content_type=self.content_type
            )
        return self._prolog

    @property
    def media_type(self) -> str:
        """The served media type, lowercased, without parameters ('' when none was served)."""
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    def looks_like_html(self) -> bool:
        """True for an HTML page (root <html>, or served as text/html with no root or a bare <head>/<body>)."""
        root = self.prolog.root
        if root == "html":
            return True
        return self.media_type == "text/html" and root in (None, "head", "body")


@dataclass(slots=True)
class RawText:
    """A text construct as the document gives it: HTML to sanitise, or plain text to escape."""

    value: str
    html: bool
    base: str | None = None  # the construct's own base URI (xml:base); the feed URL when None
    language: str | None = None


@dataclass(slots=True)
class RawEntry:
    """One entry's fields before the shared post-processing."""

    guid: str | None = None
    link: str | None = None  # None: the document gave no link value at all
    title: str = ""
    summary: RawText | None = None
    content: RawText | None = None
    published: datetime | None = None  # aware, UTC
    author: str = ""
    language: str | None = None  # declared for this entry (its own or its text constructs')


@dataclass(slots=True)
class RawFeed:
    """The feed-level fields and the entries of one document, before the shared post-processing."""

    title: str = ""
    link: str | None = None
    language: str | None = None  # declared for the whole feed
    author: str = ""
    ttl_minutes: int | None = None
    entries: tuple[RawEntry, ...] = field(default_factory=tuple)
    bozo_message: str | None = None  # why the document is not quite well-formed, when it is accepted anyway
    format: str = ""  # the feed's kind as shown to people: rss, atom, rdf, json, sitemap
    hubs: tuple[str, ...] = ()  # WebSub hubs the document names, as written (resolved by build.py)
    self_url: str | None = None  # the document's rel="self" URL (the WebSub topic), as written


class FeedFormat(Protocol):
    """A source format: detect its documents, parse one into a RawFeed (raise ParseError when it cannot)."""

    @property
    def name(self) -> str:
        """Short, unique name ("rss-atom-rdf", "json-feed", ...)."""
        ...

    def detect(self, sniff: Sniff) -> Confidence:
        """How sure this format is that the document is its own; cheap (reads the Sniff's cached views)."""
        ...

    def parse(self, sniff: Sniff) -> RawFeed:
        """The document's feed and entries; raise ParseError("not_a_feed" | "parse_error") when it has none."""
        ...
