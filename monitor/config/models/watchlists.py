"""watchlists/*.yaml: a watchlist's actors and topics, its tests, and the spike settings of its entries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from monitor.config.models.common import StrictModel, check_id


class SpikeSettings(StrictModel):
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


class ActorConfig(StrictModel):
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

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))

    @model_validator(mode="after")
    def _within_needs_occurrence(self) -> ActorConfig:
        if self.exclude_within is not None and self.exclude_scope != "occurrence":
            raise ValueError("exclude_within applies only with exclude_scope: occurrence "
                             "(an article-wide exclude has no distance)")
        return self


class TopicConfig(StrictModel):
    id: str
    name: str
    query: str
    forms: Forms | None = None  # None: the watchlist's `forms`
    description: str | None = None
    spikes: SpikeSettings | None = None

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))


class WatchlistTest(StrictModel):
    """A watchlist-as-code test: `text` must match every entry in `matches` and none in `not_matches`."""

    text: str
    title: str = ""
    matches: tuple[str, ...] = ()
    not_matches: tuple[str, ...] = ()


class WatchlistConfig(StrictModel):
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
