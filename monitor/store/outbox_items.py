"""A delivery's articles as stored: each with the matches routed with it, the feeds that carried it, its story's size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store.clusters import cluster_feeds
from monitor.store.models import ArticleRow, Delivery, MatchRow, RoutedItem
from monitor.store.sql import chunked


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One article of a delivery with the matches routed with it and the feeds that carried it."""

    article: ArticleRow
    matches: tuple[MatchRow, ...]
    feeds: tuple[tuple[str, str], ...]  # (feed id, display name), first sighting first
    cluster_size: int


def delivery_items(session: Session, delivery_id: str) -> list[StoredItem]:
    """The articles of a delivery with their routed matches, in the order they were routed."""
    # A resend has no items of its own: it carries those of the delivery it resends.
    delivery_id = session.scalar(select(Delivery.resend_of).where(Delivery.id == delivery_id)) or delivery_id
    routed = list(
        session.scalars(select(RoutedItem).where(RoutedItem.delivery_id == delivery_id).order_by(RoutedItem.id))
    )
    return stored_items(session, routed)


def pending_preview(session: Session, subscriber_id: str, per_delivery: int) -> tuple[list[StoredItem], int]:
    """What the first delivery of a subscriber's pending articles would hold now, and how many more are pending."""
    routed = list(
        session.scalars(
            select(RoutedItem)
            .where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
            .order_by(RoutedItem.id)
        )
    )
    first = list(dict.fromkeys(r.article_id for r in routed))[:per_delivery]
    shown = set(first)
    items = stored_items(session, [r for r in routed if r.article_id in shown])
    return items, len({r.article_id for r in routed}) - len(shown)


def stored_items(session: Session, routed: Sequence[RoutedItem]) -> list[StoredItem]:
    """Routed items as articles with their matches, feeds and story sizes (every IN list in chunks)."""
    by_article: dict[str, list[int]] = {}
    for item in routed:
        by_article.setdefault(item.article_id, []).append(item.match_id)
    if not by_article:
        return []
    # Every IN list in chunks: an article may have matched any number of entries.
    articles: dict[str, ArticleRow] = {}
    for part in chunked(by_article):
        articles.update((a.id, a) for a in session.scalars(select(ArticleRow).where(ArticleRow.id.in_(part))))
    matches: dict[int, MatchRow] = {}
    for part in chunked(dict.fromkeys(m for ids in by_article.values() for m in ids)):
        matches.update((m.id, m) for m in session.scalars(select(MatchRow).where(MatchRow.id.in_(part))))
    feeds = cluster_feeds(session, list(by_article))
    cluster_sizes: dict[str, int] = {}
    for part in chunked(sorted({a.cluster_id for a in articles.values() if a.cluster_id})):
        rows = session.execute(
            select(ArticleRow.cluster_id, func.count()).where(ArticleRow.cluster_id.in_(part)).group_by(ArticleRow.cluster_id)
        ).all()
        cluster_sizes.update((str(cluster), int(count)) for cluster, count in rows)
    result = []
    for article_id, ids in by_article.items():
        article = articles[article_id]
        carried = tuple(feeds.get(article_id, ()))
        size = max(cluster_sizes.get(article.cluster_id or "", 1), len(carried), 1)
        result.append(StoredItem(article, tuple(matches[i] for i in ids if i in matches), carried, size))
    return result
