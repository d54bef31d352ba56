"""One feed's refresh, top to bottom, inside the caller's transaction: no concurrency here.

    fetched (or its error) -> parse -> poll outcome -> save articles (clustered) -> match the new or
    changed ones -> route the matches -> record the feed's health

The machinery that runs many of these at once is beside it: monitor/refresh/poller.py (claims due
feeds, fetches them concurrently, queues them), monitor/refresh/writer.py (transactions of several
feeds, the write gate), monitor/refresh/parse_runner.py (the parse processes). The decisions are in
monitor/refresh/decide.py, apart from I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.clock import Clock
from monitor.dedupe.minhash import Fingerprint
from monitor.errors import FetchError, ParseError
from monitor.fetch import FetchResult
from monitor.match.documents import FeedLabels, document_for
from monitor.model import Article, Match, ParsedFeed
from monitor.refresh.decide import (
    Holds,
    Routing,
    error_outcome,
    poll_intervals,
    pushed_outcome,
    route,
    success_outcome,
)
from monitor.refresh.offload import ArticleMatches, premade_matches
from monitor.refresh.parse_pool import PARSE_LIMIT_MESSAGE, Prepared
from monitor.refresh.parse_runner import parse_here
from monitor.refresh.poll_report import FeedReport
from monitor.refresh.runtime import Runtime
from monitor.store.articles import ArticleChange, save_articles, save_feed_matches
from monitor.store.clusters import routed_in_cluster
from monitor.store.db import Transaction, is_unavailable
from monitor.store.feeds import ClaimedFeed, feed_title_in
from monitor.store.outbox import add_routed_items, alerted_for_story
from monitor.store.poll_records import record_poll_in, record_quiet_polls_in
from monitor.store.snoozes import SnoozesFrom, snoozes_from_in
from monitor.store.subscriptions import OptOut, opted_out_in

log = logging.getLogger("monitor.refresh.poller")

Parsed = Prepared | ParseError | None
"""A body parsed off the writer thread (with its fingerprints), its parse error, or None: parse it here."""
Fetched = tuple[ClaimedFeed, FetchResult | Exception, Parsed]
"""A claimed feed with its fetch result (or error) and, when parsed off the writer thread, its parse."""


@dataclass(frozen=True, slots=True)
class RefreshContext:
    """What every refresh of a poller shares: the configuration in force, the clock, the lease owner."""

    runtime: Callable[[], Runtime]
    clock: Clock
    owner: str
    remember_killer: Callable[[FetchResult], None]
    """Called with a body that exhausted the parser here: later polls parse it in a process of its own."""
    remember_stored: Callable[[str, Sequence[Article]], None] | None = None
    """Called with a feed's articles once stored: its next parse matches only new ones (monitor/refresh/offload.py)."""


class StoreFailed(Exception):
    """A feed failed to store in a transaction without savepoints: roll back, then store feeds one savepoint each."""

    def __init__(self, feed_id: str) -> None:
        super().__init__(feed_id)
        self.feed_id = feed_id


