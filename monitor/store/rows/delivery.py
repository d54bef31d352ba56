"""The outbox and what it carries: deliveries, routed items, subscriber state, snoozes, spike and feed-health alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.rows.base import Base, UTCDateTime, utcnow


class Delivery(Base):
    """One outbox row: an alert or a digest for one subscriber, sent at least once."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscriber_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    # Articles of the same assembly that did not fit (MAX_ITEMS_PER_DELIVERY) and follow in later deliveries.
    more_items: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transport_info: Mapped[str | None] = mapped_column(Text)
    # A resend (`monitor deliveries --resend ID`) carries no items of its own: it sends the items of
    # the delivery named here again, under its own id (so its own Message-ID / webhook-id).
    resend_of: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint("subscriber_id", "period_key", name="uq_delivery_period"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )


class RoutedItem(Base):
    """A match routed to a subscriber; unique so an article reaches a subscriber once per entry, ever."""

    __tablename__ = "routed_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[str] = mapped_column(String(200))
    article_id: Mapped[str] = mapped_column(String(64), ForeignKey("articles.id", ondelete="CASCADE"))
    watchlist: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[str] = mapped_column(String(200))
    match_id: Mapped[int] = mapped_column(Integer, ForeignKey("matches.id", ondelete="CASCADE"))
    delivery_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("subscriber_id", "article_id", "watchlist", "entry_id", name="uq_routed_once"),
        Index("ix_routed_pending", "subscriber_id", "delivery_id"),
    )


class SubscriberState(Base):
    """Per-subscriber state shared by all processes: disabled endpoints, last digest period, opt-out."""

    __tablename__ = "subscriber_state"

    subscriber_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the subscriber unsubscribed (the link in an email); nothing is routed to them until
    # `monitor subscribers --resubscribe ID` clears it. The address is the one that opted out.
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_address: Mapped[str | None] = mapped_column(Text)


class StoredSecret(Base):
    """A secret generated once and shared by every process (the key that signs unsubscribe links)."""

    __tablename__ = "stored_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Snooze(Base):
    """An entry or a story held back for a while (`monitor snooze`, the article page): its routes are dropped until it ends."""

    __tablename__ = "snoozes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # None: every subscriber.
    subscriber_id: Mapped[str | None] = mapped_column(String(200))
    # "entry" (target: an entry id or watchlist/entry) or "story" (target: the story's cluster id, else the article id).
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(400))
    article_id: Mapped[str | None] = mapped_column(String(64))  # the article a story snooze was asked for
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpikeStateRow(Base):
    """One entry's once-per-spike state between spike ticks (monitor/spikes/state.py), shared by every process."""

    __tablename__ = "spike_state"

    watchlist: Mapped[str] = mapped_column(String(200), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    # [[window, count], ...]: per window, the count a continuing spike must grow from to alert again.
    alerted: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The end of the last complete hour judged: the next tick judges the hours after it.
    judged_through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpikeAlertRow(Base):
    """A spike alert raised by the spike tick: unique per entry and hour, so two processes never raise it twice."""

    __tablename__ = "spike_alerts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    watchlist: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the end of the (possibly partial) hour judged
    reason: Mapped[str] = mapped_column(String(16))
    # What the deliveries show (entry name, windows, counts, top stories): fixed when raised.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("watchlist", "entry_id", "at", name="uq_spike_alert_hour"),
        Index("ix_spike_alerts_created", "created_at"),
    )


class FeedHealthStateRow(Base):
    """What was already alerted about a feed's health (monitor/feedhealth/), shared by every process and restart."""

    __tablename__ = "feed_health_state"

    feed_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    failing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the failing alert, until it recovers
    stale_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the stale warning, until it publishes
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedHealthAlertRow(Base):
    """A feed-health alert raised (failing, recovered, stale, resumed): what its deliveries show, fixed when raised."""

    __tablename__ = "feed_health_alerts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The alerts one tick raised share a batch: each operator gets them in one delivery (period_key feedhealth:<batch>).
    batch: Mapped[str] = mapped_column(String(40), index=True)
    feed_id: Mapped[str] = mapped_column(String(200), index=True)
    event: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
