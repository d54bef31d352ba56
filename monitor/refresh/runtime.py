"""The configuration in force, with everything compiled from it; swapped whole on reload."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.config.models import Config, FeedConfig, SubscriberConfig
from monitor.match import CompiledWatchlists
from monitor.notify.routing import Router


@dataclass(frozen=True)
class Runtime:
    """A loaded configuration plus its compiled matcher and router."""

    config: Config
    matcher: CompiledWatchlists
    router: Router
    feeds: dict[str, FeedConfig] = field(default_factory=dict)
    subscribers: dict[str, SubscriberConfig] = field(default_factory=dict)

    @classmethod
    def build(cls, config: Config, matcher: CompiledWatchlists | None = None) -> Runtime:
        """Compile a configuration, unless `matcher` has it compiled (the old Runtime serves until this one is in)."""
        return cls(
            config=config,
            matcher=matcher if matcher is not None else CompiledWatchlists.compile(config.watchlists),
            router=Router(config.subscribers),
            feeds={f.id: f for f in config.feeds},
            subscribers={s.id: s for s in config.subscribers},
        )
