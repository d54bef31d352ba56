"""Story clusters: near-duplicate articles (syndicated wire copy, re-titled updates) share a cluster_id.

The hashing is pure (monitor/dedupe/minhash.py: shingles, MinHash signature, LSH band keys); this
module keeps its SQL. The band keys are rows of `cluster_keys`, so any process finds candidates with
one indexed SQL query (SQLite and PostgreSQL alike); each candidate is then confirmed by the exact
Jaccard similarity of the two texts' shingle sets. See docs/feeds.md for the threshold and the parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from monitor.dedupe.minhash import (
    PREFILTER,
    THRESHOLD,
    Fingerprint,
    cluster_text,
    estimated_similarity,
    fingerprint,
    jaccard,
    shingles,
)
from monitor.store.rows import ArticleRow, ClusterKey, Feed, RoutedItem, Sighting
from monitor.store.sql import chunked, insert_many, select_by_keys, select_in

WINDOW = timedelta(days=7)
"""Only articles first seen this recently are candidates: a story is news for about a week."""
MAX_CANDIDATES = 50
"""Candidates verified per article at most (the most recent first); bounds boilerplate blowups."""
_CLUSTER_KEYS = cast(Table, ClusterKey.__table__)
_ARTICLES = cast(Table, ArticleRow.__table__)


@dataclass(frozen=True, slots=True)
class ClusterInput:
    """An article just stored (new or changed) that needs a cluster."""

    article_id: str
    text: str
    cluster_id: str | None  # the cluster it already has (an updated article keeps it)
    fingerprint: Fingerprint | None = None  # precomputed (e.g. by a parse worker); else computed here


@dataclass(frozen=True, slots=True)
class ClusterResult:
    """The cluster an article ended in, and whether that is another article's cluster."""

    cluster_id: str
    joined: bool
    similarity: float


def find_clusters(
    session: Session, items: Sequence[ClusterInput], now: datetime
) -> tuple[dict[str, ClusterResult], dict[str, Fingerprint]]:
    """The cluster of each article and its fingerprint; reads only, so it may run before the articles are stored.

    Articles of the same batch see each other.
    """
    if not items:
        return {}, {}
    prints = {item.article_id: item.fingerprint or fingerprint(item.text) for item in items}
    ids = set(prints)
    all_keys = sorted({k for fp in prints.values() for k in fp.keys})
    stored: dict[int, list[str]] = {}
    if all_keys:
        # Keys alone (a primary-key range lookup); joining articles here lets SQLite's planner
        # scan every recent article instead. The window is applied to the few candidates below.
        found = select_by_keys(session, _CLUSTER_KEYS, ("key", "article_id"), "key", all_keys)
        for key, article_id in found:
            stored.setdefault(int(key), []).append(str(article_id))
        # Candidates in article id order, whatever order the index gave (row order on equal keys):
        # the first of equally similar candidates wins, and the MAX_CANDIDATES cut keeps the first.
        for articles in stored.values():
            articles.sort()
    candidate_ids = {a for lst in stored.values() for a in lst} - ids
    # Fingerprints, not shingle sets: a set is made only for an article that meets a candidate
    # (a parse process sends the hashes packed; most new articles meet none).
    known: dict[str, tuple[Fingerprint, str]] = {}
    if candidate_ids:
        limit = MAX_CANDIDATES * len(items)
        found_recent: list[tuple[Any, ...]]
        if len(candidate_ids) > limit:
            # Only then can the limit drop any: ordered by first_seen_at, PostgreSQL walked that
            # index over every recent article (~11,000 rows a call at 20,000) instead of probing the ids.
            query = select(ArticleRow.id, ArticleRow.minhash, ArticleRow.cluster_id).where(
                ArticleRow.id.in_(candidate_ids), ArticleRow.first_seen_at >= now - WINDOW
            ).order_by(ArticleRow.first_seen_at.desc()).limit(limit)
            found_recent = [tuple(row) for row in session.execute(query)]
        else:
            found_recent = [
                row for part in chunked(sorted(candidate_ids))
                for row in select_in(session, _ARTICLES, ("id", "minhash", "cluster_id"), "id", part,
                                     at_least=("first_seen_at", now - WINDOW))
            ]
        recent: dict[str, tuple[bytes | None, str]] = {
            article_id: (minhash, cluster_id or article_id) for article_id, minhash, cluster_id in found_recent
        }
        # Only candidates whose signature is close enough (or that have none: stored before signatures
        # were) are read and compared exactly.
        wanted = set()
        for item in items:
            fp = prints[item.article_id]
            if stored.keys().isdisjoint(fp.keys):
                continue
            for key in fp.keys:
                for other in stored.get(key, ()):
                    if other in recent:
                        stored_minhash = recent[other][0]
                        if stored_minhash is None or fp.minhash is None or (
                            estimated_similarity(fp.minhash, stored_minhash) >= PREFILTER
                        ):
                            wanted.add(other)
        if wanted:
            for row in session.execute(
                select(ArticleRow.id, ArticleRow.title, ArticleRow.summary_text, ArticleRow.content_text)
                .where(ArticleRow.id.in_(wanted))
            ):
                text = cluster_text(row.title, row.summary_text, row.content_text)
                known[row.id] = (Fingerprint(shingles(text), ()), recent[row.id][1])
    results: dict[str, ClusterResult] = {}
    # Keys of this batch's articles, so they see each other: the first article of each key, and the
    # later ones apart (most keys have one; a list for each of a feed's ~320 keys cost ~0.1 ms).
    batch: dict[int, str] = {}
    batch_more: dict[int, list[str]] = {}
    for item in items:
        fp = prints[item.article_id]
        best: tuple[float, str] | None = None
        # Most articles share no key with a stored article or an earlier one of the batch: two
        # set checks in C skip the walk over their keys.
        if not (stored.keys().isdisjoint(fp.keys) and batch.keys().isdisjoint(fp.keys)):
            seen: set[str] = set()
            for key in fp.keys:
                in_batch = (batch[key], *batch_more.get(key, ())) if key in batch else ()
                for other in [*stored.get(key, ()), *in_batch]:
                    if other == item.article_id or other in seen or other not in known or len(seen) >= MAX_CANDIDATES:
                        continue
                    seen.add(other)
                    other_print, other_cluster = known[other]
                    similarity = jaccard(fp.shingles, other_print.shingles)
                    if similarity >= THRESHOLD and (best is None or similarity > best[0]):
                        best = (similarity, other_cluster)
        if item.cluster_id is not None:
            # An updated article stays where it was: moving it would change what was already sent.
            result = ClusterResult(item.cluster_id, item.cluster_id != item.article_id, best[0] if best else 0.0)
        elif best is not None:
            result = ClusterResult(best[1], True, best[0])
        else:
            result = ClusterResult(item.article_id, False, 0.0)
        results[item.article_id] = result
        known[item.article_id] = (fp, result.cluster_id)
        own = dict.fromkeys(fp.keys, item.article_id)
        if batch.keys().isdisjoint(own):
            batch.update(own)
        else:
            for key in own:
                if key in batch:
                    batch_more.setdefault(key, []).append(item.article_id)
                else:
                    batch[key] = item.article_id
    return results, prints


