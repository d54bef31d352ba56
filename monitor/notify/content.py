"""What one delivery carries, independent of how it is sent (email, webhook, file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from monitor.model import Match


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
