"""One feed refresh, wired in one place: fetch -> parse -> store -> match -> route."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.errors import FetchError, ParseError
from monitor.fetch import Fetcher, FetchResult, next_poll_at
from monitor.match.types import Document
from monitor.parse import parse_feed
from monitor.parse.article import ParsedFeed
from monitor.runtime import Runtime
from monitor.store.articles import save_articles, save_matches
from monitor.store.db import Database
from monitor.store.feeds import ClaimedFeed, FeedRepository, PollOutcome
from monitor.store.outbox import add_routed_items

log = logging.getLogger("monitor.pipeline")

Clock = Callable[[], datetime]


def worker_id() -> str:
    """An id for this process in leases: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class PollSummary:
    """What one poll tick did."""

    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    errors: int = 0
    new_articles: int = 0
    updated_articles: int = 0
    matches: int = 0
    routed: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)


class FeedPoller:
    """Claims due feeds and refreshes them: fetch concurrently, then parse, store, match, route."""

    def __init__(
        self,
        db: Database,
        runtime: Callable[[], Runtime],
        *,
        owner: str | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        batch_size: int = 500,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self.owner = owner or worker_id()
        self.clock = clock
        self.batch_size = batch_size
        self.feeds = FeedRepository(db)

    async def poll_due(self) -> PollSummary:
        """Poll every feed that is due now (in batches until none is left)."""
        summary = PollSummary()
        settings = self.runtime().config.settings
        lease = settings.fetch.timeout * 3 + timedelta(seconds=60)
        async with Fetcher(settings.fetch, allow_local_feeds=settings.allow_local_feeds) as fetcher:
            while True:
                claimed = self.feeds.claim_due(self.owner, self.clock(), limit=self.batch_size, lease=lease)
                if not claimed:
                    break
                await self._poll_batch(fetcher, claimed, summary)
                if len(claimed) < self.batch_size:
                    break
        return summary

    async def _poll_batch(self, fetcher: Fetcher, claimed: list[ClaimedFeed], summary: PollSummary) -> None:
        async def fetch_one(feed: ClaimedFeed) -> tuple[ClaimedFeed, FetchResult | Exception]:
            try:
                return feed, await fetcher.fetch(
                    feed.url, etag=feed.etag, last_modified=feed.last_modified, previous_body_hash=feed.body_hash
                )
            except Exception as exc:  # recorded on the feed row, never fatal to the tick
                return feed, exc

        tasks = [asyncio.ensure_future(fetch_one(feed)) for feed in claimed]
        try:
            for next_done in asyncio.as_completed(tasks):
                feed, result = await next_done
                # Parsing, matching and SQL are CPU/blocking work: keep them off the event loop.
                await asyncio.to_thread(self._process, feed, result, summary)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            for feed in claimed:
                self.feeds.release(feed.id, self.owner)
            raise

    def _process(self, feed: ClaimedFeed, result: FetchResult | Exception, summary: PollSummary) -> None:
        runtime = self.runtime()
        now = self.clock()
        config_feed = runtime.feeds.get(feed.id)
        interval = runtime.config.feed_interval(config_feed) if config_feed else runtime.config.feed_defaults.interval
        max_interval = max(runtime.config.feed_defaults.max_interval, interval)
        summary.feeds += 1
        if isinstance(result, Exception):
            self._record_error(feed, result, now, interval, max_interval, summary)
            return
        parsed: ParsedFeed | None = None
        if result.body is not None:
            try:
                parsed = parse_feed(
                    result.body,
                    base_url=result.final_url,
                    content_type=result.content_type,
                    language_hint=config_feed.language if config_feed else None,
                )
            except ParseError as exc:
                self._record_error(feed, exc, now, interval, max_interval, summary, status=result.status)
                return
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
        with self.db.transaction() as session:
            changes = save_articles(session, feed.id, parsed.articles, now) if parsed else []
            routed_rows = []
            for change in changes:
                article = change.article
                document = Document(
                    title=article.title, body=article.body_text, author=article.author, url=article.url,
                    source=(config_feed.name if config_feed and config_feed.name else parsed.title if parsed else ""),
                    language=article.language,
                    tags=frozenset(config_feed.tags) if config_feed else frozenset(),
                )
                matches = runtime.matcher.match(document)
                saved = save_matches(session, article.id, article.content_hash, matches, now)
                summary.matches += len(saved)
                for match_id, match in saved:
                    for subscriber_id in runtime.router.subscribers_for(match.watchlist, match.id):
                        routed_rows.append((subscriber_id, article.id, match.watchlist, match.id, match_id))
            summary.routed += add_routed_items(session, routed_rows, now)
            self.feeds.record_in(session, feed.id, self.owner, outcome, now)
        new = sum(1 for c in changes if c.is_new)
        summary.new_articles += new
        summary.updated_articles += len(changes) - new
        if result.not_modified or result.unchanged:
            summary.not_modified += 1
        else:
            summary.ok += 1
        log.info(
            "feed_polled feed_id=%s status=%s unchanged=%s entries=%d new=%d updated=%d next_poll_at=%s",
            feed.id, result.status, result.not_modified or result.unchanged,
            len(parsed.articles) if parsed else 0, new, len(changes) - new,
            outcome.next_poll_at.isoformat(timespec="seconds"),
        )

    def _record_error(
        self,
        feed: ClaimedFeed,
        error: Exception,
        now: datetime,
        interval: timedelta,
        max_interval: timedelta,
        summary: PollSummary,
        status: int | None = None,
    ) -> None:
        if isinstance(error, FetchError | ParseError):
            kind, message = error.kind, error.message
        else:
            kind, message = "internal", f"{type(error).__name__}: {error}"
            log.exception("feed_poll_crashed feed_id=%s", feed.id, exc_info=error)
        status = getattr(error, "status", status)
        outcome = PollOutcome(
            status=status,
            next_poll_at=next_poll_at(
                now, interval=interval, max_interval=max_interval,
                consecutive_errors=feed.consecutive_errors + 1, retry_after=getattr(error, "retry_after", None),
            ),
            error_kind=kind,
            error_message=message,
            disable_reason=f"the server answered 410 Gone: {message}" if kind == "gone" else None,
        )
        self.feeds.record(feed.id, self.owner, outcome, now)
        summary.errors += 1
        summary.error_kinds[kind] = summary.error_kinds.get(kind, 0) + 1
        log.warning(
            "feed_poll_failed feed_id=%s error_kind=%s status=%s message=%r next_poll_at=%s",
            feed.id, kind, status, message, outcome.next_poll_at.isoformat(timespec="seconds"),
        )
