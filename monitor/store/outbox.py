"""The delivery outbox: routed items, deliveries, leases and results (at-least-once, never lost).

Assembling deliveries is in outbox_assembly.py, reading a delivery's articles in outbox_items.py; every
method here runs in its own transaction and raises the project's StorageError/DatabaseUnavailable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from monitor.store import outbox_assembly, outbox_items
from monitor.store.db import Database, database_errors
from monitor.store.outbox_assembly import Grouping, new_delivery_id
from monitor.store.outbox_items import StoredItem
from monitor.store.rows import ArticleRow, Delivery, RoutedItem, SubscriberState
from monitor.store.sql import chunked, insert_ignore, lock_rows

_DEFAULT_GROUPING = Grouping()


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a worker holds the lease on."""

    id: str
    subscriber_id: str
    channel: str
    kind: str
    attempts: int
    created_at: datetime
    more_items: int = 0  # articles that follow in later deliveries of the same assembly


def add_routed_items(session: Session, rows: Iterable[tuple[str, str, str, str, int]], now: datetime) -> int:
    """Route (subscriber, article, watchlist, entry, match id) tuples; repeats are ignored, ever."""
    values = [
        {"subscriber_id": s, "article_id": a, "watchlist": w, "entry_id": e, "match_id": m, "created_at": now}
        for s, a, w, e, m in rows
    ]
    return insert_ignore(
        session,
        RoutedItem.__table__,  # type: ignore[arg-type]
        values,
        conflict=("subscriber_id", "article_id", "watchlist", "entry_id"),
    )


def alerted_for_story(session: Session, article_id: str, cluster_id: str | None) -> set[str]:
    """Subscribers the story of this article (it, or any article of its cluster) was already put in a delivery for."""
    story = ArticleRow.id == article_id if not cluster_id else or_(ArticleRow.id == article_id, ArticleRow.cluster_id == cluster_id)
    rows = session.scalars(
        select(RoutedItem.subscriber_id)
        .join(ArticleRow, ArticleRow.id == RoutedItem.article_id)
        .where(story, RoutedItem.delivery_id.is_not(None))
        .distinct()
    )
    return {str(s) for s in rows}


