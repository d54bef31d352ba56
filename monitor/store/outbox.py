"""The delivery outbox: routed items, deliveries, leases and results (at-least-once, never lost)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from monitor.store.clusters import cluster_feeds
from monitor.store.db import Database
from monitor.store.models import ArticleRow, Delivery, MatchRow, RoutedItem, SubscriberState
from monitor.store.sql import chunked, insert_ignore, lock_rows

MAX_ITEMS_PER_DELIVERY = 100
"""Articles in one delivery at most (an immediate email, a digest, a webhook digest). A subscriber's
pending articles beyond it go into further deliveries assembled at the same time, each saying how
many follow ("and N more"); no delivery's size or SQL grows with the number of pending items."""

_DELIVERIES = cast(Table, Delivery.__table__)
_ROUTED = cast(Table, RoutedItem.__table__)


def new_delivery_id() -> str:
    """A fresh delivery id; it becomes the Message-ID and the webhook-id, stable across retries."""
    return f"dlv_{uuid.uuid4().hex}"


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


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One article of a delivery with the matches routed with it and the feeds that carried it."""

    article: ArticleRow
    matches: tuple[MatchRow, ...]
    feeds: tuple[tuple[str, str], ...]  # (feed id, display name), first sighting first
    cluster_size: int


def _group_by_article(pending: Sequence[tuple[int, str]]) -> dict[str, list[int]]:
    """Routed item ids by article, articles in the order they were first routed."""
    by_article: dict[str, list[int]] = {}
    for rid, article_id in pending:
        by_article.setdefault(article_id, []).append(rid)
    return by_article


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


class Outbox:
    """Deliveries in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------ assembling deliveries

    def assemble_immediate(self, subscriber_id: str, channel: str, now: datetime) -> list[str]:
        """Gather a subscriber's pending items: emails of up to MAX_ITEMS_PER_DELIVERY articles, or one webhook alert per article."""
        with self.db.transaction() as session:
            pending = self._lock_pending(session, subscriber_id)
            if not pending:
                return []
            by_article = _group_by_article(pending)
            size = 1 if channel == "webhook" else MAX_ITEMS_PER_DELIVERY
            parts = [list(by_article)[i : i + size] for i in range(0, len(by_article), size)]
            ids = [new_delivery_id() for _ in parts]
            rows = []
            remaining = len(by_article)
            for delivery_id, articles in zip(ids, parts, strict=True):
                remaining -= len(articles)
                rows.append({
                    "id": delivery_id, "subscriber_id": subscriber_id, "channel": channel, "kind": "alert",
                    "period_key": None, "status": "pending", "attempts": 0, "next_attempt_at": now,
                    "created_at": now, "item_count": len(articles),
                    # One webhook alert per article: the others are not "more" of this one.
                    "more_items": remaining if channel != "webhook" else 0,
                })
            session.execute(insert(_DELIVERIES), rows)
            self._attach(session, by_article, parts, ids)
            return ids

    def assemble_digest(
        self, subscriber_id: str, channel: str, period_key: str, now: datetime, *, send_empty: bool
    ) -> str | None:
        """Create the one digest of a period (unique per subscriber and period, across processes).

        More than MAX_ITEMS_PER_DELIVERY articles make further parts of the same digest (period keys
        `<key>+2`, `<key>+3`, ...), assembled and sent with it.
        """
        with self.db.transaction() as session:
            delivery_id = new_delivery_id()
            inserted = insert_ignore(
                session,
                _DELIVERIES,
                [{
                    "id": delivery_id, "subscriber_id": subscriber_id, "channel": channel, "kind": "digest",
                    "period_key": period_key, "status": "pending", "attempts": 0, "next_attempt_at": now,
                    "created_at": now, "item_count": 0,
                }],
                conflict=("subscriber_id", "period_key"),
            )
            if not inserted:
                return None  # another process (or an earlier run) built this period's digest
            by_article = _group_by_article(self._lock_pending(session, subscriber_id))
            articles = list(by_article)
            parts = [articles[i : i + MAX_ITEMS_PER_DELIVERY] for i in range(0, len(articles), MAX_ITEMS_PER_DELIVERY)]
            ids = [delivery_id] + [new_delivery_id() for _ in parts[1:]]
            if len(parts) > 1:
                session.execute(insert(_DELIVERIES), [
                    {
                        "id": part_id, "subscriber_id": subscriber_id, "channel": channel, "kind": "digest",
                        "period_key": f"{period_key}+{n}", "status": "pending", "attempts": 0,
                        "next_attempt_at": now, "created_at": now, "item_count": len(part),
                        "more_items": sum(len(p) for p in parts[n:]),
                    }
                    for n, (part_id, part) in enumerate(zip(ids[1:], parts[1:], strict=True), start=2)
                ])
            self._attach(session, by_article, parts, ids)
            count = len(parts[0]) if parts else 0
            status = "pending" if count or send_empty else "empty"
            session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(
                    item_count=count, status=status, more_items=len(articles) - count
                )
            )
            return delivery_id if status == "pending" else None

    @staticmethod
    def _lock_pending(session: Session, subscriber_id: str) -> list[tuple[int, str]]:
        """(routed item id, article id) of a subscriber's items in no delivery yet, locked, in routing order."""
        stmt: Any = (  # a column select: lock_rows is typed for entity selects
            select(RoutedItem.id, RoutedItem.article_id)
            .where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
            .order_by(RoutedItem.id)
        )
        return [(int(row[0]), str(row[1])) for row in session.execute(lock_rows(stmt))]

    @staticmethod
    def _attach(
        session: Session, by_article: dict[str, list[int]], parts: Sequence[Sequence[str]], ids: Sequence[str]
    ) -> None:
        """Put each part's routed items into its delivery (two bound values a row, however many rows)."""
        values = [
            {"rid": rid, "did": delivery_id}
            for delivery_id, part in zip(ids, parts, strict=False)
            for article_id in part
            for rid in by_article[article_id]
        ]
        if values:
            session.execute(
                update(_ROUTED).where(_ROUTED.c.id == bindparam("rid")).values(delivery_id=bindparam("did")),
                values,
            )

    def pending_items(self, subscriber_id: str) -> list[str]:
        """Ids of the articles routed to a subscriber and not yet in a delivery."""
        with self.db.sessions() as session:
            return list(
                session.scalars(
                    select(RoutedItem.article_id)
                    .where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
                    .distinct()
                )
            )

    # ------------------------------------------------------------ sending

    def claim_due(self, owner: str, now: datetime, *, limit: int, lease: timedelta) -> list[ClaimedDelivery]:
        """Lease due deliveries; a worker that dies leaves them to be claimed again when the lease ends."""
        with self.db.transaction() as session:
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
        with self.db.transaction() as session:
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
        with self.db.transaction() as session:
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
        with self.db.sessions() as session:
            # A resend has no items of its own: it carries those of the delivery it resends.
            delivery_id = session.scalar(select(Delivery.resend_of).where(Delivery.id == delivery_id)) or delivery_id
            routed = list(
                session.scalars(
                    select(RoutedItem).where(RoutedItem.delivery_id == delivery_id).order_by(RoutedItem.id)
                )
            )
            return self._stored_items(session, routed)

    def preview_items(self, subscriber_id: str) -> list[StoredItem]:
        """What a digest (its first part) would hold now."""
        return self.preview(subscriber_id)[0]

    def preview(self, subscriber_id: str) -> tuple[list[StoredItem], int]:
        """What a digest's first part would hold now, and how many more articles are pending (`digest --preview`)."""
        with self.db.sessions() as session:
            routed = list(
                session.scalars(
                    select(RoutedItem)
                    .where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
                    .order_by(RoutedItem.id)
                )
            )
            first = list(dict.fromkeys(r.article_id for r in routed))[:MAX_ITEMS_PER_DELIVERY]
            shown = set(first)
            items = self._stored_items(session, [r for r in routed if r.article_id in shown])
            return items, len({r.article_id for r in routed}) - len(shown)

    @staticmethod
    def _stored_items(session: Session, routed: Sequence[RoutedItem]) -> list[StoredItem]:
        by_article: dict[str, list[int]] = {}
        for item in routed:
            by_article.setdefault(item.article_id, []).append(item.match_id)
        if not by_article:
            return []
        # Every IN list in chunks: an article may have matched any number of entries.
        articles: dict[str, ArticleRow] = {}
        for part in chunked(by_article):
            articles.update((a.id, a) for a in session.scalars(select(ArticleRow).where(ArticleRow.id.in_(part))))
        matches: dict[int, MatchRow] = {}
        for part in chunked(dict.fromkeys(m for ids in by_article.values() for m in ids)):
            matches.update((m.id, m) for m in session.scalars(select(MatchRow).where(MatchRow.id.in_(part))))
        feeds = cluster_feeds(session, list(by_article))
        cluster_sizes: dict[str, int] = {}
        for part in chunked(sorted({a.cluster_id for a in articles.values() if a.cluster_id})):
            rows = session.execute(
                select(ArticleRow.cluster_id, func.count()).where(ArticleRow.cluster_id.in_(part)).group_by(ArticleRow.cluster_id)
            ).all()
            cluster_sizes.update((str(cluster), int(count)) for cluster, count in rows)
        result = []
        for article_id, ids in by_article.items():
            article = articles[article_id]
            carried = tuple(feeds.get(article_id, ()))
            size = max(cluster_sizes.get(article.cluster_id or "", 1), len(carried), 1)
            result.append(StoredItem(article, tuple(matches[i] for i in ids if i in matches), carried, size))
        return result

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
        with self.db.transaction() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.lease_owner == owner)
                .values(lease_owner=None, lease_until=None, **values)
            )

    def requeue(self, delivery_id: str, now: datetime) -> bool:
        """Re-queue a failed delivery by hand (`monitor deliveries --retry ID`)."""
        with self.db.transaction() as session:
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
        with self.db.transaction() as session:
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
        with self.db.sessions() as session:
            stmt = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id).limit(limit)
            if failed_only:
                retrying = and_(Delivery.status == "pending", Delivery.attempts > 0, Delivery.last_error.is_not(None))
                stmt = stmt.where(or_(Delivery.status == "failed", retrying))
            return list(session.scalars(stmt))

    # ------------------------------------------------------------ subscriber state

    def subscriber_state(self, subscriber_id: str) -> SubscriberState | None:
        """Shared state of one subscriber, if any."""
        with self.db.sessions() as session:
            return session.get(SubscriberState, subscriber_id)

    def set_last_digest(self, subscriber_id: str, at: datetime) -> None:
        """Remember the period the last digest covered."""
        with self.db.transaction() as session:
            self._state(session, subscriber_id).last_digest_at = at

    def disable_endpoint(self, subscriber_id: str, reason: str, now: datetime) -> None:
        """Stop sending to an endpoint that answered 410 Gone."""
        with self.db.transaction() as session:
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
        with self.db.transaction() as session:
            session.execute(delete(Delivery).where(Delivery.status == "empty", Delivery.created_at < before))
