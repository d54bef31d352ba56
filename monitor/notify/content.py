"""What one delivery carries, independent of the channel that sends it, and its making from stored items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import quote

from monitor.config.models import Config, SubscriberConfig
from monitor.model import Match
from monitor.store.articles import match_from_row
from monitor.store.feed_health import FeedHealthAlert
from monitor.store.outbox_items import StoredItem
from monitor.store.spike_state import SpikeAlert

_SUMMARY_CHARS = 500
_DIGEST_NAMES = {"hourly": "Hourly digest", "daily": "Daily digest", "weekly": "Weekly digest"}


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The feed an article was delivered from."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ItemArticle:
    """The article part of a delivered item (DESIGN §5 webhook `article`)."""

    id: str
    url: str
    title: str
    source: SourceRef
    published_at: datetime  # UTC, aware
    language: str | None
    summary: str  # plain text, already free of markup
    cluster_size: int = 1
    also_reported_by: tuple[SourceRef, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryItem:
    """One article with the entries it matched for this subscriber."""

    article: ItemArticle
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class SpikeWindow:
    """One window that was a spike: its count against the usual (docs/spikes.md)."""

    window: Literal["hour", "day"]
    start: datetime  # UTC, aware
    end: datetime
    stories: int
    usual: float  # the plain mean of its baseline windows
    p_value: float

    @property
    def span(self) -> str:
        """How a reader names the window: "the last hour", "the last 24 hours"."""
        return "the last hour" if self.window == "hour" else "the last 24 hours"

    @property
    def headline(self) -> str:
        """E.g. "42 stories in the last hour, usually 3"."""
        noun = "story" if self.stories == 1 else "stories"
        return f"{self.stories} {noun} in {self.span}, usually {format_usual(self.usual)}"


@dataclass(frozen=True, slots=True)
class SpikeStory:
    """One of the top stories of a surge, by the number of outlets that carried it."""

    title: str
    url: str
    outlets: int
    articles: int
    published_at: datetime


@dataclass(frozen=True, slots=True)
class SpikeContent:
    """What a spike delivery says: the entry, the windows that spiked, the surge's top stories."""

    alert_id: str
    watchlist: str
    watchlist_name: str
    entry_id: str
    name: str
    reason: Literal["new", "grew"]
    windows: tuple[SpikeWindow, ...]  # the hour before the day
    articles: int  # raw matching articles in the widest window
    top_stories: tuple[SpikeStory, ...]
    entry_url: str = ""  # the entry's page on the dashboard

    @property
    def headline(self) -> str:
        """The first window's headline (the hour's when it spiked)."""
        return self.windows[0].headline if self.windows else "a surge"


def format_usual(value: float) -> str:
    """A baseline mean as a reader wants it: 3, 0.4, 12."""
    if value >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class FeedHealthContent:
    """What a feed-health delivery says (README, "Feed-health alerts"): which feed, what happened, what to do."""

    alert_id: str
    feed_id: str
    feed_name: str
    feed_url: str
    event: Literal["failing", "recovered", "stale", "resumed"]
    at: datetime  # when the alert was raised (UTC, aware)
    error_kind: str | None = None
    error_message: str | None = None
    hint: str = ""
    failing_since: datetime | None = None
    consecutive_errors: int = 0
    last_success_at: datetime | None = None
    last_new_item_at: datetime | None = None
    usual_interval: timedelta | None = None
    silent_for: timedelta | None = None
    feeds_url: str = ""  # the dashboard's Feeds page, when base_url is set


@dataclass(frozen=True, slots=True)
class DeliveryContent:
    """A whole delivery: one immediate alert, one digest, or one spike alert for one subscriber."""

    delivery_id: str
    kind: Literal["alert", "digest", "spike", "feed_health"]
    subscriber_id: str
    created_at: datetime  # UTC, aware
    items: tuple[DeliveryItem, ...]
    period_label: str = ""  # e.g. "daily digest, 24 Nov 2026"
    watchlist_names: dict[str, str] = field(default_factory=dict)  # id -> display name
    more_items: int = 0  # articles that did not fit (MAX_ITEMS_PER_DELIVERY): they follow in the next delivery
    spike: SpikeContent | None = None  # set on a spike delivery (which has no items)
    overflow: bool = False  # the "N more alerts" digest of what went over the subscriber's max_alerts_per_hour
    # Set on a feed-health delivery (which has no items): the alerts of one feed-health tick, feed by feed.
    feed_health: tuple[FeedHealthContent, ...] = ()


def period_label(subscriber: SubscriberConfig | None, created_at: datetime) -> str:
    """The heading of a digest, e.g. "Daily digest, 24 Nov 2026" (the date in the subscriber's zone)."""
    if subscriber is None:
        return "Digest"
    local = created_at.astimezone(subscriber.zone)
    name = _DIGEST_NAMES.get(subscriber.schedule.kind, "Digest")
    when = f"{local.day} {local:%b %Y}" + (f", {local:%H:%M}" if subscriber.schedule.kind == "hourly" else "")
    return f"{name}, {when}"


