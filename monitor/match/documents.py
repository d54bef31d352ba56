"""The matcher's Document for an article: one adapter for live matching, backtest, `monitor match` and the dashboard.

A stored match's highlights are offsets into the Document it was made from; a backtest, a `source:`
query and the article page mean the same thing only if they rebuild exactly that Document. So every
caller builds it here, from the article's text (parsed or stored: the same fields) and the label of
the feed the article was first seen in:

- source: the feed's configured `name`, else the feed's own title (its `<title>`, kept on the feed
  row), else the feed id;
- tags: the configured feed's `tags`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from monitor.model import Document, body_text

if TYPE_CHECKING:  # annotations only: a parse process labels documents without the configuration models
    from monitor.config.models import FeedConfig


@dataclass(frozen=True, slots=True)
class FeedLabel:
    """What a Document takes from the feed an article was first seen in."""

    source: str
    tags: frozenset[str] = frozenset()


NO_FEED_LABEL = FeedLabel("")


def feed_label(feed_id: str | None, configured: FeedConfig | None, title: str | None) -> FeedLabel:
    """The configured name, else the feed's own title, else its id (with the configured tags)."""
    if feed_id is None:
        return NO_FEED_LABEL
    return named_feed_label(feed_id, *label_parts(configured), title)


def label_parts(configured: FeedConfig | None) -> tuple[str | None, frozenset[str]]:
    """A feed's configured name and tags, what its label is made of (neither for a feed not configured)."""
    if configured is None:
        return None, frozenset()
    return configured.name, frozenset(configured.tags)


def named_feed_label(feed_id: str, name: str | None, tags: frozenset[str], title: str | None) -> FeedLabel:
    """`feed_label` from the configured name and tags alone (what a parse process is handed)."""
    return FeedLabel(name or (title or "").strip() or feed_id, tags)


class ArticleText(Protocol):
    """The fields a Document is made of: a parsed Article and a stored article row both have them."""

    @property
    def title(self) -> str: ...
    @property
    def summary_text(self) -> str: ...
    @property
    def content_text(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def language(self) -> str | None: ...


def document_for(article: ArticleText, label: FeedLabel) -> Document:
    """The article as the matcher sees it."""
    return Document(
        title=article.title, body=body_text(article.summary_text, article.content_text), author=article.author,
        url=article.url, source=label.source, language=article.language, tags=label.tags,
    )


class FeedLabels:
    """Labels by feed id, from the configured feeds and the feeds' own titles (asked only when needed)."""

    def __init__(self, feeds: Mapping[str, FeedConfig], title_of: Callable[[str], str | None]) -> None:
        self._configured = feeds
        self._title_of = title_of
        self._labels: dict[str | None, FeedLabel] = {}

    def __call__(self, feed_id: str | None) -> FeedLabel:
        """The label of one feed (remembered: a backtest asks once per article)."""
        label = self._labels.get(feed_id)
        if label is None:
            configured = self._configured.get(feed_id) if feed_id is not None else None
            named = configured is not None and bool(configured.name)
            title = None if feed_id is None or named else self._title_of(feed_id)
            label = self._labels[feed_id] = feed_label(feed_id, configured, title)
        return label

