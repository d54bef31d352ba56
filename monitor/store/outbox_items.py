"""A delivery's items as stored: one per story, each with every match routed with it, the feeds that carried it, its size.

A story is an article and its near-duplicates (one cluster): a subscriber's items of one story, whatever
entry each was routed for, are one item led by the first article routed, listing every matched entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store.clusters import cluster_feeds
from monitor.store.rows import ArticleRow, Delivery, MatchRow, RoutedItem
from monitor.store.sql import chunked


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One story of a delivery: its lead article, every match routed for the story, the feeds that carried it."""

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
    stories = _story_of(session, [r.article_id for r in routed])
    first = list(dict.fromkeys(stories[r.article_id] for r in routed))[:per_delivery]
    shown = set(first)
    items = stored_items(session, [r for r in routed if stories[r.article_id] in shown])
    return items, len(set(stories.values())) - len(shown)


def _story_of(session: Session, article_ids: Sequence[str]) -> dict[str, str]:
    """Each article's story key: its cluster id, else its own id."""
    stories = {a: a for a in article_ids}
    for part in chunked(dict.fromkeys(article_ids)):
        for article_id, cluster_id in session.execute(
            select(ArticleRow.id, ArticleRow.cluster_id).where(ArticleRow.id.in_(part))
        ):
            stories[str(article_id)] = str(cluster_id or article_id)
    return stories


def stored_items(session: Session, routed: Sequence[RoutedItem]) -> list[StoredItem]:
    """Routed items as stories with their matches, feeds and sizes (every IN list in chunks)."""
    if not routed:
        return []
    stories = _story_of(session, [item.article_id for item in routed])
    # Per story: its lead article (the first routed) and its match ids, each (watchlist, entry) once.
    lead: dict[str, str] = {}
    by_story: dict[str, list[int]] = {}
    for item in routed:
        story = stories[item.article_id]
        lead.setdefault(story, item.article_id)
        by_story.setdefault(story, []).append(item.match_id)
    # Every IN list in chunks: a story may have matched any number of entries.
    articles: dict[str, ArticleRow] = {}
    for part in chunked(list(lead.values())):
        articles.update((a.id, a) for a in session.scalars(select(ArticleRow).where(ArticleRow.id.in_(part))))
    matches: dict[int, MatchRow] = {}
    for part in chunked(dict.fromkeys(m for ids in by_story.values() for m in ids)):
        matches.update((m.id, m) for m in session.scalars(select(MatchRow).where(MatchRow.id.in_(part))))
    feeds = cluster_feeds(session, list(lead.values()))
    cluster_sizes: dict[str, int] = {}
    for part in chunked(sorted({a.cluster_id for a in articles.values() if a.cluster_id})):
        rows = session.execute(
            select(ArticleRow.cluster_id, func.count()).where(ArticleRow.cluster_id.in_(part)).group_by(ArticleRow.cluster_id)
        ).all()
        cluster_sizes.update((str(cluster), int(count)) for cluster, count in rows)
    result = []
    for story, ids in by_story.items():
        article = articles[lead[story]]
        carried = tuple(feeds.get(article.id, ()))
        size = max(cluster_sizes.get(article.cluster_id or "", 1), len(carried), 1)
        seen: set[tuple[str, str]] = set()
        story_matches = []
        for match_id in ids:
            row = matches.get(match_id)
            if row is not None and (row.watchlist, row.entry_id) not in seen:
                seen.add((row.watchlist, row.entry_id))
                story_matches.append(row)
        result.append(StoredItem(article, tuple(story_matches), carried, size))
    return result
