"""Typed models of the four configuration files (DESIGN §3)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.config.schedule import Schedule, parse_schedule
from monitor.config.units import ByteSize, Duration

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"id {value!r} must be lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return value


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Istanbul") from None
    return value


def feed_id_from_url(url: str) -> str:
    """A stable, readable id for a feed without one: host plus a short hash of the URL."""
    host = (urlsplit(url).hostname or "local").removeprefix("www.")
    slug = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "feed"
    return f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"


# ---------------------------------------------------------------- feeds.yaml


class FeedDefaults(_Strict):
    interval: Duration = timedelta(minutes=15)
    max_interval: Duration = timedelta(hours=6)


class FeedConfig(_Strict):
    url: str
    id: str = ""
    name: str | None = None
    interval: Duration | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    full_text: bool = False
    # A paused feed stays in feeds.yaml but is not polled (the dashboard's Pause; docs/feeds.md).
    paused: bool = False

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        value = value.strip()
        scheme = urlsplit(value).scheme.lower()
        if scheme in ("http", "https"):
            if not urlsplit(value).hostname:
                raise ValueError(f"URL {value!r} has no host")
            return value
        if scheme == "file" or scheme == "" or len(scheme) == 1:  # "" or "c:" → a path
            return value
        raise ValueError(f"URL scheme {scheme!r} is not supported; use http(s), or file: with allow_local_feeds")

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(seconds=1):
            raise ValueError("interval must be at least 1s")
        return value

    @model_validator(mode="after")
    def _derive_id(self) -> FeedConfig:
        if not self.id:
            object.__setattr__(self, "id", feed_id_from_url(self.url))
        else:
            _check_id(self.id)
        return self

    @property
    def is_local(self) -> bool:
        """True for file: URLs and plain paths."""
        return urlsplit(self.url).scheme.lower() not in ("http", "https")


class FeedsFile(_Strict):
    defaults: FeedDefaults = FeedDefaults()
    feeds: tuple[FeedConfig, ...] = ()


# ---------------------------------------------------------------- watchlists/*.yaml


class SpikeSettings(_Strict):
    """`spikes:` of a watchlist or an entry: the thresholds of the volume rule (docs/spikes.md).

    `spikes: false` turns detection off, `spikes: true` turns it back on with the defaults.
    """

    enabled: bool = True
    min_stories: int = Field(default=5, ge=1)
    p_value: float = Field(default=0.001, gt=0, lt=1)
    window: Literal["hour", "day", "both"] = "both"
    growth: float = Field(default=2.0, gt=1)

    @model_validator(mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        return {"enabled": value} if isinstance(value, bool) else value


def merge_spikes(*layers: SpikeSettings | None) -> SpikeSettings | None:
    """An entry's settings from its watchlist's `spikes:` then its own (keys set later win); None when off."""
    merged: dict[str, object] = {}
    for layer in layers:
        if layer is not None:
            merged.update({name: getattr(layer, name) for name in layer.model_fields_set})
            if "enabled" not in layer.model_fields_set:
                merged["enabled"] = True  # tuning an entry turns it on, even in a watchlist that is off
    settings = SpikeSettings.model_validate(merged)
    return settings if settings.enabled else None


Forms = Literal["exact", "inflected"]
"""Whether words and names match their forms in the article's language (docs/query-language.md)."""
ExcludeScope = Literal["article", "occurrence"]
"""What an actor's `exclude` vetoes: the whole article, or only the names it overlaps or sits next to."""


class ActorConfig(_Strict):
    id: str
    name: str
    kind: Literal["person", "organization", "place", "other"] = "other"
    aliases: tuple[str, ...] = ()
    exact_case: tuple[str, ...] = ()
    exclude: str | None = None
    # "article" is the default: an exclude written as context ("Cambridge" for MIT) keeps its meaning.
    exclude_scope: ExcludeScope = "article"
    exclude_within: int | None = Field(default=None, ge=0, le=1000)  # words between, with `occurrence`
    forms: Forms | None = None  # None: the watchlist's `forms`
    description: str | None = None
    spikes: SpikeSettings | None = None

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))

    @model_validator(mode="after")
    def _within_needs_occurrence(self) -> ActorConfig:
        if self.exclude_within is not None and self.exclude_scope != "occurrence":
            raise ValueError("exclude_within applies only with exclude_scope: occurrence "
                             "(an article-wide exclude has no distance)")
        return self


class TopicConfig(_Strict):
    id: str
    name: str
    query: str
    forms: Forms | None = None  # None: the watchlist's `forms`
    description: str | None = None
    spikes: SpikeSettings | None = None

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


