"""Articles, sightings and matches: insert-if-new, update-if-changed, one article for many feeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from monitor.dedupe.minhash import Fingerprint, cluster_text
from monitor.model import Article, Highlight, Match
from monitor.store.clusters import (
    ClusterInput,
    ClusterResult,
    find_clusters,
    index_clusters,
    stored_band_keys,
)
from monitor.store.db import Database
from monitor.store.rows import ArticleRow, MatchRow, Sighting
from monitor.store.sql import chunked, insert_many, insert_new, insert_returning_ids, select_in

_ARTICLES = cast(Table, ArticleRow.__table__)
_MATCHES = cast(Table, MatchRow.__table__)
_SIGHTINGS = cast(Table, Sighting.__table__)
_EXISTING = ("id", "content_hash", "published_at", "cluster_id", "first_feed_id")
"""What `save_articles` reads of a feed's stored articles."""


@dataclass(frozen=True, slots=True)
class ArticleChange:
    """An article that is new to the archive or whose content changed: it must be matched."""

    article: Article
    is_new: bool
    published_at: datetime
    cluster: ClusterResult | None = None  # None only when clustering was switched off
    # The feed the article was first seen in: its Document's source and tags (monitor/match/documents.py).
    first_feed_id: str | None = None


def publication_time(claimed: datetime | None, first_seen: datetime) -> datetime:
    """When an article counts as published: the feed's date, but never later than first seen (feeds lie).

    A feed without a date gets the first-seen time; a date in the future (a wrong clock or time zone at the
    source, or an embargoed item) would keep the article ahead of every "last N days" window, sort it above
    everything for weeks, and put a time that has not come yet in emails, so it is clamped to first-seen.
    A date far in the past is kept: the article is old news, and windows by publication date leave it out.
    """
    return first_seen if claimed is None or claimed > first_seen else claimed


def save_articles(
    session: Session, feed_id: str, articles: Sequence[Article], now: datetime, *, cluster: bool = True,
    fingerprints: Mapping[str, Fingerprint] | None = None,
) -> list[ArticleChange]:
    """Store a feed's articles and their sightings, clustered with near-duplicates; return the new or changed.

    `fingerprints` (by article id) may come precomputed from a parse worker; missing ones are computed here.
    """
    unique = {a.id: a for a in articles}  # a feed listing one entry twice is one article
    if not unique:
        return []
    # Core statements throughout: the ORM unit of work cost more than the SQL itself at 20 rows a feed.
    existing = {
        row[0]: row
        for part in chunked(unique)
        for row in select_in(session, _ARTICLES, _EXISTING, "id", part)
    }
    changes: list[ArticleChange] = []
    old_cluster: dict[str, str | None] = {}
    for article_id, article in unique.items():
        found = existing.get(article_id)
        if found is None:
            changes.append(ArticleChange(article, True, publication_time(article.published_at, now), first_feed_id=feed_id))
            old_cluster[article_id] = None
        else:
            _, content_hash, published_at, cluster_id, first_feed_id = found
            if content_hash != article.content_hash:
                changes.append(ArticleChange(article, False, published_at, first_feed_id=first_feed_id))
                old_cluster[article_id] = cluster_id
    clusters: dict[str, ClusterResult] = {}
    prints: dict[str, Fingerprint] = {}
    stale_keys: dict[str, tuple[int, ...]] = {}
    if cluster and changes:
        # An updated article is re-indexed from scratch: its old keys describe its old text (still stored).
        stale_keys = stored_band_keys(session, [c.article.id for c in changes if not c.is_new])
        # Clusters are found before the rows are written, so each row is written once, cluster included.
        clusters, prints = find_clusters(
            session,
            [
                ClusterInput(
                    c.article.id,
                    cluster_text(c.article.title, c.article.summary_text, c.article.content_text),
                    old_cluster[c.article.id],
                    fingerprints.get(c.article.id) if fingerprints else None,
                )
                for c in changes
            ],
            now,
        )
        changes = [
            ArticleChange(c.article, c.is_new, c.published_at, clusters[c.article.id], c.first_feed_id)
            for c in changes
        ]
    new_rows = [_row(c, feed_id, now, prints.get(c.article.id)) for c in changes if c.is_new]
    if new_rows:
        inserted = {key for (key,) in insert_new(session, _ARTICLES, new_rows, conflict=["id"])}
        if len(inserted) < len(new_rows):
            # Another writer (a process polling another feed that carries the same story) stored these
            # since we looked; its transaction matches and routes them. Ours records the sighting only.
            lost = {row["id"] for row in new_rows} - inserted
            changes = [c for c in changes if c.article.id not in lost]
            prints = {i: fp for i, fp in prints.items() if i not in lost}
    updated = [c for c in changes if not c.is_new]
    if updated:
        session.execute(
            update(_ARTICLES).where(_ARTICLES.c.id == bindparam("b_id")),
            [_updated_values(c, now, old_cluster[c.article.id], prints.get(c.article.id)) for c in updated],
        )
    if prints:
        index_clusters(session, prints, stale=stale_keys)
    insert_many(
        session, _SIGHTINGS, ("article_id", "feed_id", "first_seen_at", "last_seen_at"),
        [(i, feed_id, now, now) for i in unique], skip_conflicts_on=("article_id", "feed_id"),
    )
    return changes