def build_content(
    delivery_id: str, kind: str, subscriber_id: str, created_at: datetime, items: list[StoredItem], config: Config,
    *, more_items: int = 0,
) -> DeliveryContent:
    """Turn stored items into the channel-independent content of a delivery (kind `overflow`: a digest-like "N more alerts")."""
    delivered = []
    for item in items:
        article = item.article
        source = SourceRef(*item.feeds[0]) if item.feeds else SourceRef(article.first_feed_id or "", "")
        summary = article.summary_text or article.content_text
        if len(summary) > _SUMMARY_CHARS:
            summary = summary[:_SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
        delivered.append(
            DeliveryItem(
                article=ItemArticle(
                    id=article.id, url=article.url, title=article.title, source=source,
                    published_at=article.published_at, language=article.language, summary=summary,
                    cluster_size=item.cluster_size,
                    also_reported_by=tuple(SourceRef(*f) for f in item.feeds[1:]),
                ),
                matches=tuple(match_from_row(m) for m in item.matches),
            )
        )
    subscriber = next((s for s in config.subscribers if s.id == subscriber_id), None)
    if kind == "overflow":
        # The alerts over max_alerts_per_hour, rolled into one digest-like delivery.
        total = len(delivered) + more_items
        cap = subscriber.max_alerts_per_hour if subscriber else None
        limit = f" (over your limit of {cap} an hour)" if cap else ""
        label = f"{total} more alert{'' if total == 1 else 's'}{limit}"
    else:
        label = period_label(subscriber, created_at) if kind == "digest" else ""
    return DeliveryContent(
        delivery_id=delivery_id,
        kind="digest" if kind in ("digest", "overflow") else "alert",
        overflow=kind == "overflow",
        period_label=label,
        subscriber_id=subscriber_id,
        created_at=created_at,
        items=tuple(delivered),
        watchlist_names={wid: w.name for wid, w in config.watchlists.items()},
        more_items=more_items,
    )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def entry_url(base_url: str, watchlist: str, entry_id: str) -> str:
    """The dashboard page of a watchlist entry (its series and spikes)."""
    return f"{base_url.rstrip('/')}/entries/{quote(watchlist, safe='')}/{quote(entry_id, safe='')}"


def build_spike_content(
    delivery_id: str, subscriber_id: str, created_at: datetime, alert: SpikeAlert, config: Config,
) -> DeliveryContent:
    """The content of a spike delivery, from the alert stored when the spike tick raised it."""
    data = alert.content
    windows = tuple(
        SpikeWindow("hour" if w["window"] == "hour" else "day", _time(w["start"]), _time(w["end"]), int(w["stories"]),
                    float(w["usual"]), float(w["p_value"]))
        for w in data.get("windows", [])
    )
    stories = tuple(
        SpikeStory(str(s["title"]), str(s["url"]), int(s["outlets"]), int(s["articles"]), _time(s["published_at"]))
        for s in data.get("top_stories", [])
    )
    watchlist = config.watchlists.get(alert.watchlist)
    base_url = config.settings.base_url
    spike = SpikeContent(
        alert_id=alert.id, watchlist=alert.watchlist,
        watchlist_name=watchlist.name if watchlist else str(data.get("watchlist_name", alert.watchlist)),
        entry_id=alert.entry_id, name=str(data.get("name", alert.entry_id)),
        reason="grew" if alert.reason == "grew" else "new", windows=windows, articles=int(data.get("articles", 0)),
        top_stories=stories, entry_url=entry_url(base_url, alert.watchlist, alert.entry_id) if base_url else "",
    )
    return DeliveryContent(
        delivery_id=delivery_id, kind="spike", subscriber_id=subscriber_id, created_at=created_at, items=(),
        watchlist_names={wid: w.name for wid, w in config.watchlists.items()}, spike=spike,
    )


def _maybe_time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _maybe_span(value: object) -> timedelta | None:
    return timedelta(seconds=float(value)) if isinstance(value, int | float) else None


def build_feed_health_content(
    delivery_id: str, subscriber_id: str, created_at: datetime, alerts: list[FeedHealthAlert], config: Config,
) -> DeliveryContent:
    """The content of a feed-health delivery, from the alerts the feed-health tick stored when it raised them."""
    base_url = config.settings.base_url
    return DeliveryContent(delivery_id=delivery_id, kind="feed_health", subscriber_id=subscriber_id,
                           created_at=created_at, items=(),
                           feed_health=tuple(_feed_health(alert, base_url) for alert in alerts))


def _feed_health(alert: FeedHealthAlert, base_url: str) -> FeedHealthContent:
    data = alert.content
    feed = data.get("feed") or {}
    event = alert.event if alert.event in ("failing", "recovered", "stale", "resumed") else "failing"
    return FeedHealthContent(
        alert_id=alert.id, feed_id=alert.feed_id, feed_name=str(feed.get("name") or alert.feed_id),
        feed_url=str(feed.get("url") or ""), event=event,  # type: ignore[arg-type]
        at=_maybe_time(data.get("at")) or alert.created_at,
        error_kind=data.get("error_kind"), error_message=data.get("error_message"), hint=str(data.get("hint") or ""),
        failing_since=_maybe_time(data.get("failing_since")), consecutive_errors=int(data.get("consecutive_errors") or 0),
        last_success_at=_maybe_time(data.get("last_success_at")),
        last_new_item_at=_maybe_time(data.get("last_new_item_at")),
        usual_interval=_maybe_span(data.get("usual_interval_seconds")), silent_for=_maybe_span(data.get("silent_seconds")),
        feeds_url=f"{base_url.rstrip('/')}/feeds" if base_url else "",
    )