def refresh_feed(
    session: Transaction, ctx: RefreshContext, feed: ClaimedFeed, fetched: FetchResult | Exception,
    parsed: Parsed = None, *, isolated: bool = True,
) -> FeedReport:
    """Refresh one feed inside the caller's transaction: parse, store, match, route, record; return what it did.

    `isolated`: storing runs in a savepoint, and a failure rolls back this feed's writes only and is
    recorded as its error. Otherwise a failure raises `StoreFailed` (the caller rolls back).
    """
    runtime = ctx.runtime()
    now = ctx.clock()
    config_feed = runtime.feeds.get(feed.id)
    interval, max_interval = _intervals(runtime, feed, now)
    push = isinstance(fetched, FetchResult) and fetched.pushed  # a body the hub pushed, not a poll's answer

    def failed(error: Exception, status: int | None = None) -> FeedReport:
        if push:
            log.warning("websub_push_failed feed_id=%s error=%r", feed.id, str(error))
            record_poll_in(session, feed.id, ctx.owner, pushed_outcome(None, now, error), now)
            return FeedReport(feed.id, None, now, error_kind="push_failed", error_message=str(error), pushed=True)
        return _record_error(session, ctx, feed, error, now, status, interval, max_interval)

    # 1. The fetch failed: only its error is recorded.
    if isinstance(fetched, Exception):
        return failed(fetched)
    # 2. Parse, unless it was parsed off this thread (None: 304, or the same body as last time).
    try:
        feed_parsed, fingerprints = _parse(ctx, fetched, parsed, config_feed.language if config_feed else None)
    except ParseError as exc:
        return failed(exc, fetched.status)
    # 3. The feed row's outcome.
    outcome = (pushed_outcome(feed_parsed, now) if push else
               success_outcome(fetched, feed_parsed, now, interval=interval, max_interval=max_interval))
    unchanged = fetched.not_modified or fetched.unchanged
    if feed_parsed is None:
        # Only the feed row changes (flushed with the batch's).
        record_poll_in(session, feed.id, ctx.owner, outcome, now)
        return FeedReport(feed.id, fetched.status, outcome.next_poll_at, unchanged=unchanged, pushed=push)
    try:
        with session.begin_nested() if isolated else nullcontext():
            # 4. Save the articles, clustered with near-duplicates: the new or changed come back.
            changes = save_articles(session, feed.id, feed_parsed.articles, now, fingerprints=fingerprints)
            # 5. Match them, and save the matches.
            premade = parsed.matches if isinstance(parsed, Prepared) and parsed.matched_with is runtime else None
            matched = _match(session, runtime, feed.id, feed_parsed, changes, premade)
            items = [(c.article.id, c.article.content_hash, m, c.is_new) for c, m in zip(changes, matched, strict=True)]
            saved = save_feed_matches(session, items, now)  # one INSERT for the feed's matches
            # 6. Route them.
            routing = _route(session, runtime, changes, saved, now)
            routed = add_routed_items(session, routing.rows, now)
            # 7. Record the feed's health (committed with its articles), with how many articles were new.
            outcome = replace(outcome, new_items=sum(1 for c in changes if c.is_new))
            record_poll_in(session, feed.id, ctx.owner, outcome, now)
    except Exception as exc:
        if is_unavailable(exc):
            raise  # the database's trouble, not this feed's: the transaction fails
        if not isolated:
            raise StoreFailed(feed.id) from exc
        return failed(exc, fetched.status)
    if ctx.remember_stored is not None:
        # Before the commit: should it fail, the next parse matches too little and the writer the rest.
        ctx.remember_stored(feed.id, feed_parsed.articles)
    new = sum(1 for c in changes if c.is_new)
    return FeedReport(
        feed.id, fetched.status, outcome.next_poll_at, entries=len(feed_parsed.articles), unchanged=unchanged,
        new=new, updated=len(changes) - new, matches=sum(len(s) for s in saved), routed=routed,
        suppressed=routing.suppressed, pushed=push,
    )


def _intervals(runtime: Runtime, feed: ClaimedFeed, now: datetime) -> tuple[timedelta, timedelta]:
    """The feed's poll interval and its longest backoff now (slower while a WebSub hub pushes it)."""
    pushed = feed.push_until is not None and feed.push_until > now  # WebSub: polled as a safety net only
    return poll_intervals(runtime.config, runtime.feeds.get(feed.id), pushed=pushed)


def is_quiet(item: Fetched) -> bool:
    """A poll that brought no body to parse (304, or the same body as last time): only its feed row changes."""
    _, fetched, parsed = item
    return isinstance(fetched, FetchResult) and fetched.body is None and not fetched.pushed and not isinstance(
        parsed, Prepared)


def record_quiet_polls(session: Transaction, ctx: RefreshContext, items: Sequence[Fetched]) -> list[FeedReport]:
    """`refresh_feed` for quiet polls (`is_quiet`), their feed rows written in one statement; their reports in order."""
    runtime = ctx.runtime()
    polls = []
    reports = []
    for feed, fetched, _ in items:
        if not isinstance(fetched, FetchResult):
            raise TypeError(f"not a quiet poll: {feed.id}")
        now = ctx.clock()
        interval, max_interval = _intervals(runtime, feed, now)
        outcome = success_outcome(fetched, None, now, interval=interval, max_interval=max_interval)
        polls.append((feed.id, outcome, now))
        reports.append(FeedReport(feed.id, fetched.status, outcome.next_poll_at,
                                  unchanged=fetched.not_modified or fetched.unchanged))
    record_quiet_polls_in(session, ctx.owner, polls)
    return reports


def _parse(
    ctx: RefreshContext, fetched: FetchResult, parsed: Parsed, language: str | None
) -> tuple[ParsedFeed | None, dict[str, Fingerprint] | None]:
    """The parsed feed (None when there is no new body) and its fingerprints when computed off this thread."""
    if isinstance(parsed, Prepared):
        return parsed.feed, parsed.fingerprints
    if fetched.body is None:
        return None, None
    try:
        if isinstance(parsed, ParseError):
            raise parsed
        return parse_here(fetched, language), None
    except ParseError as exc:
        if exc.message == PARSE_LIMIT_MESSAGE:
            ctx.remember_killer(fetched)  # next time in a parse process, never in this one
        raise


