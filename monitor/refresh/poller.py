"""The poller: claims due feeds, fetches them concurrently and hands them to the writers as they arrive.

The machinery only: what one feed's refresh does is `refresh_feed` (monitor/refresh/refresh.py), run by
the batch writer (monitor/refresh/writer.py) in writer threads; bodies are parsed in the parse processes
(monitor/refresh/parse_runner.py) as soon as they are fetched.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import timedelta

from monitor.clock import Clock, system_clock
from monitor.errors import DatabaseUnavailable
from monitor.fetch import Fetcher, FetchResult
from monitor.fetch.robots import RobotsCache
from monitor.parse.formats.sitemap import looks_like_sitemap
from monitor.refresh.full_text import add_full_text
from monitor.refresh.offload import KnownArticles, Offload, offloaded
from monitor.refresh.parse_pool import ParseLimits, Prepared
from monitor.refresh.parse_runner import ParseRunner
from monitor.refresh.poll_report import PollSummary
from monitor.refresh.refresh import Fetched, RefreshContext
from monitor.refresh.runtime import Runtime
from monitor.refresh.sitemap import SITEMAP_KINDS, expand_sitemap
from monitor.refresh.writer import WRITE_BATCH, BatchWriter
from monitor.store.db import Database
from monitor.store.feeds import ClaimedFeed, FeedRepository
from monitor.store.websub import Push, delete_pushes, pending_pushes

log = logging.getLogger("monitor.pipeline")

POOL_MIN_FEEDS = 8
"""Batches of fewer claimed feeds parse in a thread: starting processes pays off only for a queue."""
POSTGRES_WRITERS = 2
"""Writer transactions at once on PostgreSQL (SQLite: 1)."""


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
        # What each feed carried when last stored: its parse process then matches only the new articles.
        self.known = KnownArticles()
        # SQLite takes one writer at a time. On PostgreSQL a writer waits on the server about two thirds
        # of its time, which a second writer transaction fills; the gate keeps two batches that share a
        # story from being written at once (benchmarks/README.md).
        self.writer = BatchWriter(
            self.feeds,
            RefreshContext(self.runtime, self.clock, self.owner, self.parsing.remember_killer, self.known.remember),
            writers=1 if db.is_sqlite else POSTGRES_WRITERS,
        )
        # Feeds whose lease a failed tick could not give back (the database was unreachable): given
        # back at the start of the next tick rather than left leased until the lease ends.
        self._unreleased: set[str] = set()
        # Sitemap pages honour robots.txt; the rules are cached per host across ticks (monitor/fetch/robots.py).
        self.robots = RobotsCache(self.clock)

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
        # The processes match too, with the watchlists in force (restarted with new ones after a reload),
        # unless those are too large to hand over (`OFFLOAD_MAX_PATTERNS`).
        pool = self.parsing.pool(offloaded(self.runtime().matcher)) if len(claimed) >= POOL_MIN_FEEDS else None

        async def fetch_one(feed: ClaimedFeed) -> Fetched:
            try:
                result = await fetcher.fetch(
                    feed.url, etag=feed.etag, last_modified=feed.last_modified, previous_body_hash=feed.body_hash
                )
            except Exception as exc:  # recorded on the feed row, never fatal to the tick
                return feed, exc, None
            return await self._prepare(fetcher, feed, result, pool)

        await self._write_batch(claimed, fetch_one, summary)

    async def _prepare(
        self, fetcher: Fetcher, feed: ClaimedFeed, result: FetchResult, pool: ProcessPoolExecutor | None
    ) -> Fetched:
        """A fetched (or pushed) body, parsed ahead where it pays or must (pool, full text, sitemap, known killer)."""
        runtime = self.runtime()
        config_feed = runtime.feeds.get(feed.id)
        full_text = bool(config_feed and config_feed.full_text)
        # A sitemap's entries need their pages (and an index its children) before storing, like full text.
        sitemap = result.body is not None and looks_like_sitemap(result.body)
        if result.body is None or not (full_text or sitemap or pool or self.parsing.is_known_killer(result)):
            return feed, result, None  # parsed by refresh_feed, in the writer's thread
        # Where what the feed carried when last stored is known and its articles are stored as parsed, the
        # parse process does no work for those articles, and matches the others when it holds the
        # watchlists in force: the writer's own matches (monitor/refresh/offload.py).
        known = self.known.known(feed.id, ever_stored=feed.body_hash is not None)
        offload = None
        if known is not None and pool is not None and not (full_text or sitemap):
            offload = Offload.for_feed(
                feed.id, config_feed, known, match=self.parsing.matches_with(pool) is runtime.matcher,
                fingerprint_known=self.writer.writers > 1,  # the write gate compares every article's band keys
            )
        try:
            # Parsed as soon as fetched, in the pool, while the writer stores earlier feeds.
            prepared = await self.parsing.prepare(
                result, config_feed.language if config_feed else None, pool, offload
            )
            if offload is not None and isinstance(prepared, Prepared) and prepared.matches is not None:
                prepared = replace(prepared, matched_with=runtime)
            if isinstance(prepared, Prepared) and prepared.feed.format in SITEMAP_KINDS:
                prepared = await expand_sitemap(
                    self.db, fetcher, prepared, sitemap_url=result.final_url, robots=self.robots,
                    user_agent=self.runtime().config.settings.fetch.user_agent,
                    language=config_feed.language if config_feed else None,
                )
            elif full_text and isinstance(prepared, Prepared):
                # Full text needs the parsed entries before storing: fetch pages, then store.
                prepared = await add_full_text(self.db, fetcher, prepared)
            return feed, result, prepared
        except Exception as exc:
            return feed, exc, None

    async def refresh_inbox(self) -> PollSummary:
        """Refresh the feeds whose WebSub hubs pushed a body (the oldest push of each); drop the pushes handled."""
        pushes = await asyncio.to_thread(pending_pushes, self.db)
        if not pushes:
            return PollSummary()
        summary, done = await self.refresh_pushed(pushes)
        await asyncio.to_thread(delete_pushes, self.db, done)
        return summary

    async def refresh_pushed(self, pushes: Sequence[Push]) -> tuple[PollSummary, list[int]]:
        """Refresh feeds from bodies their WebSub hubs pushed, by the same path as a poll's (refresh_feed).

        Returns the summary and the ids of the pushes handled (a feed whose lease is held by a poll
        in flight keeps its push for the next tick).
        """
        summary = PollSummary()
        settings = self.runtime().config.settings
        lease = settings.fetch.timeout * 3 + timedelta(seconds=60)
        by_feed = {p.feed_id: p for p in pushes}
        claimed = await asyncio.to_thread(self.feeds.claim_for_push, self.owner, self.clock(), list(by_feed), lease=lease)
        if not claimed:
            return summary, []
        async with Fetcher(settings.fetch, allow_local_feeds=settings.allow_local_feeds) as fetcher:

            async def arrived(feed: ClaimedFeed) -> Fetched:
                push = by_feed[feed.id]
                body = push.body
                result = FetchResult(
                    requested_url=feed.url, final_url=feed.url, status=200, body=body,
                    body_hash=hashlib.sha256(body).hexdigest(), content_type=push.content_type, etag=None,
                    last_modified=None, retry_after=None, max_age=None, permanent_redirect=None, not_modified=False,
                    unchanged=False, elapsed=0.0, pushed=True,
                )
                return await self._prepare(fetcher, feed, result, None)

            await self._write_batch(claimed, arrived, summary)
        return summary, [by_feed[feed.id].id for feed in claimed]

    async def _write_batch(
        self, claimed: list[ClaimedFeed], arrive: Callable[[ClaimedFeed], Awaitable[Fetched]], summary: PollSummary
    ) -> None:
        """Have every claimed feed arrive (fetched, or pushed) and store them as they come, in writer threads."""
        ready: asyncio.Queue[Fetched] = asyncio.Queue()

        async def fetch_into_queue(feed: ClaimedFeed) -> None:
            try:
                ready.put_nowait(await arrive(feed))
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
                write = asyncio.ensure_future(asyncio.to_thread(self.writer.write_exclusive, batch, summary))
                in_flight.append(write)
                await asyncio.shield(write)

        writers = [asyncio.ensure_future(write_from_queue()) for _ in range(max(1, self.writer.writers))]
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
        except DatabaseUnavailable as exc:
            self._unreleased.update(feed_ids)
            log.error("lease_release_deferred feeds=%d reason=%s error=%r", len(feed_ids), reason, str(exc))
            return
        self._unreleased.difference_update(feed_ids)
        for feed_id in released:
            log.info("lease_released feed_id=%s owner=%s reason=%s", feed_id, self.owner, reason)
