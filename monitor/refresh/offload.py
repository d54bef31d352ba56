"""Matching in the parse processes, and no work there for articles stored as they are.

The writer thread and the event loop share the service process's interpreter lock; matching a feed's new
articles there cost that process ~1.2-1.5 ms a feed of 20 new articles on the demo watchlists, more with
large ones (benchmarks/README.md, "Issue 21 point 4"). A
parse process that holds the same compiled watchlists matches them instead, right after parsing, and the
writer uses those matches for the articles it finds new or changed, exactly as if it had made them:

- same watchlists: a pool's processes are started with one `CompiledWatchlists` (pickled once), and a
  parse's matches are used only by a writer whose `Runtime` is the one they were asked under
  (`Prepared.matched_with`); after a reload the writer matches itself until the pool is restarted;
- same Document: the label of a new article is its own feed's (configured name, else the feed's title
  from this very parse), so only articles first seen in this feed use them, and a feed without a
  configured name or a title of its own is matched by the writer (its label is the stored title);
- same text: matches are keyed by article id and content hash; full text and sitemap pages change the
  articles after parsing, so those feeds are matched by the writer.

Matching an article the writer then finds unchanged would be waste, so a parse process matches only the
articles its feed did not carry when it was last stored (`KnownArticles`, 8 bytes an article, kept in the
service process); a feed never stored carries none. After a restart the first refresh of each feed is
matched by the writer (nothing known yet). What remains is an article that another feed stored first
(wire copy), matched in the parse process and again by the writer if it changed.

The same knowledge spares the clustering fingerprints of the articles a feed carried as they are (most
of a changed feed's): the writer computes the fingerprint of any of them it finds changed after all, as
it does for a feed parsed in its own thread. Not on PostgreSQL, where the write gate
(monitor/refresh/write_gate.py) compares every article's band keys before a batch is written.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.match import CompiledWatchlists
from monitor.match.documents import document_for, label_parts, named_feed_label
from monitor.model import Article, Match, ParsedFeed

if TYPE_CHECKING:
    from monitor.config.models import FeedConfig

DIGEST_BYTES = 8
"""Bytes of one article's (id, content hash) digest: collisions only cost a writer-side match."""
KNOWN_FEEDS_KEPT = 50_000
"""Feeds whose stored articles are remembered (~300 bytes a feed of 20); beyond, the oldest are forgotten."""

OFFLOAD_MAX_PATTERNS = 25_000
"""Watchlists with more patterns are matched by the writer, not handed to the parse processes: pickling them
blocks the event loop (4.1 s at 100k actors + 10k topics, 240k patterns, 31 MB) on every reload, and each
process holds another copy (~150 MB there). The demo's have ~100; 10k actors + 1k topics ~24k."""

ArticleMatches = Mapping[str, tuple[str, list[Match]]]
"""Matches made in a parse process: by article id, the content hash they were made for and the matches."""


def article_digest(article: Article) -> bytes:
    """A short digest of an article's id and content hash: what says "stored as it is now"."""
    return hashlib.blake2b(f"{article.id}\0{article.content_hash}".encode(), digest_size=DIGEST_BYTES).digest()


@dataclass(frozen=True, slots=True)
class Offload:
    """What a parse process does beyond parsing for a feed whose stored articles are known."""

    feed_id: str
    name: str | None
    """The feed's configured name (its label's source), if any: not its FeedConfig, whose model the
    process would have to import and unpickle with every feed."""
    tags: frozenset[str]
    known: bytes
    """Digests of the articles the feed carried when last stored (`article_digest`, concatenated)."""
    match: bool = True
    """Match the new articles (the process holds the watchlists of the Runtime that asked)."""
    fingerprint_known: bool = False
    """Fingerprint the known articles too (PostgreSQL: the write gate needs every article's band keys)."""

    @classmethod
    def for_feed(
        cls, feed_id: str, configured: FeedConfig | None, known: bytes, *, match: bool = True,
        fingerprint_known: bool = False,
    ) -> Offload:
        """The offload of a configured feed (its name and tags label its documents, as `feed_label` makes them)."""
        name, tags = label_parts(configured)
        return cls(feed_id, name, tags, known, match, fingerprint_known)


def new_articles(feed: ParsedFeed, known: bytes) -> list[Article]:
    """The feed's articles (the last of one id, as the store keeps them) whose digest is not in `known`."""
    digests = {known[i:i + DIGEST_BYTES] for i in range(0, len(known), DIGEST_BYTES)}
    unique = {a.id: a for a in feed.articles}
    return [a for a in unique.values() if article_digest(a) not in digests]


class KnownArticles:
    """Per feed, the digests of the articles it carried when last stored (service process; bounded)."""

    def __init__(self, kept: int = KNOWN_FEEDS_KEPT) -> None:
        self._kept = kept
        self._digests: dict[str, bytes] = {}
        self._lock = threading.Lock()  # two writer threads remember at once on PostgreSQL

    def remember(self, feed_id: str, articles: Iterable[Article]) -> None:
        """Record what a feed carried when its articles were stored (called by the writer)."""
        digests = b"".join(article_digest(a) for a in articles)
        with self._lock:
            # Re-inserted at the end: the dict's order is then least recently stored first.
            self._digests.pop(feed_id, None)
            if len(self._digests) >= self._kept:
                self._digests.pop(next(iter(self._digests)), None)
            self._digests[feed_id] = digests

    def known(self, feed_id: str, ever_stored: bool) -> bytes | None:
        """The feed's known digests; empty for a feed never stored; None when unknown (after a restart)."""
        with self._lock:
            digests = self._digests.get(feed_id)
        if digests is None and not ever_stored:
            return b""
        return digests


def offloaded(matcher: CompiledWatchlists) -> CompiledWatchlists | None:
    """The watchlists the parse processes match with: `matcher`, unless it is too large to hand over."""
    return matcher if matcher.pattern_count <= OFFLOAD_MAX_PATTERNS else None


def match_new_articles(
    matcher: CompiledWatchlists, feed: ParsedFeed, offload: Offload, new: Iterable[Article]
) -> dict[str, tuple[str, list[Match]]] | None:
    """In a parse process: the matches of the feed's `new` articles, or None when the label is unknown."""
    if not offload.name and not feed.title:
        return None  # the writer labels it with the feed's stored title, which only it can read
    label = named_feed_label(offload.feed_id, offload.name, offload.tags, feed.title)
    return {a.id: (a.content_hash, matcher.match(document_for(a, label))) for a in new}


def premade_matches(matches: ArticleMatches | None, article: Article) -> list[Match] | None:
    """The matches a parse process made for this very text of the article, else None (the writer matches)."""
    if matches is None:
        return None
    made = matches.get(article.id)
    if made is None or made[0] != article.content_hash:
        return None
    return made[1]
