"""The batch writer: fetched feeds stored several per transaction, a failing feed kept to itself.

Each feed is refreshed by `refresh_feed` (monitor/refresh/refresh.py); this module only decides how
many go into one transaction, retries a failed one with a savepoint per feed, and (on PostgreSQL,
where two writers run) admits a batch through the write gate (monitor/refresh/write_gate.py).
"""

from __future__ import annotations

import logging
import threading
import time

from monitor.fetch import FetchResult
from monitor.refresh.parse_pool import Prepared
from monitor.refresh.poll_report import FeedReport, PollSummary
from monitor.refresh.refresh import (
    Fetched,
    RefreshContext,
    StoreFailed,
    is_quiet,
    record_quiet_polls,
    refresh_feed,
)
from monitor.refresh.write_gate import BatchStories, WriteGate
from monitor.store.feeds import FeedRepository

log = logging.getLogger("monitor.pipeline")

WRITE_BATCH = 50
"""Fetched feeds stored in one transaction at most (each in its own savepoint)."""
WRITE_BUDGET = 0.25
"""Seconds of storing after which a transaction commits even with feeds left (others wait for its lock)."""


class BatchWriter:
    """Stores batches of fetched feeds, one transaction for several; called from writer threads."""

    def __init__(self, feeds: FeedRepository, ctx: RefreshContext, writers: int) -> None:
        self.feeds = feeds
        self.ctx = ctx
        self.writers = writers
        """Writer transactions at once (the poller runs this many writer tasks); 1: no gate needed."""
        self._gate = WriteGate()
        self._summary_lock = threading.Lock()

    def write_exclusive(self, batch: list[Fetched], summary: PollSummary) -> None:
        """`write`, once no other writer is storing a story of this batch (see monitor/refresh/write_gate.py)."""
        if self.writers == 1:  # SQLite: nobody to wait for, so no stories to collect
            self.write(batch, summary)
            return
        stories: BatchStories | None = None  # a feed parsed by the writer itself: its stories are unknown
        if not any(isinstance(result, FetchResult) and result.body is not None and parsed is None
                   for _, result, parsed in batch):
            stories = BatchStories.of(
                item for _, _, parsed in batch if isinstance(parsed, Prepared) for item in parsed.fingerprints.items()
            )
        with self._gate.holding(stories):
            self.write(batch, summary)

    def write(self, batch: list[Fetched], summary: PollSummary) -> None:
        """Store fetched feeds, several per transaction; counted in `summary` once committed."""
        # Quiet polls (304, same body) first: their rows are written together at the start of the transaction.
        pending = [item for item in batch if is_quiet(item)] + [item for item in batch if not is_quiet(item)]
        while pending:
            try:
                reports = self._transaction(pending)
            except Exception:
                if len(pending) == 1:
                    raise
                # The transaction itself failed (not one feed: those roll back to their savepoint).
                log.exception("feed_batch_failed feeds=%d (storing them one per transaction)", len(pending))
                for item in pending:
                    self.write([item], summary)
                return
            with self._summary_lock:  # writers may run in two threads at once (PostgreSQL)
                for report in reports:
                    report.add_to(summary)
            pending = pending[len(reports):]

    def _transaction(self, items: list[Fetched]) -> list[FeedReport]:
        """Refresh feeds from the front of `items` in one transaction (as many as the time budget allows).

        Feeds are stored without savepoints first (a savepoint, its release and a feed-row UPDATE of
        its own cost each feed two or three round trips); should one feed fail to store, that
        transaction is rolled back and the same feeds are stored again, each in its own savepoint,
        so that only the failing feed fails.
        """
        try:
            return self._transaction_with(items, isolated=False)
        except StoreFailed as failed:
            log.info("feed_batch_isolating feeds=%d feed_id=%s error=%r", len(items), failed.feed_id, failed.__cause__)
            return self._transaction_with(items, isolated=True)

    def _transaction_with(self, items: list[Fetched], *, isolated: bool) -> list[FeedReport]:
        started = time.monotonic()
        quiet = 0
        while quiet < len(items) and is_quiet(items[quiet]):  # `write` put them first
            quiet += 1
        with self.feeds.writing([feed.id for feed, _, _ in items[quiet:]]) as session:
            reports = record_quiet_polls(session, self.ctx, items[:quiet])
            for feed, result, parsed in items[quiet:]:
                reports.append(refresh_feed(session, self.ctx, feed, result, parsed, isolated=isolated))
                if time.monotonic() - started > WRITE_BUDGET:
                    break
        return reports