def _match(
    session: Transaction, runtime: Runtime, feed_id: str, parsed: ParsedFeed, changes: Sequence[ArticleChange],
    premade: ArticleMatches | None = None,
) -> list[list[Match]]:
    """The matches of each new or changed article (made by the parse process where it could: `premade`)."""
    # The source is that of the feed the article was first seen in, as the backtest and the article
    # page rebuild it; this feed's title is the one `record_poll_in` stores with this transaction.
    labels = FeedLabels(runtime.feeds, lambda first: (
        parsed.title if first == feed_id and parsed.title else feed_title_in(session, first)))
    out = []
    for c in changes:
        # A parse process labelled its matches with this feed's label: only for articles first seen here.
        made = premade_matches(premade, c.article) if c.first_feed_id == feed_id else None
        out.append(made if made is not None else runtime.matcher.match(document_for(c.article, labels(c.first_feed_id))))
    return out


def _route(
    session: Transaction, runtime: Runtime, changes: Sequence[ArticleChange], saved: Sequence[list[tuple[int, Match]]],
    now: datetime,
) -> Routing:
    """Whom the saved matches go to (monitor/refresh/decide.py `route`), with what it needs read from the store."""
    # What the other articles of a story were routed for: asked only for an article that matched and
    # joined another article's cluster.
    already = {
        c.article.id: routed_in_cluster(session, c.cluster.cluster_id, c.article.id)
        for c, s in zip(changes, saved, strict=True)
        if s and c.cluster and c.cluster.joined
    }
    # One alert per story: the subscribers each matched article's story was already delivered to. Asked
    # only where it can be anyone: a new article that joined no stored story is a story nobody has had yet
    # (deliveries are cut by the deliver tick, never in this transaction), so most articles cost no query.
    alerted = {
        c.article.id: alerted_for_story(session, c.article.id, c.cluster.cluster_id if c.cluster else None)
        for c, s in zip(changes, saved, strict=True)
        if s and (not c.is_new or (c.cluster is not None and c.cluster.joined))
    }
    stories = {c.article.id: c.cluster.cluster_id if c.cluster else c.article.id for c in changes}
    routing = route(
        ((c.article.id, s) for c, s in zip(changes, saved, strict=True)), runtime.router, already,
        alerted=alerted, stories=stories, holds=_holds(session, runtime, now) if any(saved) else Holds(),
    )
    if routing.rows:
        # Read in this transaction: an opt-out committed before it is honoured (one committed while it
        # runs is caught by the deliver tick, which cancels what reached them).
        routing = routing.excluding(_TransactionReads.of(session, now).opted_out(session))
    return routing


def _holds(session: Transaction, runtime: Runtime, now: datetime) -> Holds:
    """What subscribers muted (subscribers.yaml) and what is snoozed now (read in this transaction)."""
    snoozed = _TransactionReads.of(session, now).snoozes.at(now)
    muted = {s.id: frozenset(s.mute) for s in runtime.config.subscribers if s.mute}
    return Holds(muted=muted, snoozed_entries=snoozed.entries, snoozed_stories=snoozed.stories)


@dataclass(slots=True)
class _TransactionReads:
    """What routing reads once per transaction, not once per feed: snoozes and opt-outs.

    Two queries a feed were most of routing's cost. Nothing in a writer's transaction changes them,
    and one committed elsewhere while it runs is missed as it was by a feed routed a moment before
    (the deliver tick still cancels what reached someone who opted out).
    """

    snoozes: SnoozesFrom
    _opted_out: dict[str, OptOut] | None = None

    @classmethod
    def of(cls, session: Transaction, now: datetime) -> _TransactionReads:
        """This transaction's reads; read (again) when there are none yet or `now` is before they were read."""
        reads: _TransactionReads | None = session.info.get(_READS_KEY)
        if reads is None or now < reads.snoozes.since:  # an injected clock may go back
            reads = session.info[_READS_KEY] = cls(snoozes_from_in(session, now))
        return reads

    def opted_out(self, session: Transaction) -> dict[str, OptOut]:
        """Every opted-out subscriber, read at the first call in this transaction."""
        if self._opted_out is None:
            self._opted_out = opted_out_in(session)
        return self._opted_out


_READS_KEY = "monitor.refresh.transaction_reads"


def _record_error(
    session: Transaction, ctx: RefreshContext, feed: ClaimedFeed, error: Exception, now: datetime,
    status: int | None, interval: timedelta, max_interval: timedelta,
) -> FeedReport:
    """Record a failed refresh on the feed row (a crash is logged with its traceback)."""
    if not isinstance(error, FetchError | ParseError):
        log.exception("feed_poll_crashed feed_id=%s", feed.id, exc_info=error)
    outcome = error_outcome(
        error, now, consecutive_errors=feed.consecutive_errors, interval=interval, max_interval=max_interval,
        status=status,
    )
    record_poll_in(session, feed.id, ctx.owner, outcome, now)
    return FeedReport(feed.id, outcome.status, outcome.next_poll_at, error_kind=outcome.error_kind,
                      error_message=outcome.error_message)