class WatchlistTest(_Strict):
    """A watchlist-as-code test: `text` must match every entry in `matches` and none in `not_matches`."""

    text: str
    title: str = ""
    matches: tuple[str, ...] = ()
    not_matches: tuple[str, ...] = ()


class WatchlistConfig(_Strict):
    id: str = ""
    name: str
    description: str | None = None
    actors: tuple[ActorConfig, ...] = ()
    topics: tuple[TopicConfig, ...] = ()
    tests: tuple[WatchlistTest, ...] = ()
    spikes: SpikeSettings | None = None
    forms: Forms = "inflected"

    def entry_ids(self) -> list[str]:
        """Ids of all actors and topics, in file order."""
        return [a.id for a in self.actors] + [t.id for t in self.topics]

    def spike_settings(self, entry_id: str) -> SpikeSettings | None:
        """The spike settings of one entry (its own `spikes:` over the watchlist's), None when turned off."""
        own = [a.spikes for a in self.actors if a.id == entry_id] + [t.spikes for t in self.topics if t.id == entry_id]
        return merge_spikes(self.spikes, *own)


# ---------------------------------------------------------------- subscribers.yaml


class WebhookConfig(_Strict):
    url: str
    secret_env: str | None = None
    timeout: Duration = timedelta(seconds=10)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("webhook url must be http(s)")
        return value


class NotifyConfig(_Strict):
    """A chat or push service reached through Apprise (docs/chat.md); its URL holds tokens, so only its variable is named."""

    url_env: str
    format: Literal["markdown", "text"] = "markdown"  # text: for services that show markup literally


class _ChannelField:
    """Marks a SubscriberConfig field as a delivery channel: the field's name is the channel's registry name."""

    def __repr__(self) -> str:
        return "CHANNEL"


CHANNEL = _ChannelField()
"""`Annotated[<its settings> | None, CHANNEL]`: a subscriber sets exactly one such field (notify/channels/registry.py)."""


def _either(names: tuple[str, ...]) -> str:
    quoted = [f"'{n}'" for n in names]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else "".join(quoted)


class SubscriberConfig(_Strict):
    id: str
    # The delivery channels, one field each (config may not import notify, so the YAML key of a channel
    # and its settings are declared here; the channel itself is a module in notify/channels/).
    email: Annotated[str | None, CHANNEL] = None
    webhook: Annotated[WebhookConfig | None, CHANNEL] = None
    notify: Annotated[NotifyConfig | None, CHANNEL] = None
    # May be empty only for an operator who gets feed-health alerts alone (`feed_health: true`).
    watchlists: tuple[str, ...] = ()
    schedule: Schedule = Field(default_factory=lambda: parse_schedule("immediate"))
    timezone: str = "UTC"
    send_empty: bool = False
    name: str | None = None
    # Spike alerts (docs/spikes.md): off unless asked. `true`: a spike of any entry the subscriber follows
    # (`watchlists:`); a list: spikes of the watchlists (`mena`) and entries (`mena/hakan-fidan`) it names.
    spikes: bool | tuple[str, ...] = False
    # Stories alerted in a clock hour at most; the overflow rolls into one "N more alerts" delivery.
    # Default None (no cap), so that a configuration that worked before sends what it sent; 20 suits a desk.
    max_alerts_per_hour: int | None = Field(default=None, ge=1)
    # Entries whose routes this subscriber never gets: entry ids, or watchlist/entry keys.
    mute: tuple[str, ...] = ()
    # An operator: told once when a feed has been failing for `feed_failing_after` and once when it
    # recovers, and once when a feed stopped publishing and once when it publishes again (README).
    feed_health: bool = False

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))

    @model_validator(mode="after")
    def _follows_something(self) -> SubscriberConfig:
        if not self.watchlists and not self.feed_health:
            raise ValueError("missing required field 'watchlists' (an operator who gets only feed-health alerts "
                             "sets feed_health: true instead)")
        return self

    @field_validator("spikes")
    @classmethod
    def _spike_keys(cls, value: bool | tuple[str, ...]) -> bool | tuple[str, ...]:
        if isinstance(value, tuple):
            for key in value:
                for part in key.split("/", 1):
                    _check_id(part)
        return value

    def wants_spike(self, watchlist: str, entry_id: str) -> bool:
        """True when this subscriber opted in to spike alerts of this watchlist entry."""
        keys = self.watchlists if self.spikes is True else self.spikes or ()
        return watchlist in keys or f"{watchlist}/{entry_id}" in keys

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> Schedule:
        return value if isinstance(value, Schedule) else parse_schedule(str(value))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[^@\s]+@[^@\s]+$", value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @classmethod
    def channel_names(cls) -> tuple[str, ...]:
        """The fields that name a delivery channel, in declaration order."""
        return tuple(name for name, info in cls.model_fields.items() if CHANNEL in info.metadata)

    @model_validator(mode="after")
    def _one_channel(self) -> SubscriberConfig:
        names = self.channel_names()
        if sum(getattr(self, name) is not None for name in names) != 1:
            raise ValueError(f"a subscriber needs exactly one of {_either(names)}")
        return self

    @property
    def channel(self) -> str:
        """How this subscriber is reached: the name of its channel's field (and registry entry)."""
        return next(name for name in self.channel_names() if getattr(self, name) is not None)

    @property
    def zone(self) -> ZoneInfo:
        """The subscriber's time zone."""
        return ZoneInfo(self.timezone)


