"""Assembling deliveries: a subscriber's pending routed items grouped into deliveries as their channel asks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from monitor.store.models import Delivery, RoutedItem
from monitor.store.sql import insert_ignore, lock_rows

MAX_ITEMS_PER_DELIVERY = 100
"""Articles in one delivery at most (an immediate email, a digest, a webhook digest), whatever the channel
asks. A subscriber's pending articles beyond it go into further deliveries assembled at the same time,
each saying how many follow ("and N more"); no delivery's size or SQL grows with the number of pending items."""

_DELIVERIES = cast(Table, Delivery.__table__)
_ROUTED = cast(Table, RoutedItem.__table__)


@dataclass(frozen=True, slots=True)
class Grouping:
    """How a channel groups a subscriber's pending articles into deliveries (the outbox asks, never names)."""

    per_delivery: int = MAX_ITEMS_PER_DELIVERY
    """Articles in one delivery at most (1: a delivery per article); never more than MAX_ITEMS_PER_DELIVERY."""
    count_following: bool = True
    """Whether a delivery says how many articles follow in later deliveries of the same assembly."""

    def __post_init__(self) -> None:
        if not 1 <= self.per_delivery <= MAX_ITEMS_PER_DELIVERY:
            raise ValueError(f"per_delivery must be 1..{MAX_ITEMS_PER_DELIVERY}, got {self.per_delivery}")

    def parts(self, articles: Sequence[str]) -> list[list[str]]:
        """The articles cut into deliveries, in order."""
        size = self.per_delivery
        return [list(articles[i : i + size]) for i in range(0, len(articles), size)]


def new_delivery_id() -> str:
    """A fresh delivery id; it becomes the Message-ID and the webhook-id, stable across retries."""
    return f"dlv_{uuid.uuid4().hex}"


def assemble_immediate(session: Session, subscriber_id: str, channel: str, now: datetime, grouping: Grouping) -> list[str]:
    """Put a subscriber's pending items into alert deliveries cut as `grouping` says; returns their ids."""
    pending = _lock_pending(session, subscriber_id)
    if not pending:
        return []
    by_article = _group_by_article(pending)
    parts = grouping.parts(list(by_article))
    ids = [new_delivery_id() for _ in parts]
    rows = []
    remaining = len(by_article)
    for delivery_id, articles in zip(ids, parts, strict=True):
        remaining -= len(articles)
        rows.append({
            "id": delivery_id, "subscriber_id": subscriber_id, "channel": channel, "kind": "alert",
            "period_key": None, "status": "pending", "attempts": 0, "next_attempt_at": now,
            "created_at": now, "item_count": len(articles),
            # One alert per article (a webhook's): the others are not "more" of this one.
            "more_items": remaining if grouping.count_following else 0,
        })
    session.execute(insert(_DELIVERIES), rows)
    _attach(session, by_article, parts, ids)
    return ids


def assemble_digest(
    session: Session, subscriber_id: str, channel: str, period_key: str, now: datetime, *, send_empty: bool,
    grouping: Grouping,
) -> str | None:
    """Create the one digest of a period (unique per subscriber and period, across processes).

    More articles than a delivery holds make further parts of the same digest (period keys
    `<key>+2`, `<key>+3`, ...), assembled and sent with it.
    """
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
    by_article = _group_by_article(_lock_pending(session, subscriber_id))
    articles = list(by_article)
    parts = grouping.parts(articles)
    ids = [delivery_id] + [new_delivery_id() for _ in parts[1:]]
    if len(parts) > 1:
        session.execute(insert(_DELIVERIES), [
            {
                "id": part_id, "subscriber_id": subscriber_id, "channel": channel, "kind": "digest",
                "period_key": f"{period_key}+{n}", "status": "pending", "attempts": 0,
                "next_attempt_at": now, "created_at": now, "item_count": len(part),
                "more_items": sum(len(p) for p in parts[n:]) if grouping.count_following else 0,
            }
            for n, (part_id, part) in enumerate(zip(ids[1:], parts[1:], strict=True), start=2)
        ])
    _attach(session, by_article, parts, ids)
    count = len(parts[0]) if parts else 0
    status = "pending" if count or send_empty else "empty"
    session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(
            item_count=count, status=status, more_items=len(articles) - count if grouping.count_following else 0
        )
    )
    return delivery_id if status == "pending" else None


def pending_article_ids(session: Session, subscriber_id: str) -> list[str]:
    """Ids of the articles routed to a subscriber and not yet in a delivery."""
    return list(
        session.scalars(
            select(RoutedItem.article_id)
            .where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
            .distinct()
        )
    )


def _group_by_article(pending: Sequence[tuple[int, str]]) -> dict[str, list[int]]:
    """Routed item ids by article, articles in the order they were first routed."""
    by_article: dict[str, list[int]] = {}
    for rid, article_id in pending:
        by_article.setdefault(article_id, []).append(rid)
    return by_article


def _lock_pending(session: Session, subscriber_id: str) -> list[tuple[int, str]]:
    """(routed item id, article id) of a subscriber's items in no delivery yet, locked, in routing order."""
    stmt: Any = (  # a column select: lock_rows is typed for entity selects
        select(RoutedItem.id, RoutedItem.article_id)
        .where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
        .order_by(RoutedItem.id)
    )
    return [(int(row[0]), str(row[1])) for row in session.execute(lock_rows(stmt))]


def _attach(session: Session, by_article: dict[str, list[int]], parts: Sequence[Sequence[str]], ids: Sequence[str]) -> None:
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
