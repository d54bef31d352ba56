"""SQLAlchemy 2 models: feeds and their fetch state, articles, sightings, matches, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones: store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


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


class ArticleRow(Base):
    """One article, however many feeds carry it."""

    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    summary_html: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    summary_text: Mapped[str] = mapped_column(Text, default="")
    content_text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_feed_id: Mapped[str | None] = mapped_column(String(200))
    cluster_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # The MinHash signature of its cluster text (32 packed values): candidates are screened with it
    # before their text is read (see monitor/store/clusters.py, PREFILTER). None for short texts.
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)

    # Covers the volume series of spike detection (monitor/store/volume.py, migration 0010).
    __table_args__ = (Index("ix_articles_published_story", "published_at", "id", "cluster_id"),)


class SearchTerms(Base):
    """An article's full-text index terms (monitor/match/terms.py), written by the indexer (monitor/store/search.py).

    PostgreSQL: a tsvector with a GIN index (`ix_search_terms_gin`). SQLite: the terms separated by
    spaces, indexed by the FTS5 table `search_fts` (external content: this table, kept in step by
    triggers; `id` is its rowid). Both are created by migration 0019, outside this metadata.
    """

    __tablename__ = "search_terms"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), ForeignKey("articles.id", ondelete="CASCADE"))
    terms: Mapped[str] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))

    __table_args__ = (Index("ix_search_terms_article", "article_id", unique=True),)


class SearchPending(Base):
    """An article inserted or changed since it was indexed: filled by triggers on `articles` (migration 0019).

    Search treats every pending article as a candidate, so results are exact before the indexer catches up.
    """

    __tablename__ = "search_pending"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), ForeignKey("articles.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_search_pending_article", "article_id"),)


NOT_IN_METADATA = ("search_fts", "ix_search_terms_gin")
"""Schema objects of migration 0019 that SQLAlchemy cannot describe (FTS5 tables, a GIN index): autogenerate skips them."""


def in_metadata(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name`: False for the full-text objects created by hand in migration 0019."""
    return not (name or "").startswith(NOT_IN_METADATA)


class Sighting(Base):
    """An article seen in a feed."""

    __tablename__ = "sightings"

    article_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    feed_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_sightings_feed", "feed_id", "first_seen_at"),)


class ClusterKey(Base):
    """One LSH band key of an article's MinHash signature: articles sharing a key are cluster candidates."""

    __tablename__ = "cluster_keys"
    # The primary key is the whole row: one B-tree per row (WITHOUT ROWID on SQLite), no foreign key
    # and no article_id index. A 20-item feed writes ~320 of these rows at random places, and each
    # extra B-tree or key check was paid for on every one of them. Whoever deletes or re-indexes an
    # article deletes its keys by recomputing them from its stored text (`stored_band_keys`); a key
    # left behind only names a candidate that the exact check then does not find.
    __table_args__ = {"sqlite_with_rowid": False}

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class MatchRow(Base):
    """A watchlist entry that matched an article, with the spans that made it true."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(64), ForeignKey("articles.id", ondelete="CASCADE"))
    watchlist: Mapped[str] = mapped_column(String(200))
    entry_kind: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str] = mapped_column(String(200))
    entry_name: Mapped[str] = mapped_column(Text)
    highlights: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Highlights found beyond those kept (MAX_HIGHLIGHTS_PER_FIELD per field): shown as "and N more".
    more_highlights: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    snippet: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (
        UniqueConstraint("article_id", "watchlist", "entry_id", name="uq_match_entry"),
        # The inbox's watchlist and entry filters start from the matches of that entry.
        Index("ix_matches_entry", "watchlist", "entry_id"),
    )


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


class ServiceState(Base):
    """Key/value facts about the service for health checks (last cycle, last successful poll)."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    number: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class UserRow(Base):
    """A dashboard account (`monitor users`, /admin/users): a role and an argon2 password hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | editor | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WebSessionRow(Base):
    """A signed-in browser: the SHA-256 of its cookie's random token, whose user, until when."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class InboxState(Base):
    """One user's read and star state of one story (the inbox): absent means unread and not starred."""

    __tablename__ = "inbox_state"

    # The user's name (monitor/web/identity.py current_user); text, so accounts need no foreign key here.
    user_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The story: its cluster id, else the article id (an article without a cluster is its own story).
    story_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    starred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
