"""subscribers.yaml: who is alerted about what, when, and through which delivery channel."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from monitor.config.models.common import StrictModel, check_id, check_zone
from monitor.config.schedule import Schedule, parse_schedule
from monitor.config.units import Duration


class WebhookConfig(StrictModel):
    url: str
    secret_env: str | None = None
    timeout: Duration = timedelta(seconds=10)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("webhook url must be http(s)")
        return value


class NotifyConfig(StrictModel):
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


class SubscriberConfig(StrictModel):
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

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))

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
                    check_id(part)
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
        return check_zone(value)

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


class SubscribersFile(StrictModel):
    subscribers: tuple[SubscriberConfig, ...] = ()
