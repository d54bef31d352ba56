"""Feed rows: syncing with feeds.yaml, claiming due feeds with a lease, recording poll outcomes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self, cast

from sqlalchemy import (
    Executable,
    Float,
    Integer,
    Row,
    Table,
    Text,
    and_,
    bindparam,
    case,
    func,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from monitor.config.models import FeedConfig
from monitor.feedhealth import record_gap
from monitor.store.db import Database, database_errors
from monitor.store.rows import Feed, Sighting
from monitor.store.rows.base import UTCDateTime
from monitor.store.sql import begin_writes, chunked, lock_rows
from monitor.store.websub import Subscription, subscriptions_by_feed_in

_FEEDS = cast(Table, Feed.__table__)


@dataclass(frozen=True, slots=True)
class ClaimedFeed:
    """What a poller needs to know about a feed it holds the lease on."""

    id: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    consecutive_errors: int
    push_until: datetime | None = None  # WebSub: the feed counts as pushed until then (polled slower)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """The result of one poll, to be written on the feed row."""

    status: int | None
    next_poll_at: datetime
    error_kind: str | None = None
    error_message: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None
    new_url: str | None = None
    disable_reason: str | None = None
    fetch_ms: float | None = None
    kind: str | None = None  # the parsed body's format (rss, atom, rdf, json, sitemap); None: not parsed
    new_items: int = 0  # articles this poll stored that the archive had not seen (the feed's publishing rhythm)
    hubs: tuple[str, ...] = ()  # WebSub: the hubs the parsed body (or its Link headers) named; with kind only
    topic: str | None = None  # WebSub: the topic (rel="self", else the fetched URL) for those hubs
    pushed: bool = False  # a pushed body's refresh: only the title, kind and success are recorded


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One line of `monitor feeds`."""

    id: str
    name: str
    url: str
    active: bool
    disabled_reason: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    error_kind: str | None
    error_message: str | None
    consecutive_errors: int
    next_poll_at: datetime
    items_per_day: float
    kind: str | None  # rss, atom, rdf, json or sitemap, as last parsed; None before the first parse
    paused: bool  # paused in feeds.yaml: not polled until `paused: true` is taken out
    # WebSub push (monitor/store/websub.py): the current subscription's state (pending, subscribed, denied,
    # failed, expired; None: no hub named or none asked yet), its hub, lease end and last push, and until
    # when the feed counts as pushed (polled websub.poll_factor times slower).
    push_state: str | None = None
    push_hub: str | None = None
    push_lease_expires_at: datetime | None = None
    last_push_at: datetime | None = None
    pushed_until: datetime | None = None

    @classmethod
    def from_row(
        cls, row: Feed, *, items_per_day: float, subscription: Subscription | None = None, **extra: Any
    ) -> Self:
        """The health of a feed row (with its WebSub subscription); subclasses pass their own fields in `extra`."""
        sub = subscription
        return cls(
            id=row.id, name=row.name or row.title or row.id, url=row.url, active=row.active,
            disabled_reason=row.disabled_reason, last_polled_at=row.last_polled_at,
            last_success_at=row.last_success_at, last_status=row.last_status, error_kind=row.error_kind,
            error_message=row.error_message, consecutive_errors=row.consecutive_errors or 0,
            next_poll_at=row.next_poll_at, items_per_day=items_per_day, kind=row.kind, paused=bool(row.paused),
            push_state=sub.state if sub else None, push_hub=sub.hub if sub else None,
            push_lease_expires_at=sub.lease_expires_at if sub else None, last_push_at=sub.last_push_at if sub else None,
            pushed_until=row.push_until, **extra,
        )

    @property
    def state(self) -> str:
        """active, paused (in feeds.yaml), disabled (410 Gone) or removed (no longer in feeds.yaml)."""
        if self.disabled_reason:
            return "disabled"
        return "active" if self.active else ("paused" if self.paused else "removed")


def feed_titles_in(session: Session) -> dict[str, str | None]:
    """Every feed's own title (from its last parsed `<title>`) by id."""
    return {feed_id: title for feed_id, title in session.execute(select(Feed.id, Feed.title))}


def feed_title_in(session: Session, feed_id: str) -> str | None:
    """One feed's own title as this session sees it (a row it already holds answers without a query)."""
    row = session.get(Feed, feed_id)
    return row.title if row is not None else None


