"""Archive search: the product's query language over every stored article, with filters and paging.

The full-text index selects the candidates (monitor/usecases/candidates.py), the matcher decides on each
in publication order, newest first, and stops once the page is full: results and highlights are those
of `/query` and `monitor backtest`. A query the index cannot narrow scans the newest `SCAN_LIMIT`
articles within the filters, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from monitor.config.models import Config
from monitor.match.documents import document_for
from monitor.model import Match
from monitor.store.db import Database
from monitor.store.search import SearchFilters, candidates, newest, newest_key, pending_count
from monitor.usecases.backtest import matcher_for
from monitor.usecases.candidates import index_query, rows_in_order
from monitor.usecases.match_documents import stored_labels

SCAN_LIMIT = 5000
"""A query with no indexable term is matched against at most this many articles (the newest)."""
FIRST_CANDIDATES = 200
"""Candidates read first (the newest); the rest only when the page is not full with them."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A stored article the query matches."""

    article_id: str
    title: str
    url: str
    published_at: datetime
    language: str | None
    feed_id: str | None
    source: str
    match: Match


@dataclass(slots=True)
class SearchOutcome:
    """One page of hits, whether more follow, and how the candidates were chosen."""

    hits: list[SearchHit] = field(default_factory=list)
    offset: int = 0
    limit: int = 20
    more: bool = False
    indexed: bool = True  # False: no indexable term, the newest SCAN_LIMIT articles were scanned
    candidates: int = 0  # articles the index (or the scan) put before the matcher
    candidates_capped: bool = False  # only the newest `candidates` were read: the page was full before the rest
    examined: int = 0  # of those, how many the matcher read to fill this page
    scan_capped: bool = False  # the scan stopped at SCAN_LIMIT while older articles remain
    unindexed: int = 0  # queue entries the indexer has not reached yet (each one is a candidate)


def search_archive(
    config: Config, db: Database, query: str, filters: SearchFilters, *, limit: int = 20, offset: int = 0,
) -> SearchOutcome:
    """The page of hits [offset, offset + limit) of a query (or `watchlist/entry`), newest published first.

    Raises QuerySyntaxError for a query that does not parse, MonitorError for an unknown @actor or entry.
    """
    matcher = matcher_for(config, query)
    wanted = index_query(config, query)
    outcome = SearchOutcome(offset=offset, limit=limit, unindexed=pending_count(db))
    labels = stored_labels(config, db, every_feed=True)
    hits: list[SearchHit] = []  # every hit up to the page's end, and one more to know that more follow

    def examine(found: list[tuple[str, datetime]]) -> bool:
        """Match these candidates in order; True once the page and one more hit are found."""
        for row in rows_in_order(db, [article_id for article_id, _ in found]):
            outcome.examined += 1
            label = labels(row.first_feed_id)
            match = matcher(document_for(row, label))
            if match is not None:
                hits.append(SearchHit(row.id, row.title, row.url, row.published_at, row.language,
                                      row.first_feed_id, label.source, match))
                if len(hits) > offset + limit:
                    return True
        return False

    if wanted is None:
        found, outcome.scan_capped = newest(db, filters, SCAN_LIMIT)
        outcome.indexed = False
        examine(found)
    else:
        # The newest candidates first, sorted by the database; all of them only if the page needs more.
        first = max(FIRST_CANDIDATES, 2 * (offset + limit + 1))
        found = candidates(db, wanted, filters, limit=first)
        if not examine(found) and len(found) == first:
            last = newest_key(found[-1])
            rest = [c for c in candidates(db, wanted, filters) if newest_key(c) > last]
            found += rest
            examine(rest)
        else:
            outcome.candidates_capped = len(found) == first
    outcome.candidates = len(found)
    outcome.hits = hits[offset:offset + limit]
    outcome.more = len(hits) > offset + limit
    return outcome
