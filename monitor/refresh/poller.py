"""One feed refresh, wired in one place: fetch -> parse -> store -> match -> route."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace as dc_replace
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from monitor.clock import Clock, system_clock
from monitor.errors import FeedErrorKind, FetchError, ParseError
from monitor.fetch import Fetcher, FetchResult, next_poll_at
from monitor.match.documents import FeedLabels, document_for
from monitor.model import Article, ParsedFeed
from monitor.parse.fulltext import extract_main_text, needs_full_text, with_full_text
from monitor.refresh.parse_pool import PARSE_LIMIT_MESSAGE, ParseLimits, Prepared
from monitor.refresh.parse_runner import ParseRunner, parse_here
from monitor.refresh.report import FeedReport, PollSummary
from monitor.refresh.runtime import Runtime
from monitor.refresh.write_gate import BatchStories, WriteGate
from monitor.store.articles import save_articles, save_feed_matches
from monitor.store.clusters import Fingerprint, routed_in_cluster
from monitor.store.db import Database
from monitor.store.feeds import ClaimedFeed, FeedRepository, PollOutcome, feed_title_in
from monitor.store.models import ArticleRow
from monitor.store.models import Feed as FeedRow
from monitor.store.outbox import add_routed_items
from monitor.store.sql import begin_writes
from monitor.store.subscriptions import opted_out_in

log = logging.getLogger("monitor.pipeline")

MAX_FULL_TEXT_PAGES = 25
"""Linked pages fetched per feed poll at most (`full_text: true`); the rest keep their summary."""
POOL_MIN_FEEDS = 8
"""Batches of fewer claimed feeds parse in a thread: starting processes pays off only for a queue."""
WRITE_BATCH = 50
"""Fetched feeds stored in one transaction at most (each in its own savepoint)."""
WRITE_BUDGET = 0.25
"""Seconds of storing after which a transaction commits even with feeds left (others wait for its lock)."""
POSTGRES_WRITERS = 2
"""Writer transactions at once on PostgreSQL (SQLite: 1)."""


Parsed = Prepared | ParseError | None
Fetched = tuple[ClaimedFeed, FetchResult | Exception, Parsed]
"""A claimed feed with its fetch result (or error) and, when parsed off the writer thread, its parse."""


def worker_id() -> str:
    """An id for this process in leases: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class FeedPoller:
    """Claims due feeds and refreshes them: fetch concurrently, then parse, store, match, route."""

    def __init__(
        self,
        db: Database,
        runtime: Callable[[], Runtime],
        *,
        owner: str | None = None,
        clock: Clock = system_clock,
        batch_size: int = 500,
        parse_workers: int | None = None,
        parse_limits: ParseLimits | None = None,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self.owner = owner or worker_id()
        self.clock = clock
        self.batch_size = batch_size
        self.feeds = FeedRepository(db)
        # Parsing runs in processes so that a second core works while this one stores and matches, and
        # a hostile body meets the processes' limits (parse_limits None: derived from fetch.max_bytes).
        self.parsing = ParseRunner(
            max(1, os.cpu_count() or 1) if parse_workers is None else parse_workers,
            lambda: parse_limits or ParseLimits.for_body_cap(self.runtime().config.settings.fetch.max_bytes),
        )
        # SQLite takes one writer at a time. On PostgreSQL a writer waits on the server about two thirds
        # of its time, which a second writer transaction fills; the gate keeps two batches that share a
        # story from being written at once (benchmarks/README.md).
        self.writers = 1 if db.is_sqlite else POSTGRES_WRITERS
        self._gate = WriteGate()
        self._summary_lock = threading.Lock()
        # Feeds whose lease a failed tick could not give back (the database was unreachable): given
        # back at the start of the next tick rather than left leased until the lease ends.
        self._unreleased: set[str] = set()

    def close(self) -> None:
        """Stop the parse processes (a later poll starts new ones)."""
        self.parsing.close()

    async def poll_due(self, feed_ids: Sequence[str] | None = None) -> PollSummary:
        """Poll every feed that is due now, or only those of `feed_ids` (in batches until none is left)."""
        summary = PollSummary()
        settings = self.runtime().config.settings
        lease = settings.fetch.timeout * 3 + timedelta(seconds=60)
        if self._unreleased:
            await asyncio.to_thread(self._release, sorted(self._unreleased), "tick_failed")
        async with Fetcher(settings.fetch, allow_local_feeds=settings.allow_local_feeds) as fetcher:
            while True:
                claimed = self.feeds.claim_due(
                    self.owner, self.clock(), limit=self.batch_size, lease=lease, feed_ids=feed_ids
                )
                if not claimed:
                    break
                await self._poll_batch(fetcher, claimed, summary)
                if len(claimed) < self.batch_size:
                    break
        return summary

    async def _poll_batch(self, fetcher: Fetcher, claimed: list[ClaimedFeed], summary: PollSummary) -> None:
        pool = self.parsing.pool() if len(claimed) >= POOL_MIN_FEEDS else None

        async def fetch_one(feed: ClaimedFeed) -> Fetched:
            try:
                result = await fetcher.fetch(
                    feed.url, etag=feed.etag, last_modified=feed.last_modified, previous_body_hash=feed.body_hash
                )
            except Exception as exc:  # recorded on the feed row, never fatal to the tick
                return feed, exc, None
            config_feed = self.runtime().feeds.get(feed.id)
            full_text = bool(config_feed and config_feed.full_text)
            if result.body is None or not (full_text or pool or self.parsing.is_known_killer(result)):
                return feed, result, None  # parsed by _process, in the writer's thread
            try:
                # Parsed as soon as fetched, in the pool, while the writer stores earlier feeds.
                prepared = await self.parsing.prepare(result, config_feed.language if config_feed else None, pool)
                if full_text and isinstance(prepared, Prepared):
                    # Full text needs the parsed entries before storing: fetch pages, then store.
                    prepared = await self._add_full_text(fetcher, prepared)
                return feed, result, prepared
            except Exception as exc:
                return feed, exc, None

        ready: asyncio.Queue[Fetched] = asyncio.Queue()

        async def fetch_into_queue(feed: ClaimedFeed) -> None:
            try:
                ready.put_nowait(await fetch_one(feed))
            except Exception as exc:  # noqa: BLE001 - every claimed feed must reach the writer
                ready.put_nowait((feed, exc, None))

        tasks = [asyncio.ensure_future(fetch_into_queue(feed)) for feed in claimed]
        in_flight: list[asyncio.Future[None]] = []  # writer transactions (threads), finished or not
        unreserved = len(claimed)  # feeds no writer has counted on yet (every claimed feed reaches the queue)

        async def write_from_queue() -> None:
            nonlocal unreserved
            while unreserved:
                # Whatever is ready goes into one transaction: the writer sets the pace, and a
                # commit (and its round trips) is shared by every feed fetched meanwhile.
                unreserved -= 1  # reserve one feed, then take whichever arrives
                batch = [await ready.get()]
                # More only while some are unreserved: another writer may be waiting for the queued ones.
                while len(batch) < WRITE_BATCH and unreserved and not ready.empty():
                    batch.append(ready.get_nowait())
                    unreserved -= 1
                # Parsing, matching and SQL are CPU/blocking work: keep them off the event loop. Shielded:
                # on a failure elsewhere the transaction is waited for (a thread cannot be cancelled).
                write = asyncio.ensure_future(asyncio.to_thread(self._write_exclusive, batch, summary))
                in_flight.append(write)
                await asyncio.shield(write)

        writers = [asyncio.ensure_future(write_from_queue()) for _ in range(max(1, self.writers))]
        try:
            await asyncio.gather(*writers)
        except BaseException as exc:
            for writer in writers:
                writer.cancel()
            for task in tasks:
                task.cancel()
            # A writer thread cannot be cancelled: let a running transaction end before its feeds' leases go.
            await asyncio.gather(*in_flight, return_exceptions=True)
            reason = "stopping" if isinstance(exc, asyncio.CancelledError) else "tick_failed"
            # Feeds recorded before the failure hold no lease any more: only the others are released.
            await asyncio.to_thread(self._release, [feed.id for feed in claimed], reason)
            raise

    def _release(self, feed_ids: list[str], reason: str) -> None:
        """Give back this poller's leases on feeds (those still held), logging each; kept for later if that fails."""
        try:
            released = self.feeds.release_many(feed_ids, self.owner)
        except (OperationalError, InterfaceError) as exc:
            self._unreleased.update(feed_ids)
            log.error("lease_release_deferred feeds=%d reason=%s error=%r", len(feed_ids), reason, str(exc.orig))
            return
        self._unreleased.difference_update(feed_ids)
        for feed_id in released:
            log.info("lease_released feed_id=%s owner=%s reason=%s", feed_id, self.owner, reason)

    async def _add_full_text(self, fetcher: Fetcher, prepared: Prepared) -> Prepared:
        """Replace summaries of new or changed entries by their linked page's main text."""
        parsed = prepared.feed
        stored = await asyncio.to_thread(self._stored_hashes, [a.id for a in parsed.articles])
        wanted = [
            a for a in parsed.articles if stored.get(a.id) != a.content_hash and needs_full_text(a)
        ][:MAX_FULL_TEXT_PAGES]

        async def page(article: Article) -> Article:
            try:
                # The same Fetcher: same deadline, size cap, redirect bound and address policy as feeds.
                fetched = await fetcher.fetch(article.url)
            except FetchError as exc:
                log.info("full_text_failed url=%s error_kind=%s message=%r", article.url, exc.kind, exc.message)
                return article
            if fetched.body is None:
                return article
            text = await asyncio.to_thread(
                extract_main_text, fetched.body, url=fetched.final_url, content_type=fetched.content_type
            )
            return with_full_text(article, text) if text else article

        enriched = {a.id: a for a in await asyncio.gather(*(page(a) for a in wanted))}
        # Fingerprints describe the feed's text; an enriched article's is computed again when stored.
        return Prepared(
            dc_replace(parsed, articles=tuple(enriched.get(a.id, a) for a in parsed.articles)),
            {i: fp for i, fp in prepared.fingerprints.items() if i not in enriched},
        )

    def _stored_hashes(self, article_ids: list[str]) -> dict[str, str]:
        if not article_ids:
            return {}
        with self.db.sessions() as session:
            rows = session.execute(
                select(ArticleRow.id, ArticleRow.content_hash).where(ArticleRow.id.in_(article_ids))
            ).all()
            return {str(i): str(h) for i, h in rows}

    def _write_exclusive(self, batch: list[Fetched], summary: PollSummary) -> None:
        """`_write`, once no other writer is storing a story of this batch (see monitor/refresh/write_gate.py)."""
        if self.writers == 1:  # SQLite: nobody to wait for, so no stories to collect
            self._write(batch, summary)
            return
        stories: BatchStories | None = None  # a feed parsed by the writer itself: its stories are unknown
        if not any(isinstance(result, FetchResult) and result.body is not None and parsed is None
                   for _, result, parsed in batch):
            stories = BatchStories.of(
                item for _, _, parsed in batch if isinstance(parsed, Prepared) for item in parsed.fingerprints.items()
            )
        with self._gate.holding(stories):
            self._write(batch, summary)

    def _write(self, batch: list[Fetched], summary: PollSummary) -> None:
        """Store fetched feeds, several per transaction; counted in `summary` once committed."""
        pending = batch
        while pending:
            try:
                reports = self._write_transaction(pending)
            except Exception:
                if len(pending) == 1:
                    raise
                # The transaction itself failed (not one feed: those roll back to their savepoint).
                log.exception("feed_batch_failed feeds=%d (storing them one per transaction)", len(pending))
                for item in pending:
                    self._write([item], summary)
                return
            with self._summary_lock:  # writers may run in two threads at once (PostgreSQL)
                for report in reports:
                    report.add_to(summary)
            pending = pending[len(reports):]

    def _write_transaction(self, items: list[Fetched]) -> list[FeedReport]:
        """Refresh feeds from the front of `items` in one transaction (as many as the time budget allows).

        Feeds are stored without savepoints first (a savepoint, its release and a feed-row UPDATE of
        its own cost each feed two or three round trips); should one feed fail to store, that
        transaction is rolled back and the same feeds are stored again, each in its own savepoint,
        so that only the failing feed fails.
        """
        try:
            return self._write_transaction_with(items, isolated=False)
        except _StoreFailed as failed:
            log.info("feed_batch_isolating feeds=%d feed_id=%s error=%r", len(items), failed.feed_id, failed.__cause__)
            return self._write_transaction_with(items, isolated=True)

    def _write_transaction_with(self, items: list[Fetched], *, isolated: bool) -> list[FeedReport]:
        started = time.monotonic()
        reports: list[FeedReport] = []
        with self.db.transaction() as session:
            begin_writes(session, cast(Table, FeedRow.__table__))
            rows = self.feeds.load_in(session, [feed.id for feed, _, _ in items])  # held for record_in
            # The feed rows' changes are flushed together at commit (one executemany), not one by one
            # before each query.
            with session.no_autoflush:
                for feed, result, parsed in items:
                    reports.append(self._refresh_in(session, feed, result, parsed, isolated=isolated))
                    if time.monotonic() - started > WRITE_BUDGET:
                        break
            del rows
        return reports

    def _refresh_in(
        self, session: Session, feed: ClaimedFeed, result: FetchResult | Exception, pre_parsed: Parsed = None,
        *, isolated: bool = True,
    ) -> FeedReport:
        """One feed's refresh inside the caller's transaction: parse, store, match, route, record.

        `isolated`: storing runs in a savepoint, and a failure rolls back this feed's writes only and
        is recorded as its error. Otherwise a failure raises `_StoreFailed` (the caller rolls back).
        """
        runtime = self.runtime()
        now = self.clock()
        config_feed = runtime.feeds.get(feed.id)
        interval = runtime.config.feed_interval(config_feed) if config_feed else runtime.config.feed_defaults.interval
        max_interval = max(runtime.config.feed_defaults.max_interval, interval)
        if isinstance(result, Exception):
            return self._record_error_in(session, feed, result, now, interval, max_interval)
        parsed: ParsedFeed | None = pre_parsed.feed if isinstance(pre_parsed, Prepared) else None
        if result.body is not None and parsed is None:
            try:
                if isinstance(pre_parsed, ParseError):
                    raise pre_parsed
                parsed = parse_here(result, config_feed.language if config_feed else None)
            except ParseError as exc:
                if exc.message == PARSE_LIMIT_MESSAGE:
                    self.parsing.remember_killer(result)  # next time in a parse process, never in this one
                return self._record_error_in(session, feed, exc, now, interval, max_interval, status=result.status)
        fingerprints = pre_parsed.fingerprints if isinstance(pre_parsed, Prepared) else None
        entry_times = [a.published_at for a in parsed.articles if a.published_at] if parsed else []
        outcome = PollOutcome(
            status=result.status,
            next_poll_at=next_poll_at(
                now, interval=interval, max_interval=max_interval, consecutive_errors=0,
                max_age=result.max_age, ttl_minutes=parsed.ttl_minutes if parsed else None,
                recent_entry_times=entry_times,
            ),
            etag=result.etag, last_modified=result.last_modified, body_hash=result.body_hash,
            title=parsed.title if parsed else None, new_url=result.permanent_redirect,
            fetch_ms=round(result.elapsed * 1000, 1),
        )
        report = FeedReport(
            feed.id, result.status, outcome.next_poll_at, entries=len(parsed.articles) if parsed else 0,
            unchanged=result.not_modified or result.unchanged,
        )
        if parsed is None:
            # 304 or the same body as last time: only the feed row changes (flushed with the batch's).
            self.feeds.record_in(session, feed.id, self.owner, outcome, now)
            return report
        try:
            with session.begin_nested() if isolated else nullcontext():
                self._store_in(session, runtime, feed.id, parsed, fingerprints, now, report)
                self.feeds.record_in(session, feed.id, self.owner, outcome, now)
        except (OperationalError, InterfaceError):
            raise  # the database's trouble, not this feed's: the transaction fails
        except Exception as exc:
            if not isolated:
                raise _StoreFailed(feed.id) from exc
            return self._record_error_in(session, feed, exc, now, interval, max_interval, status=result.status)
        return report

    def _store_in(
        self, session: Session, runtime: Runtime, feed_id: str, parsed: ParsedFeed,
        fingerprints: dict[str, Fingerprint] | None, now: datetime, report: FeedReport,
    ) -> None:
        """Store a parsed feed's articles, match the new or changed ones and route the matches."""
        changes = save_articles(session, feed_id, parsed.articles, now, fingerprints=fingerprints)
        # The source is that of the feed the article was first seen in, as the backtest and the article
        # page rebuild it; this feed's title is the one `record_in` stores with this transaction.
        labels = FeedLabels(runtime.feeds, lambda first: (
            parsed.title if first == feed_id and parsed.title else feed_title_in(session, first)))
        matched = [runtime.matcher.match(document_for(c.article, labels(c.first_feed_id))) for c in changes]
        # One INSERT for the feed's matches (ids come back in order) instead of a flush per article.
        items = [(c.article.id, c.article.content_hash, m, c.is_new) for c, m in zip(changes, matched, strict=True)]
        saved_all = save_feed_matches(session, items, now)
        routed_rows = []
        matches = suppressed = 0
        for change, saved in zip(changes, saved_all, strict=True):
            article = change.article
            matches += len(saved)
            # A near-duplicate of a story already routed for an entry is not alerted again; its
            # feed shows as "also reported by" on the first one instead.
            already = (
                routed_in_cluster(session, change.cluster.cluster_id, article.id)
                if saved and change.cluster and change.cluster.joined else set()
            )
            for match_id, match in saved:
                for subscriber_id in runtime.router.subscribers_for(match.watchlist, match.id):
                    if (subscriber_id, match.watchlist, match.id) in already:
                        suppressed += 1
                        continue
                    routed_rows.append((subscriber_id, article.id, match.watchlist, match.id, match_id))
        if routed_rows:
            # Read in this transaction: an opt-out committed before it is honoured (one committed
            # while it runs is caught by the deliver tick, which cancels what reached them).
            opted_out = opted_out_in(session)
            routed_rows = [row for row in routed_rows if row[0] not in opted_out]
        report.routed = add_routed_items(session, routed_rows, now)
        report.new = sum(1 for c in changes if c.is_new)
        report.updated = len(changes) - report.new
        report.matches, report.suppressed = matches, suppressed

    def _record_error_in(
        self,
        session: Session,
        feed: ClaimedFeed,
        error: Exception,
        now: datetime,
        interval: timedelta,
        max_interval: timedelta,
        status: int | None = None,
    ) -> FeedReport:
        kind: FeedErrorKind
        retry_after: float | None = None
        if isinstance(error, FetchError):
            kind, message, retry_after = error.kind, error.message, error.retry_after
            status = error.status if error.status is not None else status
        elif isinstance(error, ParseError):
            kind, message = error.kind, error.message
        else:
            kind, message = "internal", f"{type(error).__name__}: {error}"
            log.exception("feed_poll_crashed feed_id=%s", feed.id, exc_info=error)
        outcome = PollOutcome(
            status=status,
            next_poll_at=next_poll_at(
                now, interval=interval, max_interval=max_interval,
                consecutive_errors=feed.consecutive_errors + 1, retry_after=retry_after,
            ),
            error_kind=kind,
            error_message=message,
            disable_reason=f"the server answered 410 Gone: {message}" if kind == "gone" else None,
        )
        self.feeds.record_in(session, feed.id, self.owner, outcome, now)
        return FeedReport(feed.id, status, outcome.next_poll_at, error_kind=kind, error_message=message)


class _StoreFailed(Exception):
    """A feed failed to store in a transaction without savepoints: roll back, then store feeds one savepoint each."""

    def __init__(self, feed_id: str) -> None:
        super().__init__(feed_id)
        self.feed_id = feed_id