def record_poll_in(session: Session, feed_id: str, owner: str, outcome: PollOutcome, now: datetime) -> None:
    """Write a poll's outcome on the feed row and release the lease, inside the caller's transaction."""
    row = session.get(Feed, feed_id)
    if row is None:
        return
    if row.lease_owner == owner:
        row.lease_owner = None
        row.lease_until = None
    if outcome.pushed:
        # A push is not a poll: the polling schedule, validators and counters stay as the last poll left them.
        if not outcome.error_kind:
            row.last_success_at = now
            row.title = outcome.title or row.title
            row.kind = outcome.kind or row.kind
        return
    row.last_polled_at = now
    row.last_status = outcome.status
    row.poll_count = (row.poll_count or 0) + 1
    row.next_poll_at = outcome.next_poll_at
    row.last_fetch_ms = outcome.fetch_ms
    if outcome.error_kind:
        row.error_kind = outcome.error_kind
        row.error_message = outcome.error_message
        if not row.consecutive_errors:
            row.failing_since = now  # the first failure of this run
        elif row.failing_since is None:  # failing since before migration 0015: since its last success at most
            row.failing_since = row.last_success_at or row.created_at or now
        row.consecutive_errors = (row.consecutive_errors or 0) + 1
    else:
        row.error_kind = row.error_message = None
        row.failing_since = None
        if outcome.new_items:
            row.item_gaps = list(record_gap(row.item_gaps or (), row.last_new_item_at, now))
            row.last_new_item_at = now
        row.consecutive_errors = 0
        row.last_success_at = now
        row.etag = outcome.etag if outcome.status != 304 else (outcome.etag or row.etag)
        row.last_modified = (
            outcome.last_modified if outcome.status != 304 else (outcome.last_modified or row.last_modified)
        )
        if outcome.body_hash:
            row.body_hash = outcome.body_hash
        if outcome.title:
            row.title = outcome.title
        if outcome.kind:
            row.kind = outcome.kind
            # Assigned only when changed: SQLAlchemy then writes nothing more for the poll.
            hubs = list(outcome.hubs) or None
            if row.hub_urls != hubs:
                row.hub_urls = hubs
            if row.hub_topic != outcome.topic:
                row.hub_topic = outcome.topic
        if outcome.kind == "sitemap":
            # A sitemap is read again on every poll: an index's children change while it does not, and
            # new URLs beyond the pages fetched per poll wait for the next one (monitor/refresh/sitemap.py).
            row.etag = row.last_modified = row.body_hash = None
    if outcome.new_url:
        row.url = outcome.new_url
    if outcome.disable_reason:
        row.disabled_reason = outcome.disable_reason


def _quiet_poll_statement() -> Any:
    """One feed row's UPDATE after a quiet poll, run for a batch's rows at once (bound by `record_quiet_polls_in`)."""
    c = _FEEDS.c
    now = bindparam("b_now", type_=UTCDateTime())
    ours = c.lease_owner == bindparam("b_owner", type_=Text())
    # Every right-hand side reads the row as it was before this UPDATE (SQL's rule, on both backends).
    return (
        update(_FEEDS)
        .where(c.id == bindparam("b_id", type_=Text()))
        .values(
            lease_owner=case((ours, null()), else_=c.lease_owner),
            lease_until=case((ours, null()), else_=c.lease_until),
            last_polled_at=now,
            last_status=bindparam("b_status", type_=Integer()),
            poll_count=func.coalesce(c.poll_count, 0) + 1,
            next_poll_at=bindparam("b_next_poll_at", type_=UTCDateTime()),
            last_fetch_ms=bindparam("b_fetch_ms", type_=Float()),
            error_kind=null(), error_message=null(), failing_since=null(),
            consecutive_errors=0,
            last_success_at=now,
            # A 304 need not repeat the validators: the stored ones stay (b_keep); a 200 stores its own, or none.
            etag=func.coalesce(bindparam("b_etag", type_=Text()), case((bindparam("b_keep") == 1, c.etag))),
            last_modified=func.coalesce(
                bindparam("b_last_modified", type_=Text()), case((bindparam("b_keep") == 1, c.last_modified))
            ),
            body_hash=func.coalesce(bindparam("b_body_hash", type_=Text()), c.body_hash),
            url=func.coalesce(bindparam("b_new_url", type_=Text()), c.url),
        )
    )


_QUIET_POLL = _quiet_poll_statement()


def is_quiet_outcome(outcome: PollOutcome) -> bool:
    """A successful poll without a parsed body (304, or the same body): it changes only what `record_quiet_polls_in` writes."""
    return not (outcome.pushed or outcome.error_kind or outcome.kind or outcome.title or outcome.new_items
                or outcome.disable_reason or outcome.hubs or outcome.topic)


