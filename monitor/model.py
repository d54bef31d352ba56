"""The shared model: the plain typed values every stage passes on and none owns.

A feed's bytes become a `ParsedFeed` of `Article`s (parse); an article becomes the matcher's `Document`
(match's input); the matcher returns `Match`es with `Highlight`s (its output, stored and alerted on).
Storage rows are not here: they are the store's (monitor/store/rows/).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Literal, TypeVar

from monitor.text.htmltext import sanitize_html

# Caps on every stored text field (characters), applied to each Article and ParsedFeed however it was
# made (feed, fast path, page, full text): a feed, hostile or broken, cannot make one row huge.
# The body itself is capped at fetch.max_bytes (15 MiB by default) before parsing.
TITLE_MAX_CHARS = 2048
"""Titles (article and feed) are cut here."""
AUTHOR_MAX_CHARS = 512
"""Author names are cut here."""
GUID_MAX_CHARS = 2048
"""Guids are cut here (the id is a hash of the whole guid, so it stays stable)."""
TEXT_MAX_CHARS = 1024 * 1024
"""summary_text and content_text (what is matched) are cut at 1 MiB characters each."""
HTML_MAX_CHARS = 2 * 1024 * 1024
"""summary_html and content_html are cut at 2 MiB characters each, then sanitised again to close their tags."""
URL_MAX_CHARS = 4096
"""A longer link is dropped, not cut (a cut URL points elsewhere); see monitor/parse/urls.py."""
_CAPS = {
    "title": TITLE_MAX_CHARS, "author": AUTHOR_MAX_CHARS, "guid": GUID_MAX_CHARS,
    "summary_text": TEXT_MAX_CHARS, "content_text": TEXT_MAX_CHARS,
}
_HTML_FIELDS = ("summary_html", "content_html")
_URL_FIELDS = ("url", "link", "self_url")


_Record = TypeVar("_Record")


def _pickled_by_slots(cls: type[_Record]) -> type[_Record]:
    """Pickle a frozen slots dataclass as its field values, restored without __init__ or dataclasses' fields().

    Parse processes send each feed's articles (and their matches) to the service process, which
    unpickles them: dataclasses' own __getstate__/__setstate__ call fields() for every object, on both
    sides (a feed of 20 articles unpickled in ~1/3 of the CPU without them). The values are restored as
    they were pickled (not capped or cleaned again).
    """
    values = attrgetter(*cls.__slots__)  # type: ignore[attr-defined]
    setters = tuple(getattr(cls, name).__set__ for name in cls.__slots__)  # type: ignore[attr-defined]
    _RESTORERS[cls] = setters

    def __reduce__(self: _Record) -> tuple[object, ...]:
        return (_restored, (cls, values(self)))

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


_RESTORERS: dict[type, tuple[Callable[[object, object], None], ...]] = {}


def _restored(cls: type[_Record], values: tuple[object, ...]) -> _Record:
    """A record pickled by `_pickled_by_slots`: its slots set directly (frozen dataclasses refuse setattr)."""
    record = object.__new__(cls)  # type: ignore[call-overload]
    for set_slot, value in zip(_RESTORERS[cls], values, strict=True):
        set_slot(record, value)
    return record  # type: ignore[no-any-return]


@_pickled_by_slots
@dataclass(frozen=True, slots=True)
class Article:
    """One parsed, sanitised feed entry.

    `id` is stable across polls and feeds: derived from the entry's guid, else its canonical URL.
    HTML fields are already sanitised (nh3); `*_text` fields are plain text for matching.
    `published_at` is timezone-aware UTC, or None when the feed gives no date (the store then uses
    the time it was first seen).
    """

    id: str
    guid: str | None
    url: str
    title: str
    summary_html: str
    content_html: str
    summary_text: str
    content_text: str
    author: str
    published_at: datetime | None
    language: str | None
    content_hash: str

    def __post_init__(self) -> None:
        _drop_nul_and_cap(self, _ARTICLE_TEXT)

    @property
    def body_text(self) -> str:
        """Summary and content as one plain text, without repeating a summary the content contains."""
        return body_text(self.summary_text, self.content_text)


def body_text(summary_text: str, content_text: str) -> str:
    """Summary and content as one plain text, without repeating a summary the content contains."""
    if not content_text:
        return summary_text
    if not summary_text or summary_text[:200] in content_text:
        return content_text
    return f"{summary_text}\n\n{content_text}"


@_pickled_by_slots
@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The result of parsing one feed document."""

    title: str
    link: str
    language: str | None
    ttl_minutes: int | None
    articles: tuple[Article, ...]
    bozo_message: str | None = None
    format: str = ""
    """The feed's kind (rss, atom, rdf, json, sitemap), recorded on the feed row on each poll."""
    hubs: tuple[str, ...] = ()
    """The WebSub hubs the document names (`<link rel="hub">`, JSON Feed `hubs`), absolute http(s) URLs."""
    self_url: str = ""
    """The document's own canonical URL (`<link rel="self">`, JSON Feed `feed_url`): the WebSub topic."""

    def __post_init__(self) -> None:
        _drop_nul_and_cap(self, _FEED_TEXT)