def index_clusters(
    session: Session, prints: Mapping[str, Fingerprint], *, stale: Mapping[str, Sequence[int]] | None = None
) -> None:
    """Store the band keys of stored articles, after deleting `stale` keys (an updated article's old ones)."""
    if stale:
        delete_band_keys(session, stale)
    key_rows = [(key, article_id) for article_id, fp in prints.items() for key in set(fp.keys)]
    insert_many(session, _CLUSTER_KEYS, ("key", "article_id"), key_rows)


def stored_band_keys(session: Session, article_ids: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """The band keys that were indexed for stored articles, recomputed from their stored text."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(ArticleRow.id, ArticleRow.title, ArticleRow.summary_text, ArticleRow.content_text)
        .where(ArticleRow.id.in_(list(article_ids)))
    )
    return {row.id: fingerprint(cluster_text(row.title, row.summary_text, row.content_text)).keys for row in rows}


def delete_band_keys(session: Session, keys: Mapping[str, Sequence[int]]) -> None:
    """Delete articles' band keys (by article id), each by its primary key."""
    rows = [{"k": key, "a": article_id} for article_id, article_keys in keys.items() for key in set(article_keys)]
    if rows:
        table = _CLUSTER_KEYS
        session.execute(delete(table).where(table.c.key == bindparam("k"), table.c.article_id == bindparam("a")), rows)


def routed_in_cluster(session: Session, cluster_id: str, article_id: str) -> set[tuple[str, str, str]]:
    """(subscriber, watchlist, entry) already routed for another article of the cluster."""
    rows = session.execute(
        select(RoutedItem.subscriber_id, RoutedItem.watchlist, RoutedItem.entry_id)
        .join(ArticleRow, ArticleRow.id == RoutedItem.article_id)
        .where(ArticleRow.cluster_id == cluster_id, RoutedItem.article_id != article_id)
    ).all()
    return {(str(s), str(w), str(e)) for s, w, e in rows}


def cluster_feeds(session: Session, article_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """For each article, the feeds (id, display name) that carried it, then those of the rest of its cluster.

    Each part ordered by first sighting: [0] is the article's source, [1:] is "also reported by".
    Every IN list is bound in chunks (`chunked`): any number of articles and clusters fits.
    """
    if not article_ids:
        return {}
    clusters: dict[str, str | None] = {}
    for part in chunked(dict.fromkeys(article_ids)):
        clusters.update(session.execute(select(ArticleRow.id, ArticleRow.cluster_id).where(ArticleRow.id.in_(part))).all())
    cluster_ids = sorted({c for c in clusters.values() if c})
    sightings = (
        select(ArticleRow.id, ArticleRow.cluster_id, Feed.id, Feed.name, Feed.title, Sighting.first_seen_at)
        .join(Sighting, Sighting.article_id == ArticleRow.id)
        .join(Feed, Feed.id == Sighting.feed_id)
    )
    found: dict[tuple[str, str], tuple[Any, ...]] = {}  # (article, feed) -> row: an article may be found twice
    for column, values in ((ArticleRow.id, list(clusters)), (ArticleRow.cluster_id, cluster_ids)):
        for part in chunked(values):
            for row in session.execute(sightings.where(column.in_(part))):
                found[(str(row[0]), str(row[2]))] = tuple(row)
    rows = sorted(found.values(), key=lambda r: (r[5], r[2]))
    own: dict[str, list[tuple[str, str]]] = {}
    by_cluster: dict[str, list[tuple[str, str]]] = {}
    for member_id, cluster_id, feed_id, name, title, _seen in rows:
        entry = (str(feed_id), str(name or title or feed_id))
        own.setdefault(member_id, []).append(entry)
        if cluster_id:
            by_cluster.setdefault(cluster_id, []).append(entry)
    result = {}
    for article_id, cluster_id in clusters.items():
        feeds = list(own.get(article_id, []))
        for entry in by_cluster.get(cluster_id, []) if cluster_id else []:
            if entry not in feeds:
                feeds.append(entry)
        result[article_id] = feeds
    return result