def record_quiet_polls_in(session: Session, owner: str, polls: Sequence[tuple[str, PollOutcome, datetime]]) -> None:
    """Record quiet polls (feed id, outcome, time) in one executemany UPDATE, inside the caller's transaction.

    The rows end exactly as `record_poll_in` leaves them for these outcomes, without loading an ORM
    object per feed (its attribute events and flush were a fifth of a 304 pass's CPU).
    """
    if not polls:
        return
    params = []
    for feed_id, outcome, now in polls:
        if not is_quiet_outcome(outcome):
            raise ValueError(f"not a quiet poll's outcome: {outcome!r}")
        keep = outcome.status == 304  # as record_poll_in: `outcome.etag or row.etag` on a 304 only
        params.append({
            "b_id": feed_id, "b_owner": owner, "b_now": now, "b_status": outcome.status,
            "b_next_poll_at": outcome.next_poll_at, "b_fetch_ms": outcome.fetch_ms, "b_keep": int(keep),
            "b_etag": (outcome.etag or None) if keep else outcome.etag,
            "b_last_modified": (outcome.last_modified or None) if keep else outcome.last_modified,
            "b_body_hash": outcome.body_hash or None, "b_new_url": outcome.new_url or None,
        })
    session.execute(_QUIET_POLL, params)


_CLAIMED_COLUMNS: tuple[Any, ...] = (
    Feed.id, Feed.url, Feed.etag, Feed.last_modified, Feed.body_hash, Feed.consecutive_errors, Feed.push_until,
)
"""A ClaimedFeed's fields, by name."""


def _lease(session: Session, stmt: Executable, owner: str, until: datetime) -> list[ClaimedFeed]:
    """Lease the feeds `stmt` selects (`_CLAIMED_COLUMNS`, rows locked: `lock_rows`) to `owner` until `until`.

    Plain rows and one UPDATE per chunk of ids: loading an ORM object per feed and flushing its two
    changed attributes cost a 304 pass about a tenth of its CPU, on the event loop.
    """
    claimed = [ClaimedFeed(**row._mapping) for row in session.execute(stmt)]
    for part in chunked([feed.id for feed in claimed]):
        session.execute(update(_FEEDS).where(_FEEDS.c.id.in_(part)).values(lease_owner=owner, lease_until=until))
    return claimed


