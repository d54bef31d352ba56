"""The delivery channels by name: the subscriber key that selects a channel names its entry here."""

from __future__ import annotations

from collections.abc import Callable

from monitor.notify.channels.base import Channel
from monitor.notify.channels.chat import ChatChannel
from monitor.notify.channels.email import EmailChannel
from monitor.notify.channels.webhook import WebhookChannel

ChannelFactory = Callable[[], Channel]
"""Makes a channel instance (a worker makes one per channel it sends on, and closes it)."""

_CHANNELS: dict[str, ChannelFactory] = {
    "email": EmailChannel,
    "webhook": WebhookChannel,
    "notify": ChatChannel,
}


def register(name: str, factory: ChannelFactory) -> None:
    """Make a channel available under `name` (the SubscriberConfig field that selects it); replaces any before."""
    _CHANNELS[name] = factory


def unregister(name: str) -> None:
    """Remove a channel (tests that registered a throwaway one)."""
    _CHANNELS.pop(name, None)


def registered() -> tuple[str, ...]:
    """The names of every channel, in registration order."""
    return tuple(_CHANNELS)


def channel_for(name: str) -> Channel:
    """A new instance of the channel registered under `name`; LookupError when none is."""
    factory = _CHANNELS.get(name)
    if factory is None:
        raise LookupError(f"no delivery channel {name!r} is registered (known: {', '.join(_CHANNELS)})")
    return factory()
