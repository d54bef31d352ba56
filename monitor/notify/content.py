"""What one delivery carries, independent of the channel that sends it, and its making from stored items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from monitor.config.models import Config, SubscriberConfig
from monitor.model import Match
from monitor.store.articles import match_from_row
from monitor.store.outbox_items import StoredItem

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
class DeliveryContent:
    """A whole delivery: one immediate alert or one digest for one subscriber."""

    delivery_id: str
    kind: Literal["alert", "digest"]
    subscriber_id: str
    created_at: datetime  # UTC, aware
    items: tuple[DeliveryItem, ...]
    period_label: str = ""  # e.g. "daily digest, 24 Nov 2026"
    watchlist_names: dict[str, str] = field(default_factory=dict)  # id -> display name
    more_items: int = 0  # articles that did not fit (MAX_ITEMS_PER_DELIVERY): they follow in the next delivery
    overflow: bool = False  # the "N more alerts" digest of what went over the subscriber's max_alerts_per_hour


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
