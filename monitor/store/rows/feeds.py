"""Feeds and their fetching: the feed rows, their WebSub subscriptions and pushes, the service's facts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.rows.base import Base, UTCDateTime, utcnow


class Feed(Base):
    """A feed from feeds.yaml and its fetch state (what Miniflux keeps on the feed row)."""

    __tablename__ = "feeds"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    configured_url: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    poll_count: Mapped[int] = mapped_column(Integer, default=0)
    last_fetch_ms: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str | None] = mapped_column(String(16))  # rss, atom, rdf, json, sitemap: of the last parsed body
    # Paused in feeds.yaml (`paused: true`): kept, never claimed (active is False too), shown as paused.
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # WebSub: the hubs (in the order named, at most parse's MAX_HUBS) and the topic the last parsed body
    # (or its Link headers) named, and until when the feed counts as pushed (polled `websub.poll_factor`
    # times slower until then; monitor/refresh/websub.py).
    hub_urls: Mapped[list[str] | None] = mapped_column(JSON)
    hub_topic: Mapped[str | None] = mapped_column(Text)
    push_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Feed health (monitor/feedhealth/): the first failed poll of the current run of failures (None while
    # it succeeds), the last poll that brought new articles, and the gaps (seconds) between such polls.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_item_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    item_gaps: Mapped[list[float] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_feeds_due", "active", "next_poll_at"),)


class WebSubSubscription(Base):
    """A WebSub subscription of a feed at a hub: its callback token, secret, state and lease (monitor/store/websub.py)."""

    __tablename__ = "websub_subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the callback URL's unguessable token
    feed_id: Mapped[str] = mapped_column(String(200), index=True)
    hub: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))
    # pending (asked, not verified yet), subscribed, denied, failed (the hub refused or never verified),
    # expired (the lease ended unrenewed), ended (replaced or unsubscribed).
    state: Mapped[str] = mapped_column(String(16))
    # subscribe / unsubscribe: a request sent whose verification of intent we will confirm; None: none.
    pending_mode: Mapped[str | None] = mapped_column(String(16))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_seconds: Mapped[int | None] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pushes: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)  # deliveries ignored for a bad signature
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # state `ended` since; purged after a while


class WebSubPush(Base):
    """A verified content distribution waiting for the service to refresh its feed with it (the push inbox)."""

    __tablename__ = "websub_pushes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(64))
    feed_id: Mapped[str] = mapped_column(String(200), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class ServiceState(Base):
    """Key/value facts about the service for health checks (last cycle, last successful poll)."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    number: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
