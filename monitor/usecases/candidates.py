"""The full-text index for the use cases: keeping it filled, and the stored articles a query can match.

Candidate selection (archive search, `/query`, `monitor backtest`): a query is reduced to the index
terms every match of it has (monitor/match/terms.py); the index answers with a superset of its matches
(plus every article not indexed yet), and the matcher decides on each. A query with no such term (only
NOT, `lang:`, `tag:`, `@actor`, `author:`..., or a `watchlist/entry`) selects nothing: the caller scans.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence

from monitor.config.models import Config
from monitor.match.query import parse_query
from monitor.match.terms import candidate_query, index_terms
from monitor.model import IndexQuery, body_text
from monitor.store.db import Database
from monitor.store.rows import ArticleRow
from monitor.store.search import articles_by_id, index_pending

log = logging.getLogger(__name__)

ROWS_BATCH = 200
_ENTRY = re.compile(r"^([a-z0-9][a-z0-9_.-]*)/([a-z0-9][a-z0-9_.-]*)$")


def article_terms(row: ArticleRow) -> list[str]:
    """The index terms of a stored article: its title and body (the matcher's body), in its language."""
    return index_terms(row.title, body_text(row.summary_text, row.content_text), row.language)


def index_articles(db: Database, *, seconds: float | None = None) -> int:
    """Index the queued articles, batch by batch, until none is left or `seconds` have passed; returns how many."""
    done = 0
    started = time.monotonic()
    while True:
        taken = index_pending(db, article_terms)
        done += taken
        if not taken or (seconds is not None and time.monotonic() - started >= seconds):
            break
    if done:
        log.info("search_index indexed=%d seconds=%.1f", done, time.monotonic() - started)
    return done


def index_query(config: Config, query: str) -> IndexQuery | None:
    """The index terms a query's matches all have, or None when the index cannot narrow it (scan instead).

    Raises QuerySyntaxError as the matcher does; callers compile the matcher first.
    """
    entry = _ENTRY.match(query.strip())
    if entry and entry.group(1) in config.watchlists:
        return None  # a watchlist entry: its names and query are the configuration's
    return candidate_query(parse_query(query))


def rows_in_order(db: Database, ids: Sequence[str]) -> Iterator[ArticleRow]:
    """The stored articles with these ids, in this order, read a batch at a time."""
    for i in range(0, len(ids), ROWS_BATCH):
        yield from articles_by_id(db, ids[i:i + ROWS_BATCH])