class SubscribersFile(_Strict):
    subscribers: tuple[SubscriberConfig, ...] = ()


# ---------------------------------------------------------------- monitor.yaml


class SmtpSettings(_Strict):
    host: str = "localhost"
    port: int = 587
    starttls: bool = True
    tls: bool = False
    username: str | None = None
    password_env: str | None = None
    timeout: Duration = timedelta(seconds=30)


class EmailSettings(_Strict):
    transport: Literal["smtp", "file"] = "file"
    from_: str = Field(default="Monitor <monitor@localhost>", alias="from")
    smtp: SmtpSettings = SmtpSettings()
    outbox_dir: Path = Path("var/outbox")
    templates_dir: Path | None = None
    unsubscribe_url: str | None = None


class FetchSettings(_Strict):
    timeout: Duration = timedelta(seconds=20)
    max_bytes: ByteSize = 15 * 1024 * 1024
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=64, ge=1)
    per_host: int = Field(default=2, ge=1)
    user_agent: str = "monitor/0.1 (+https://github.com/monitor/monitor)"
    allow_private_networks: bool = False


class WebSubSettings(_Strict):
    """WebSub push (README "WebSub push"): subscribe to the hubs feeds name, poll slower while pushed."""

    enabled: bool = True
    # hub.lease_seconds asked for; the hub decides, and the subscription is renewed before it ends.
    lease: Duration = timedelta(days=10)
    # While a feed is pushed its polling interval (and max_interval) is multiplied by this: a safety net.
    poll_factor: int = Field(default=4, ge=1, le=100)
    # No push for this long (since the subscription was verified or the last push): back to normal polling.
    quiet_after: Duration = timedelta(days=1)


class Settings(_Strict):
    database: str = "sqlite:///var/monitor.db"
    timezone: str = "UTC"
    email: EmailSettings = EmailSettings()
    fetch: FetchSettings = FetchSettings()
    websub: WebSubSettings = WebSubSettings()
    retention: Duration = timedelta(days=90)
    allow_local_feeds: bool = False
    log_format: Literal["text", "json"] = "text"
    base_url: str = "http://127.0.0.1:8080"
    # Host names the dashboard answers besides loopback, its bind address and base_url's host.
    allowed_hosts: tuple[str, ...] = ()
    # The dashboard's editor commits each save with the editor's name when the configuration directory is a
    # git work tree. A top-level key like the others (every setting outside email/fetch has its own variable).
    editor_git_commit: bool = False
    # Feed-health alerts (subscribers with `feed_health: true`): a feed failing this long is alerted once;
    # one with no new item for feed_stale_factor × its usual interval, and at least feed_stale_min, too.
    feed_failing_after: Duration = timedelta(hours=6)
    feed_stale_factor: float = Field(default=4.0, ge=1)
    feed_stale_min: Duration = timedelta(days=3)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        # From the environment (MONITOR_ALLOWED_HOSTS) the list is one string: comma- or space-separated.
        return tuple(value.replace(",", " ").split()) if isinstance(value, str) else value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            _check_host_name(host)
        return value


def _check_host_name(host: str) -> None:
    """A name for `allowed_hosts`: a host name, an IP address, or `*.domain`; no port, no scheme."""
    if host == "*" or "*" in host[1:] or (host.startswith("*") and not host.startswith("*.")):
        raise ValueError(
            f"{host!r}: '*' would answer any name and let a rebinding attacker in; "
            "list the names, or use '*.example.org' for a whole domain"
        )
    name = host.removeprefix("*.")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if ":" in name:
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            raise ValueError(f"{host!r} is not a host name: give the name without scheme or port") from None
        return
    if not _HOST_NAME.match(name):
        raise ValueError(f"{host!r} is not a host name: give the name without scheme, port or path")


# ---------------------------------------------------------------- the whole


class Config(_Strict):
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
