"""Turn parsed or stored articles into the matcher's Document (the one place that knows both)."""

from __future__ import annotations

from monitor.config.models import Config
from monitor.match.types import Document
from monitor.parse.article import Article
from monitor.store.models import Article as ArticleRow


def document_from_article(article: Article, *, source: str = "", tags: frozenset[str] = frozenset()) -> Document:
    """A parsed article as the matcher sees it."""
    return Document(
        title=article.title, body=article.body_text, author=article.author, url=article.url,
        source=source, language=article.language, tags=tags,
    )


def document_from_row(row: ArticleRow, config: Config) -> Document:
    """A stored article as the matcher sees it, with its first feed's name and tags."""
    feed = next((f for f in config.feeds if f.id == row.first_feed_id), None)
    body = row.content_text if row.summary_text[:200] in row.content_text else (
        f"{row.summary_text}\n\n{row.content_text}" if row.content_text else row.summary_text
    )
    return Document(
        title=row.title, body=body, author=row.author, url=row.url,
        source=(feed.name or feed.id) if feed else (row.first_feed_id or ""),
        language=row.language, tags=frozenset(feed.tags) if feed else frozenset(),
    )