class Outbox:
    """Deliveries in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A reading session whose driver errors come out as the project's."""
        with database_errors(), self.db.sessions() as session:
            yield session

    # ------------------------------------------------------------ assembling deliveries

    def assemble_immediate(
        self, subscriber_id: str, channel: str, now: datetime, *, grouping: Grouping = _DEFAULT_GROUPING,
        max_per_hour: int | None = None,
    ) -> list[str]:
        """Gather a subscriber's pending items into alerts (one item per story) cut as the channel's `grouping` says.

        `max_per_hour` caps the stories alerted in a clock hour; the overflow rolls into one `overflow`
        delivery at the first tick of a later hour. Returns the ids of the deliveries made.
        """
        with self.db.guarded_transaction() as session:
            return outbox_assembly.assemble_immediate(session, subscriber_id, channel, now, grouping, max_per_hour)

    def assemble_digest(
        self, subscriber_id: str, channel: str, period_key: str, now: datetime, *, send_empty: bool,
        grouping: Grouping = _DEFAULT_GROUPING,
    ) -> str | None:
        """Create the one digest of a period (unique per subscriber and period, across processes), in parts if large."""
        with self.db.guarded_transaction() as session:
            return outbox_assembly.assemble_digest(
                session, subscriber_id, channel, period_key, now, send_empty=send_empty, grouping=grouping
            )

    def pending_items(self, subscriber_id: str) -> list[str]:
        """Ids of the articles routed to a subscriber and not yet in a delivery."""
        with self._session() as session:
            return outbox_assembly.pending_article_ids(session, subscriber_id)

    # ------------------------------------------------------------ sending

    def claim_due(self, owner: str, now: datetime, *, limit: int, lease: timedelta) -> list[ClaimedDelivery]:
        """Lease due deliveries; a worker that dies leaves them to be claimed again when the lease ends."""
        with self.db.guarded_transaction() as session:
            rows = list(
                session.scalars(
                    lock_rows(
                        select(Delivery)
                        .where(
                            Delivery.status == "pending",
                            Delivery.next_attempt_at <= now,
                            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                        )
                        .order_by(Delivery.next_attempt_at)
                        .limit(limit)
                    )
                )
            )
            for row in rows:
                row.lease_owner, row.lease_until = owner, now + lease
                row.attempts += 1
            return [
                ClaimedDelivery(r.id, r.subscriber_id, r.channel, r.kind, r.attempts, r.created_at, r.more_items or 0)
                for r in rows
            ]

    def renew_leases(self, delivery_ids: Sequence[str], owner: str, until: datetime) -> int:
        """Extend this owner's leases (the sending worker's heartbeat); returns how many it still holds."""
        renewed = 0
        with self.db.guarded_transaction() as session:
            for part in chunked(delivery_ids):
                result = session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(part), Delivery.lease_owner == owner, Delivery.status == "pending")
                    .values(lease_until=until)
                )
                renewed += int(getattr(result, "rowcount", 0) or 0)
        return renewed

    def release_many(self, delivery_ids: Sequence[str], owner: str) -> list[str]:
        """Give back leases without a result (the attempt is not counted); returns the ids that were still ours."""
        released: list[str] = []
        with self.db.guarded_transaction() as session:
            for part in chunked(delivery_ids):
                released += session.scalars(
                    select(Delivery.id).where(Delivery.id.in_(part), Delivery.lease_owner == owner)
                ).all()
                session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(part), Delivery.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None, attempts=Delivery.attempts - 1)
                )
        return released

    def items(self, delivery_id: str) -> list[StoredItem]:
        """The articles of a delivery with their routed matches, in the order they were routed."""
        with self._session() as session:
            return outbox_items.delivery_items(session, delivery_id)

    def preview_items(self, subscriber_id: str) -> list[StoredItem]:
        """What a digest (its first part) would hold now."""
        return self.preview(subscriber_id)[0]

    def preview(self, subscriber_id: str, *, grouping: Grouping = _DEFAULT_GROUPING) -> tuple[list[StoredItem], int]:
        """What a digest's first part would hold now, and how many more articles are pending (`digest --preview`)."""
        with self._session() as session:
            return outbox_items.pending_preview(session, subscriber_id, grouping.per_delivery)

    def mark_sent(self, delivery_id: str, owner: str, now: datetime, info: str) -> None:
        """Record a successful send."""
        self._finish(delivery_id, owner, status="sent", sent_at=now, transport_info=info, last_error=None)

    def mark_retry(self, delivery_id: str, owner: str, error: str, next_attempt_at: datetime) -> None:
        """Record a temporary failure and when to try again."""
        self._finish(delivery_id, owner, status="pending", last_error=error, next_attempt_at=next_attempt_at)

    def mark_failed(self, delivery_id: str, owner: str, error: str) -> None:
        """Record a permanent failure; it stays visible and can be re-queued by hand."""
        self._finish(delivery_id, owner, status="failed", last_error=error)

    def mark_cancelled(self, delivery_id: str, owner: str, reason: str) -> None:
        """Record that a delivery will not be sent (its subscriber unsubscribed)."""
        self._finish(delivery_id, owner, status="cancelled", last_error=reason)

    def _finish(self, delivery_id: str, owner: str, **values: object) -> None:
        with self.db.guarded_transaction() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.lease_owner == owner)
                .values(lease_owner=None, lease_until=None, **values)
            )

    def requeue(self, delivery_id: str, now: datetime) -> bool:
        """Re-queue a failed delivery by hand (`monitor deliveries --retry ID`)."""
        with self.db.guarded_transaction() as session:
            result = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.status.in_(("failed", "pending")))
                .values(status="pending", next_attempt_at=now, lease_owner=None, lease_until=None, attempts=0)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def resend(self, delivery_id: str, now: datetime) -> Delivery:
        """Queue a sent delivery's items again as a new delivery (new id, so a new Message-ID / webhook-id).

        Raises LookupError when there is no such delivery and ValueError when it was not sent.
        """
        with self.db.guarded_transaction() as session:
            original = session.get(Delivery, delivery_id)
            if original is None:
                raise LookupError(delivery_id)
            if original.status != "sent":
                raise ValueError(original.status)
            resend = Delivery(
                id=new_delivery_id(), subscriber_id=original.subscriber_id, channel=original.channel,
                kind=original.kind, status="pending", attempts=0, next_attempt_at=now, created_at=now,
                item_count=original.item_count, resend_of=original.resend_of or original.id,
            )
            session.add(resend)
            return resend

    def list(self, *, failed_only: bool = False, limit: int = 100) -> list[Delivery]:
        """The most recent deliveries; `failed_only`: those that failed and those failing and still retrying.

        Retrying: pending after a failed attempt. One re-queued by hand has its attempts reset to 0
        and is just pending again (its last error still shows) until an attempt fails.
        """
        with self._session() as session:
            stmt = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id).limit(limit)
            if failed_only:
                retrying = and_(Delivery.status == "pending", Delivery.attempts > 0, Delivery.last_error.is_not(None))
                stmt = stmt.where(or_(Delivery.status == "failed", retrying))
            return list(session.scalars(stmt))

    # ------------------------------------------------------------ subscriber state

    def subscriber_state(self, subscriber_id: str) -> SubscriberState | None:
        """Shared state of one subscriber, if any."""
        with self._session() as session:
            return session.get(SubscriberState, subscriber_id)

    def set_last_digest(self, subscriber_id: str, at: datetime) -> None:
        """Remember the period the last digest covered."""
        with self.db.guarded_transaction() as session:
            self._state(session, subscriber_id).last_digest_at = at

    def disable_endpoint(self, subscriber_id: str, reason: str, now: datetime) -> None:
        """Stop sending to an endpoint that answered 410 Gone."""
        with self.db.guarded_transaction() as session:
            state = self._state(session, subscriber_id)
            state.disabled_reason, state.disabled_at = reason, now

    @staticmethod
    def _state(session: Session, subscriber_id: str) -> SubscriberState:
        state = session.get(SubscriberState, subscriber_id)
        if state is None:
            state = SubscriberState(subscriber_id=subscriber_id)
            session.add(state)
        return state

    def purge_empty(self, before: datetime) -> None:
        """Drop markers of empty digest periods older than `before`."""
        with self.db.guarded_transaction() as session:
            session.execute(delete(Delivery).where(Delivery.status == "empty", Delivery.created_at < before))