def _row(change: ArticleChange, feed_id: str, now: datetime, fp: Fingerprint | None) -> dict[str, Any]:
    a = change.article
    return {
        "id": a.id, "guid": a.guid, "url": a.url, "title": a.title, "summary_html": a.summary_html,
        "content_html": a.content_html, "summary_text": a.summary_text, "content_text": a.content_text,
        "author": a.author, "language": a.language, "published_at": change.published_at, "first_seen_at": now,
        "updated_at": now, "content_hash": a.content_hash, "first_feed_id": feed_id,
        "cluster_id": change.cluster.cluster_id if change.cluster else None, "minhash": fp.minhash if fp else None,
    }


def _updated_values(
    change: ArticleChange, now: datetime, cluster_id: str | None, fp: Fingerprint | None
) -> dict[str, Any]:
    a = change.article
    return {
        "b_id": a.id, "url": a.url, "title": a.title, "author": a.author, "summary_html": a.summary_html,
        "content_html": a.content_html, "summary_text": a.summary_text, "content_text": a.content_text,
        "language": a.language, "content_hash": a.content_hash, "updated_at": now,
        "cluster_id": change.cluster.cluster_id if change.cluster else cluster_id,
        "minhash": fp.minhash if fp else None,
    }


def save_feed_matches(
    session: Session, items: Sequence[tuple[str, str, Sequence[Match], bool]], now: datetime
) -> list[list[tuple[int, Match]]]:
    """`save_matches` for many (article id, content hash, matches, is_new) at once: one INSERT for new articles."""
    out: list[list[tuple[int, Match]]] = [[] for _ in items]
    rows: list[dict[str, Any]] = []
    owners: list[tuple[int, Match]] = []
    for n, (article_id, content_hash, matches, is_new) in enumerate(items):
        if not is_new:
            # A re-matched entry may replace stored explanations: the per-article path handles that.
            out[n] = save_matches(session, article_id, content_hash, matches, now)
            continue
        for match in matches:
            rows.append({
                "article_id": article_id, "watchlist": match.watchlist, "entry_kind": match.kind,
                "entry_id": match.id, "entry_name": match.name, "snippet": match.snippet,
                "highlights": [h.to_json() for h in match.highlights], "more_highlights": match.more_highlights,
                "content_hash": content_hash, "created_at": now,
            })
            owners.append((n, match))
    if rows:
        ids = insert_returning_ids(session, _MATCHES, rows)
        for (n, match), match_id in zip(owners, ids, strict=True):
            out[n].append((int(match_id), match))
    return out


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
                entry_name=match.name, highlights=highlights, more_highlights=match.more_highlights,
                snippet=match.snippet, content_hash=content_hash, created_at=now,
            )
            session.add(row)
        else:
            row.entry_name, row.highlights, row.snippet = match.name, highlights, match.snippet
            row.more_highlights = match.more_highlights
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
        more_highlights=row.more_highlights or 0,
    )


def published_before(db: Database, moment: datetime) -> tuple[int, datetime | None]:
    """How many stored articles were published before `moment`, and the oldest publication time."""
    with db.sessions() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(ArticleRow.published_at)).where(ArticleRow.published_at < moment)
        ).one()
    if oldest is not None and isinstance(oldest, datetime):
        oldest = oldest.replace(tzinfo=UTC) if oldest.tzinfo is None else oldest.astimezone(UTC)
    return int(count or 0), oldest


def stored_content_hashes(db: Database, article_ids: Sequence[str]) -> dict[str, str]:
    """The content hash of each of these articles that is stored, by id (one query)."""
    if not article_ids:
        return {}
    with db.sessions() as session:
        rows = session.execute(
            select(ArticleRow.id, ArticleRow.content_hash).where(ArticleRow.id.in_(list(article_ids)))
        ).all()
        return {str(i): str(h) for i, h in rows}
