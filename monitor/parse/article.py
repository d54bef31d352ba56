"""The Article: what one feed entry becomes after parsing (DESIGN §2 step 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
        _drop_nul(self)

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


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The result of parsing one feed document."""

    title: str
    link: str
    language: str | None
    ttl_minutes: int | None
    articles: tuple[Article, ...]
    bozo_message: str | None = None

    def __post_init__(self) -> None:
        _drop_nul(self)


def _drop_nul(record: Article | ParsedFeed) -> None:
    # A NUL reaches the text from a raw 0x00 or a `&#0;` that feedparser's loose parser decodes;
    # PostgreSQL text cannot hold one (the whole feed would fail to store, poll after poll).
    for name in record.__slots__:
        value = getattr(record, name)
        if isinstance(value, str) and "\x00" in value:
            object.__setattr__(record, name, value.replace("\x00", ""))
