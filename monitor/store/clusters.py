"""Story clusters: near-duplicate articles (syndicated wire copy, re-titled updates) share a cluster_id.

Near-duplicates are found by MinHash over word 3-shingles with LSH banding. The band keys are
rows of `cluster_keys`, so any process finds candidates with one indexed SQL query (SQLite and
PostgreSQL alike); each candidate is then confirmed by the exact Jaccard similarity of the two
texts' shingle sets. See docs/feeds.md for the threshold and the parameters.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from monitor.store.models import ArticleRow, ClusterKey, Feed, RoutedItem, Sighting
from monitor.store.sql import chunked, insert_many, select_by_keys

SHINGLE_WORDS = 3
"""Word 3-shingles: long enough that two stories on one topic share few, short enough that a
changed paragraph leaves most of an update's shingles intact."""
THRESHOLD = 0.4
"""Exact Jaccard similarity of shingle sets at or above which two articles are one story."""
BINS = 32
"""Signature length (one-permutation MinHash bins)."""
ROWS = 2
"""Signature values per LSH band: 16 bands of 2 make a pair at J=0.4 a candidate with p≈0.94."""
MIN_SHINGLES = 8
"""Texts shorter than this (about 10 words) are never clustered: too little evidence."""
WINDOW = timedelta(days=7)
"""Only articles first seen this recently are candidates: a story is news for about a week."""
MAX_CANDIDATES = 50
"""Candidates verified per article at most (the most recent first); bounds boilerplate blowups."""
PREFILTER = 0.25
"""Stored candidates whose signatures estimate a similarity below this are dropped without reading their text.

Unrelated news articles share a few stock 3-shingles ("said in a"): J ≈ 0.005, and with 16 bands of 2
a pair shares a band key by chance with p ≈ 16·J² ≈ 4e-4, so a week's archive of 100,000 articles
gives every new one ~40 such candidates. Reading and shingling each one's text cost ~0.1-0.5 ms; the
signature (32 bins) says at once that only the band's 2 bins agree. A pair at J = 0.4 agrees in
fewer than 8 of 32 bins with p ≈ 0.02 (binomial), at J = 0.5 with p < 0.001."""

