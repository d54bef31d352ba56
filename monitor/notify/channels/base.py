"""What a delivery channel is: it groups a subscriber's pending articles, renders a delivery and sends it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from monitor.config.models import Config, SubscriberConfig
from monitor.notify.content import DeliveryContent
from monitor.store.outbox_assembly import Grouping

DeliveryKind = Literal["alert", "digest", "spike", "feed_health"]
"""An immediate alert, the digest of a period, a spike alert (docs/spikes.md: no articles of its own;
`DeliveryContent.spike` says what it shows, and each channel renders it its own way), or a feed-health
alert to an operator (no articles either: `DeliveryContent.feed_health`)."""


@dataclass(frozen=True, slots=True)
class SendContext:
    """What a channel may use besides the delivery: the configuration in force and the process environment."""

    config: Config
    env: Mapping[str, str]
    unsubscribe_secret: Callable[[], bytes]
    """The key that signs unsubscribe links (read from the database only by a channel that asks)."""


class Channel(Protocol):
    """One way of reaching a subscriber; a worker holds one instance per channel and closes it when done.

    `send` and `preview` raise monitor.errors.DeliveryError (EndpointGone when the receiver asks to be
    left alone); the worker retries, fails or disables as the error says.
    """

    def grouping(self, kind: DeliveryKind) -> Grouping:
        """How pending articles are cut into deliveries of this kind (the outbox asks; it never tests names)."""
        ...

    def send(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        """Render and send one delivery; returns a short description of what was done (stored with it)."""
        ...

    def preview(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        """The delivery rendered for a person to read (`monitor digest --preview`); sends nothing."""
        ...

    def close(self) -> None:
        """Release what the channel holds (HTTP clients, connections)."""
        ...