class FeedRepository:
    """Feed rows in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def sync(self, feeds: Sequence[FeedConfig], now: datetime) -> None:
        """Make the rows follow the configuration: add new feeds (due now), retire removed and paused ones."""
        # A paused feed is retired like a removed one (never claimed); unpausing makes it due at once.
        # Core statements over the five columns compared, not ORM rows: every start syncs every feed
        # (~0.1 s of CPU for 1,000 through the ORM), and most rows need no change at all.
        wanted = {feed.id: feed for feed in feeds if not feed.paused}
        paused = {feed.id for feed in feeds if feed.paused}
        columns = (_FEEDS.c.id, _FEEDS.c.configured_url, _FEEDS.c.name, _FEEDS.c.active, _FEEDS.c.paused)
        with self.db.transaction() as session:
            existing = {row.id: row for row in session.execute(select(*columns))}
            for feed_id, row in existing.items():
                changes = _sync_changes(row, wanted.get(feed_id), feed_id in paused, now)
                if changes:
                    session.execute(update(_FEEDS).where(_FEEDS.c.id == feed_id).values(changes))
            # The feeds to poll, then those listed paused from the start (shown, never polled): in this order.
            new = [_new_feed_row(feed, now, paused=False) for feed_id, feed in wanted.items() if feed_id not in existing]
            new += [_new_feed_row(feed, now, paused=True) for feed in feeds if feed.paused and feed.id not in existing]
            if new:
                session.execute(insert(_FEEDS), new)

    def claim_due(
        self, owner: str, now: datetime, *, limit: int, lease: timedelta, feed_ids: Sequence[str] | None = None
    ) -> list[ClaimedFeed]:
        """Take a lease on up to `limit` due feeds (of `feed_ids`, if given), so that no other worker polls them."""
        with self.db.transaction() as session:
            stmt = (
                select(*_CLAIMED_COLUMNS)
                .where(
                    Feed.active.is_(True),
                    Feed.disabled_reason.is_(None),
                    Feed.next_poll_at <= now,
                    or_(Feed.lease_until.is_(None), Feed.lease_until < now),
                )
                .order_by(Feed.next_poll_at)
                .limit(limit)
            )
            if feed_ids is not None:
                stmt = stmt.where(Feed.id.in_(list(feed_ids)))
            return _lease(session, lock_rows(stmt), owner, now + lease)

    def claim_for_push(self, owner: str, now: datetime, feed_ids: Sequence[str], *, lease: timedelta) -> list[ClaimedFeed]:
        """Take a lease on these feeds, due or not, where no one holds one (a poll in flight: the push waits)."""
        if not feed_ids:
            return []
        with self.db.transaction() as session:
            stmt = select(*_CLAIMED_COLUMNS).where(
                Feed.id.in_(list(feed_ids)), Feed.active.is_(True), Feed.disabled_reason.is_(None),
                or_(Feed.lease_until.is_(None), Feed.lease_until < now),
            )
            return _lease(session, lock_rows(stmt), owner, now + lease)

    def record(self, feed_id: str, owner: str, outcome: PollOutcome, now: datetime) -> None:
        """Write a poll's outcome on the feed row and release the lease."""
        with self.db.transaction() as session:
            record_poll_in(session, feed_id, owner, outcome, now)

    @contextmanager
    def writing(self, feed_ids: Sequence[str]) -> Iterator[Session]:
        """A transaction to record polls of these feeds in (with their articles), committed when the block ends.

        The write lock is taken first (`begin_writes`), and the feed rows are loaded in one query so that
        `record_poll_in` finds them without one each; their changes are flushed together at commit (one
        executemany), not one by one before each query (autoflush is off in the block).
        """
        with self.db.transaction() as session:
            begin_writes(session, _FEEDS)
            # The session holds unchanged rows weakly: keep them while recording.
            rows = list(session.scalars(select(Feed).where(Feed.id.in_(list(feed_ids))))) if feed_ids else []
            with session.no_autoflush:
                yield session
            del rows

    def release_many(self, feed_ids: Sequence[str], owner: str) -> list[str]:
        """Give back this owner's leases on feeds without recording a poll; returns the ids that were still held."""
        released: list[str] = []
        with database_errors(), self.db.transaction() as session:
            for part in chunked(feed_ids):
                held = and_(Feed.id.in_(part), Feed.lease_owner == owner)
                released += session.scalars(select(Feed.id).where(held)).all()
                session.execute(update(Feed).where(held).values(lease_owner=None, lease_until=None))
        return released

    def health(self, now: datetime) -> list[FeedHealth]:
        """Every configured feed's health, with items per day over the last week."""
        week_ago = now - timedelta(days=7)
        with self.db.sessions() as session:
            counts = dict(
                session.execute(
                    select(Sighting.feed_id, func.count())
                    .where(Sighting.first_seen_at >= week_ago)
                    .group_by(Sighting.feed_id)
                ).all()
            )
            rows = session.scalars(select(Feed).order_by(Feed.id)).all()
            subs = subscriptions_by_feed_in(session)
            return [FeedHealth.from_row(r, items_per_day=round(counts.get(r.id, 0) / 7, 2), subscription=subs.get(r.id))
                    for r in rows]

    def make_due(self, feed_ids: Sequence[str], now: datetime) -> None:
        """Make these feeds due now (`monitor poll`, the dashboard's Poll now); disabled ones stay as they are."""
        with self.db.transaction() as session:
            session.execute(
                update(Feed)
                .where(Feed.id.in_(list(feed_ids)), Feed.active.is_(True), Feed.disabled_reason.is_(None))
                .values(next_poll_at=now)
            )

    def make_all_due(self, now: datetime) -> None:
        """Make every active feed due now (`monitor run --once` polls everything)."""
        with self.db.transaction() as session:
            session.execute(
                update(Feed)
                .where(and_(Feed.active.is_(True), Feed.disabled_reason.is_(None)))
                .values(next_poll_at=now)
            )


def _new_feed_row(feed: FeedConfig, now: datetime, *, paused: bool) -> dict[str, Any]:
    """The row of a feed new to the database: due now, unless paused (then never claimed)."""
    return {
        "id": feed.id, "url": feed.url, "configured_url": feed.url, "name": feed.name, "next_poll_at": now,
        "active": not paused, "paused": paused, "consecutive_errors": 0, "poll_count": 0, "created_at": now,
    }


def _sync_changes(
    row: Row[str, str, str | None, bool, bool], feed: FeedConfig | None, paused: bool, now: datetime
) -> dict[str, Any]:
    """The columns of a stored feed (id, configured_url, name, active, paused) that must change (`feed` None: not polled)."""
    changes: dict[str, Any] = {}
    if feed is not None:
        if row.configured_url != feed.url:
            # The operator changed the URL: start afresh rather than keep a stale redirect target.
            changes.update(configured_url=feed.url, url=feed.url, etag=None, last_modified=None, body_hash=None,
                           disabled_reason=None, next_poll_at=now)
        if not row.active:
            changes.update(active=True, next_poll_at=now)
        if row.name != feed.name:
            changes["name"] = feed.name
    elif row.active:
        changes["active"] = False
    if row.paused != paused:
        changes["paused"] = paused
    return changes
