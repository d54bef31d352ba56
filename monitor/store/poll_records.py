"""A poll's outcome written on its feed row: one row at a time (`record_poll_in`), or a batch of quiet polls at once.

Apart from monitor/store/feeds.py (claiming and syncing feeds) because the writer records every poll
through here, and the quiet polls' one UPDATE (a 304 pass's hot statement) has its own rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Float, Integer, Table, Text, bindparam, case, func, null, update
from sqlalchemy.orm import Session

from monitor.feedhealth import record_gap
from monitor.store.rows import Feed
from monitor.store.rows.base import UTCDateTime

_FEEDS = cast(Table, Feed.__table__)


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
