"""Typed models of the four configuration files (DESIGN §3), imported from here (`from monitor.config.models import Config`).

One module per file: `feeds` (feeds.yaml), `watchlists` (watchlists/*.yaml), `subscribers`
(subscribers.yaml), `settings` (monitor.yaml); `common` holds what they share. `Config`, the whole
loaded directory, is defined here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from monitor.config.models.common import StrictModel, check_id, check_zone
from monitor.config.models.feeds import FeedConfig, FeedDefaults, FeedsFile, feed_id_from_url
from monitor.config.models.settings import (
    EmailSettings,
    FetchSettings,
    Settings,
    SmtpSettings,
    WebSubSettings,
)
from monitor.config.models.subscribers import (
    CHANNEL,
    NotifyConfig,
    SubscriberConfig,
    SubscribersFile,
    WebhookConfig,
)
from monitor.config.models.watchlists import (
    ActorConfig,
    ExcludeScope,
    Forms,
    SpikeSettings,
    TopicConfig,
    WatchlistConfig,
    WatchlistTest,
    merge_spikes,
)

__all__ = [
    "CHANNEL",
    "ActorConfig",
    "Config",
    "EmailSettings",
    "ExcludeScope",
    "FeedConfig",
    "FeedDefaults",
    "FeedsFile",
    "FetchSettings",
    "Forms",
    "NotifyConfig",
    "Settings",
    "SmtpSettings",
    "SpikeSettings",
    "StrictModel",
    "SubscriberConfig",
    "SubscribersFile",
    "TopicConfig",
    "WatchlistConfig",
    "WatchlistTest",
    "WebSubSettings",
    "WebhookConfig",
    "check_id",
    "check_zone",
    "feed_id_from_url",
    "merge_spikes",
]


class Config(StrictModel):
    """Everything loaded from a configuration directory."""

    directory: Path
    settings: Settings = Settings()
    feed_defaults: FeedDefaults = FeedDefaults()
    feeds: tuple[FeedConfig, ...] = ()
    subscribers: tuple[SubscriberConfig, ...] = ()
    watchlists: dict[str, WatchlistConfig] = Field(default_factory=dict)

    def feed_interval(self, feed: FeedConfig) -> timedelta:
        """The configured polling interval of a feed (its own or the default)."""
        return feed.interval or self.feed_defaults.interval