_WORD = re.compile(r"\w+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_MASK64 = (1 << 64) - 1
_M1, _M2, _M3 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_BIN_BITS = BINS.bit_length() - 1
_VALUE_MASK = (1 << (64 - _BIN_BITS)) - 1
_EMPTY = -1
_SIGNATURE = struct.Struct(f"<{BINS}Q")  # bin values are < 2**64: the rotation tag is 5 bits over 59
_CLUSTER_KEYS = cast(Table, ClusterKey.__table__)


def _fold(text: str) -> str:
    # Syndicated copies differ in typography (quotes, diacritics, case) more than in words.
    text = text.casefold()
    return text if text.isascii() else _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def shingles(text: str) -> frozenset[int]:
    """The 64-bit hashes of the text's word 3-shingles (stable across processes and runs)."""
    # crc32 per word and a multiplicative mix per shingle: a tenth of the cost of a
    # cryptographic hash per shingle, and Python's own hash() differs from process to process.
    ids = [zlib.crc32(word.encode()) for word in _WORD.findall(_fold(text))]
    if len(ids) < SHINGLE_WORDS:
        return frozenset()
    out = set()
    for a, b, c in zip(ids, ids[1:], ids[2:], strict=False):
        h = (((a * _M1 + b) * _M2 + c) * _M3) & _MASK64
        out.add(h ^ (h >> 31))
    return frozenset(out)


def signature(hashes: Iterable[int]) -> list[int]:
    """One-permutation MinHash: each hash falls in one bin, the bin keeps its minimum.

    O(n) instead of the O(n*k) of k hash functions; empty bins are filled by rotation
    (Shrivastava and Li, 2014): the next non-empty bin's value, tagged with the distance.
    """
    sig = [_EMPTY] * BINS
    for h in hashes:
        b, value = h >> (64 - _BIN_BITS), h & _VALUE_MASK
        if sig[b] == _EMPTY or value < sig[b]:
            sig[b] = value
    if _EMPTY in sig and any(v != _EMPTY for v in sig):
        filled = list(sig)
        for i in range(BINS):
            if sig[i] != _EMPTY:
                continue
            for distance in range(1, BINS):
                j = (i + distance) % BINS
                if sig[j] != _EMPTY:
                    filled[i] = (sig[j] << 5) | distance
                    break
        sig = filled
    return sig


def band_keys(sig: Sequence[int]) -> list[int]:
    """One signed 64-bit key per LSH band (the band number is hashed in, so one column suffices)."""
    keys = []
    for band in range(BINS // ROWS):
        part = ",".join(str(v) for v in sig[band * ROWS : (band + 1) * ROWS])
        digest = hashlib.blake2b(f"{band}:{part}".encode(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))  # BIGINT is signed on PostgreSQL
    return keys


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def cluster_text(title: str, summary_text: str, content_text: str) -> str:
    """The text that identifies a story: title and body (the summary only when there is no content)."""
    return f"{title}\n{content_text or summary_text}"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A text's shingle hashes, MinHash signature and LSH band keys: computable anywhere (pure CPU)."""

    shingles: frozenset[int]
    keys: tuple[int, ...]  # empty when the text is too short to cluster
    minhash: bytes | None = None  # the signature packed (stored on the article); None when `keys` is empty


def fingerprint(text: str) -> Fingerprint:
    """Shingles, signature and band keys of a cluster text (pure: safe to compute in a pool process)."""
    sh = shingles(text)
    if len(sh) < MIN_SHINGLES:
        return Fingerprint(sh, ())
    sig = signature(sh)
    return Fingerprint(sh, tuple(band_keys(sig)), _SIGNATURE.pack(*sig))


def estimated_similarity(a: bytes, b: bytes) -> float:
    """The Jaccard similarity two packed signatures estimate: the share of bins with the same minimum."""
    return sum(x == y for x, y in zip(_SIGNATURE.unpack(a), _SIGNATURE.unpack(b), strict=True)) / BINS


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
    candidate_ids = {a for lst in stored.values() for a in lst} - ids
    known: dict[str, tuple[frozenset[int], str]] = {}
    if candidate_ids:
        recent = {
            row.id: (row.minhash, row.cluster_id or row.id)
            for row in session.execute(
                select(ArticleRow.id, ArticleRow.minhash, ArticleRow.cluster_id)
                .where(ArticleRow.id.in_(candidate_ids), ArticleRow.first_seen_at >= now - WINDOW)
                .order_by(ArticleRow.first_seen_at.desc())
                .limit(MAX_CANDIDATES * len(items))
            )
        }
        # Only candidates whose signature is close enough (or that have none: stored before signatures
        # were) are read and compared exactly.
        wanted = set()
        for item in items:
            fp = prints[item.article_id]
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
                known[row.id] = (shingles(cluster_text(row.title, row.summary_text, row.content_text)),
                                 recent[row.id][1])
    results: dict[str, ClusterResult] = {}
    batch: dict[int, list[str]] = {}  # keys of this batch's articles, so they see each other
    for item in items:
        fp = prints[item.article_id]
        best: tuple[float, str] | None = None
        seen: set[str] = set()
        for key in fp.keys:
            for other in [*stored.get(key, ()), *batch.get(key, ())]:
                if other == item.article_id or other in seen or other not in known or len(seen) >= MAX_CANDIDATES:
                    continue
                seen.add(other)
                other_shingles, other_cluster = known[other]
                similarity = jaccard(fp.shingles, other_shingles)
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
        known[item.article_id] = (fp.shingles, result.cluster_id)
        for key in fp.keys:
            batch.setdefault(key, []).append(item.article_id)
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
