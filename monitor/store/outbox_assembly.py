"""Assembling deliveries: a subscriber's pending routed items grouped into deliveries as their channel asks.

The unit a delivery counts is a *story*: a subscriber's pending items of the same story cluster (an
article and its near-duplicates), whatever entries and watchlists they were routed for, make one item
of one delivery, so a story reaches a subscriber once per assembly ("one alert per story"). A
subscriber's `max_alerts_per_hour` caps the stories sent as alerts in a clock hour (UTC); the overflow
stays pending and rolls into one `overflow` delivery ("N more alerts") at the first tick of a later hour.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from monitor.store.rows import ArticleRow, Delivery, RoutedItem
from monitor.store.snoozes import ActiveSnoozes, active_snoozes_in
from monitor.store.sql import chunked, insert_ignore, lock_rows

MAX_ITEMS_PER_DELIVERY = 100
"""Articles in one delivery at most (an immediate email, a digest, a webhook digest), whatever the channel
asks. A subscriber's pending articles beyond it go into further deliveries assembled at the same time,
each saying how many follow ("and N more"); no delivery's size or SQL grows with the number of pending items."""

SNOOZED = "not sent: snoozed"
"""The last_error of the cancelled delivery that holds items a snooze caught before they were assembled."""

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
        """The articles (stories) cut into deliveries, in order."""
        size = self.per_delivery
        return [list(articles[i : i + size]) for i in range(0, len(articles), size)]


def new_delivery_id() -> str:
    """A fresh delivery id; it becomes the Message-ID and the webhook-id, stable across retries."""
    return f"dlv_{uuid.uuid4().hex}"


def assemble_immediate(
    session: Session, subscriber_id: str, channel: str, now: datetime, grouping: Grouping,
    max_per_hour: int | None = None,
) -> list[str]:
    """Put a subscriber's pending items into alert deliveries cut as `grouping` says; returns their ids.

    One item per story. With `max_per_hour`, at most that many stories go out as alerts in a clock
    hour; the rest wait, and at the first tick of a later hour roll into one `overflow` delivery.
    """
    pending = _lock_pending(session, subscriber_id)
    if not pending:
        return []
    by_story = _group_by_story(session, pending)
    pending, by_story = _drop_snoozed(session, subscriber_id, channel, now, pending, by_story)
    ids: list[str] = []
    if max_per_hour is not None:
        hour = now.replace(minute=0, second=0, microsecond=0)
        held = _held_over(session, subscriber_id, pending, by_story, hour, max_per_hour)
        if held:
            ids += _insert_parts(session, subscriber_id, channel, "overflow", now, Grouping(), held)
            by_story = {k: v for k, v in by_story.items() if k not in held}
        budget = max(0, max_per_hour - alerts_in(session, subscriber_id, hour, now + timedelta(microseconds=1)))
        # Beyond the budget the stories stay pending (held), in routing order.
        by_story = dict(list(by_story.items())[:budget])
    if by_story:
        ids += _insert_parts(session, subscriber_id, channel, "alert", now, grouping, by_story)
    return ids


def alerts_in(session: Session, subscriber_id: str, start: datetime, end: datetime) -> int:
    """Stories a subscriber was sent as alerts created in [start, end) (resends not counted)."""
    return int(session.scalar(
        select(func.coalesce(func.sum(Delivery.item_count), 0)).where(
            Delivery.subscriber_id == subscriber_id, Delivery.kind == "alert", Delivery.resend_of.is_(None),
            Delivery.created_at >= start, Delivery.created_at < end,
        )
    ) or 0)


class Pending(NamedTuple):
    """A routed item in no delivery yet."""

    rid: int
    article_id: str
    created_at: datetime
    watchlist: str
    entry_id: str