_HTML, _URL, _TEXT = 0, 1, 2


def _text_fields(cls: type) -> tuple[tuple[str, int, int], ...]:
    """(name, kind, cap) of each field of `cls` that may hold text, in field order."""
    plan = []
    for name in cls.__slots__:  # type: ignore[attr-defined]
        if cls.__annotations__[name] not in ("str", "str | None"):
            continue  # a datetime, int or tuple field never holds text
        if name in _HTML_FIELDS:
            plan.append((name, _HTML, HTML_MAX_CHARS))
        elif name in _URL_FIELDS:
            plan.append((name, _URL, URL_MAX_CHARS))
        else:
            plan.append((name, _TEXT, _CAPS.get(name, TITLE_MAX_CHARS)))
    return tuple(plan)


def _drop_nul_and_cap(record: Article | ParsedFeed, plan: tuple[tuple[str, int, int], ...]) -> None:
    """Drop NULs from every text field, then cut it to its documented cap (module constants above).

    One pass over the text fields only (`_text_fields`): this runs for every article parsed.
    """
    for name, kind, limit in plan:
        value = getattr(record, name)
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            # A NUL reaches the text from a raw 0x00 or a `&#0;` that feedparser's loose parser decodes;
            # PostgreSQL text cannot hold one (the whole feed would fail to store, poll after poll).
            value = value.replace("\x00", "")
            object.__setattr__(record, name, value)
        if len(value) <= limit:
            continue
        if kind == _HTML:
            # The cut may fall inside a tag or leave elements open: the sanitiser mends it.
            object.__setattr__(record, name, sanitize_html(value[:HTML_MAX_CHARS]))
        elif kind == _URL:
            object.__setattr__(record, name, "")  # a cut URL points elsewhere
        else:
            object.__setattr__(record, name, value[:limit])


_ARTICLE_TEXT = _text_fields(Article)
_FEED_TEXT = _text_fields(ParsedFeed)

Field = Literal["title", "body", "author", "url", "source"]


@dataclass(frozen=True, slots=True)
class Document:
    """The text of one article as the matcher sees it; it knows nothing of feeds, HTTP or SQL."""

    title: str = ""
    body: str = ""
    author: str = ""
    url: str = ""
    source: str = ""
    language: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)


@_pickled_by_slots
@dataclass(frozen=True, slots=True)
class Highlight:
    """A span of the original (unfolded) text of one field that made a match true."""

    field: str
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, object]:
        """The highlight as in the JSON of DESIGN §4/§5."""
        return {"field": self.field, "start": self.start, "end": self.end, "text": self.text}


@_pickled_by_slots
@dataclass(frozen=True, slots=True)
class Match:
    """One watchlist entry (actor or topic) that matched a document, with why."""

    watchlist: str
    kind: Literal["actor", "topic"]
    id: str
    name: str
    highlights: tuple[Highlight, ...]
    snippet: str
    more_highlights: int = 0  # highlights found beyond those kept (matcher.MAX_HIGHLIGHTS_PER_FIELD per field)

    @property
    def entry_key(self) -> str:
        """`watchlist/entry`, the key subscribers use to follow a single entry."""
        return f"{self.watchlist}/{self.id}"

    def to_json(self) -> dict[str, object]:
        """The match as in the JSON of DESIGN §4/§5."""
        return {
            "watchlist": self.watchlist,
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "highlights": [h.to_json() for h in self.highlights],
            "snippet": self.snippet,
        }


Role = Literal["viewer", "editor", "admin"]
"""A dashboard account's role: viewers read, editors also change watchlists, feeds, feedback and snoozes,
admins also manage accounts (monitor/web/roles.py enforces it)."""
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")


# ------------------------------------------------------------------ the full-text index's candidate queries
# A query of the product's language, reduced to what the database's full-text index can answer: index
# terms (folded tokens and word-form keys, `monitor/match/terms.py`) combined by AND and OR. Its answer
# is a superset of the query's matches; the matcher then decides on each candidate.


@dataclass(frozen=True, slots=True)
class IndexWord:
    """One index term; with `prefix`, any term starting with it."""

    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class IndexAll:
    """Every child."""

    children: tuple[IndexQuery, ...]


@dataclass(frozen=True, slots=True)
class IndexAny:
    """At least one child."""

    children: tuple[IndexQuery, ...]


IndexQuery = IndexWord | IndexAll | IndexAny
