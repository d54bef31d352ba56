"""Feed rows: syncing with feeds.yaml, claiming due feeds with a lease, recording poll outcomes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self, cast

from sqlalchemy import (
    Executable,
    Row,
    Table,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from monitor.config.models import FeedConfig
from monitor.store.db import Database, database_errors
from monitor.store.poll_records import PollOutcome, record_poll_in
from monitor.store.rows import Feed, Sighting
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