def _drop_snoozed(
    session: Session, subscriber_id: str, channel: str, now: datetime, pending: list[Pending],
    by_story: dict[str, list[int]],
) -> tuple[list[Pending], dict[str, list[int]]]:
    """Put the items a snooze in force holds back into one cancelled delivery (visible, never sent later)."""
    if not pending:
        return pending, by_story
    snoozed = active_snoozes_in(session, now)
    if not snoozed.entries and not snoozed.stories:
        return pending, by_story
    story_of = {rid: story for story, rids in by_story.items() for rid in rids}
    held = {p.rid for p in pending if _is_snoozed(snoozed, subscriber_id, p, story_of[p.rid])}
    if not held:
        return pending, by_story
    delivery_id = new_delivery_id()
    session.execute(insert(_DELIVERIES), [{
        "id": delivery_id, "subscriber_id": subscriber_id, "channel": channel, "kind": "alert",
        "period_key": None, "status": "cancelled", "attempts": 0, "next_attempt_at": now, "created_at": now,
        "item_count": len({story_of[rid] for rid in held}), "last_error": SNOOZED,
    }])
    session.execute(
        update(_ROUTED).where(_ROUTED.c.id == bindparam("rid")).values(delivery_id=bindparam("did")),
        [{"rid": rid, "did": delivery_id} for rid in held],
    )
    kept = {story: [r for r in rids if r not in held] for story, rids in by_story.items()}
    return [p for p in pending if p.rid not in held], {story: rids for story, rids in kept.items() if rids}


def _is_snoozed(snoozed: ActiveSnoozes, subscriber_id: str, item: Pending, story: str) -> bool:
    keys = (item.entry_id, f"{item.watchlist}/{item.entry_id}")
    for who in (subscriber_id, None):
        if (who, story) in snoozed.stories or (who, item.article_id) in snoozed.stories:
            return True
        if any((who, k) in snoozed.entries for k in keys):
            return True
    return False


def _held_over(
    session: Session, subscriber_id: str, pending: Sequence[Pending],
    by_story: dict[str, list[int]], hour: datetime, cap: int,
) -> dict[str, list[int]]:
    """Stories routed before this hour and held back because the previous hour reached the cap."""
    routed_before = {p.rid for p in pending if p.created_at < hour}
    if not routed_before or alerts_in(session, subscriber_id, hour - timedelta(hours=1), hour) < cap:
        # Nothing was held: an item routed just before the hour turned was simply not assembled yet.
        return {}
    return {story: rids for story, rids in by_story.items() if rids[0] in routed_before}


def _insert_parts(
    session: Session, subscriber_id: str, channel: str, kind: str, now: datetime, grouping: Grouping,
    by_story: dict[str, list[int]],
) -> list[str]:
    """Deliveries of `kind` holding these stories cut as `grouping` says; returns their ids."""
    parts = grouping.parts(list(by_story))
    ids = [new_delivery_id() for _ in parts]
    rows = []
    remaining = len(by_story)
    for delivery_id, stories in zip(ids, parts, strict=True):
        remaining -= len(stories)
        rows.append({
            "id": delivery_id, "subscriber_id": subscriber_id, "channel": channel, "kind": kind,
            "period_key": None, "status": "pending", "attempts": 0, "next_attempt_at": now,
            "created_at": now, "item_count": len(stories),
            # One alert per story (a webhook's): the others are not "more" of this one.
            "more_items": remaining if grouping.count_following else 0,
        })
    session.execute(insert(_DELIVERIES), rows)
    _attach(session, by_story, parts, ids)
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
    pending = _lock_pending(session, subscriber_id)
    _, by_article = _drop_snoozed(session, subscriber_id, channel, now, pending, _group_by_story(session, pending))
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


def _group_by_story(session: Session, pending: Sequence[Pending]) -> dict[str, list[int]]:
    """Routed item ids by story (the article's cluster, else the article), stories in the order first routed."""
    articles = list(dict.fromkeys(p.article_id for p in pending))
    clusters: dict[str, str | None] = {}
    for part in chunked(articles):
        clusters.update(
            (str(a), c) for a, c in session.execute(select(ArticleRow.id, ArticleRow.cluster_id).where(ArticleRow.id.in_(part)))
        )
    by_story: dict[str, list[int]] = {}
    for p in pending:
        by_story.setdefault(clusters.get(p.article_id) or p.article_id, []).append(p.rid)
    return by_story


def _lock_pending(session: Session, subscriber_id: str) -> list[Pending]:
    """A subscriber's items in no delivery yet, locked, in routing order."""
    stmt: Any = (  # a column select: lock_rows is typed for entity selects
        select(RoutedItem.id, RoutedItem.article_id, RoutedItem.created_at, RoutedItem.watchlist, RoutedItem.entry_id)
        .where(RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))
        .order_by(RoutedItem.id)
    )
    return [Pending(int(r[0]), str(r[1]), r[2], str(r[3]), str(r[4])) for r in session.execute(lock_rows(stmt))]


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
