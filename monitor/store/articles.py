"""Articles, sightings and matches: insert-if-new, update-if-changed, one article for many feeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.match.types import Highlight, Match
from monitor.parse.article import Article
from monitor.store.clusters import ClusterInput, ClusterResult, assign_clusters, cluster_text
from monitor.store.models import Article as ArticleRow
from monitor.store.models import MatchRow, Sighting
from monitor.store.sql import insert_ignore


@dataclass(frozen=True, slots=True)
class ArticleChange:
    """An article that is new to the archive or whose content changed: it must be matched."""

    article: Article
    is_new: bool
    published_at: datetime
    cluster: ClusterResult | None = None  # None only when clustering was switched off


def save_articles(
    session: Session, feed_id: str, articles: Sequence[Article], now: datetime, *, cluster: bool = True
) -> list[ArticleChange]:
    """Store a feed's articles and their sightings, clustered with near-duplicates; return the new or changed."""
    unique = {a.id: a for a in articles}  # a feed listing one entry twice is one article
    if not unique:
        return []
    existing = {
        row.id: row for row in session.scalars(select(ArticleRow).where(ArticleRow.id.in_(list(unique))))
    }
    changes: list[ArticleChange] = []
    rows: dict[str, ArticleRow] = {}
    for article_id, article in unique.items():
        row = existing.get(article_id)
        if row is None:
            published = article.published_at or now
            row = ArticleRow(
                id=article_id, guid=article.guid, url=article.url, title=article.title,
                summary_html=article.summary_html, content_html=article.content_html,
                summary_text=article.summary_text, content_text=article.content_text,
                author=article.author, language=article.language, published_at=published,
                first_seen_at=now, updated_at=now, content_hash=article.content_hash,
                first_feed_id=feed_id,
            )
            session.add(row)
            rows[article_id] = row
            changes.append(ArticleChange(article, True, published))
        elif row.content_hash != article.content_hash:
            row.url, row.title, row.author = article.url, article.title, article.author
            row.summary_html, row.content_html = article.summary_html, article.content_html
            row.summary_text, row.content_text = article.summary_text, article.content_text
            row.language, row.content_hash, row.updated_at = article.language, article.content_hash, now
            rows[article_id] = row
            changes.append(ArticleChange(article, False, row.published_at))
    session.flush()
    if cluster and changes:
        clusters = assign_clusters(
            session,
            [
                ClusterInput(
                    c.article.id,
                    cluster_text(c.article.title, c.article.summary_text, c.article.content_text),
                    rows[c.article.id].cluster_id,
                )
                for c in changes
            ],
            now,
        )
        for i, change in enumerate(changes):
            result = clusters[change.article.id]
            rows[change.article.id].cluster_id = result.cluster_id
            changes[i] = ArticleChange(change.article, change.is_new, change.published_at, result)
    insert_ignore(
        session,
        Sighting.__table__,  # type: ignore[arg-type]
        [{"article_id": i, "feed_id": feed_id, "first_seen_at": now, "last_seen_at": now} for i in unique],
        conflict=("article_id", "feed_id"),
    )
    return changes


def save_matches(
    session: Session, article_id: str, content_hash: str, matches: Sequence[Match], now: datetime,
    *, is_new: bool = False,
) -> list[tuple[int, Match]]:
    """Record an article's matches (replacing the explanation of a re-matched entry); return their ids."""
    if not matches:
        return []
    # A new article has no matches yet: skip the per-article SELECT (most articles are new).
    rows = {} if is_new else {
        (row.watchlist, row.entry_id): row
        for row in session.scalars(select(MatchRow).where(MatchRow.article_id == article_id))
    }
    touched: list[tuple[MatchRow, Match]] = []
    for match in matches:
        row = rows.get((match.watchlist, match.id))
        highlights = [h.to_json() for h in match.highlights]
        if row is None:
            row = MatchRow(
                article_id=article_id, watchlist=match.watchlist, entry_kind=match.kind, entry_id=match.id,
                entry_name=match.name, highlights=highlights, snippet=match.snippet,
                content_hash=content_hash, created_at=now,
            )
            session.add(row)
        else:
            row.entry_name, row.highlights, row.snippet = match.name, highlights, match.snippet
            row.content_hash = content_hash
        touched.append((row, match))
    session.flush()  # assigns ids to new rows
    return [(row.id, match) for row, match in touched]


def match_from_row(row: MatchRow) -> Match:
    """Rebuild the matcher's Match from a stored row."""
    return Match(
        watchlist=row.watchlist,
        kind="actor" if row.entry_kind == "actor" else "topic",
        id=row.entry_id,
        name=row.entry_name,
        highlights=tuple(Highlight(**h) for h in row.highlights or []),
        snippet=row.snippet,
    )
