"""`monitor spikes`: the spikes the rule would have raised over stored history (a backtest of the rule)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.models import Config, SpikeSettings
from monitor.errors import MonitorError
from monitor.spikes import LOOKBACK, AlertReason, SpikeCheck, SpikeRule, floor_hour, replay
from monitor.store.db import Database
from monitor.store.volume import EntryKey, TopStory, history_start, hourly_volume, top_stories


@dataclass(frozen=True, slots=True)
class SpikeEvent:
    """An alert the rule would have raised: at `at` (the end of an hour), for an entry."""

    watchlist: str
    entry_id: str
    entry_name: str
    at: datetime
    reason: AlertReason
    checks: tuple[SpikeCheck, ...]  # the windows that were spikes, hour before day
    articles: int  # raw matching articles in the widest spiking window
    top: tuple[TopStory, ...]


def rule_for(settings: SpikeSettings) -> SpikeRule:
    """The pure rule of a configured entry."""
    return SpikeRule(settings.min_stories, settings.p_value, settings.window, settings.growth)


def entries_to_check(config: Config, entry: str | None) -> list[tuple[EntryKey, str, SpikeSettings]]:
    """(key, name, settings) of each entry to replay: all entries with spikes on, or the one named.

    An entry named explicitly is replayed even when its `spikes:` is off (to tune it before turning it on).
    """
    chosen: list[tuple[EntryKey, str, SpikeSettings]] = []
    for watchlist_id, watchlist in config.watchlists.items():
        for item_id, item_name in [(a.id, a.name) for a in watchlist.actors] + [(t.id, t.name) for t in watchlist.topics]:
            named = entry in (item_id, f"{watchlist_id}/{item_id}")
            if entry is not None and not named:
                continue
            settings = watchlist.spike_settings(item_id)
            if settings is None and entry is None:
                continue
            chosen.append(((watchlist_id, item_id), item_name, settings or SpikeSettings()))
    if entry is not None and not chosen:
        raise MonitorError(f"no watchlist entry {entry!r}; give LIST/ENTRY or an entry id (see `monitor check`)")
    if entry is not None and len(chosen) > 1:
        names = ", ".join(f"{w}/{e}" for (w, e), _, _ in chosen)
        raise MonitorError(f"entry {entry!r} is in several watchlists ({names}); give LIST/ENTRY")
    return chosen


def spike_backtest(
    config: Config, db: Database, *, days: int, now: datetime, entry: str | None = None,
    overrides: Mapping[str, object] | None = None, top: int = 3,
) -> Iterator[SpikeEvent]:
    """Replay the rule at the end of every complete hour of the last `days` days, per entry, oldest first.

    `overrides` replaces settings for this run (`min_stories`, `p_value`, `window`, `growth`).
    """
    end = floor_hour(now)
    first_hour = end - timedelta(days=days)
    chosen = entries_to_check(config, entry)
    single = chosen[0][0] if entry is not None else None
    series = hourly_volume(db, first_hour - LOOKBACK, end, single)
    started = history_start(db)
    events: list[SpikeEvent] = []
    for key, name, settings in chosen:
        if overrides:
            settings = SpikeSettings.model_validate({**settings.model_dump(), **overrides})
        volume = series.get(key)
        if volume is None:
            continue
        rule = rule_for(settings)
        for alert in replay(rule, volume.stories, first_hour, end, started):
            checks = tuple(sorted(alert.decision.checks, key=lambda c: c.kind != "hour"))
            widest = max(checks, key=lambda c: c.end - c.start)
            hours = int((widest.end - widest.start) / timedelta(hours=1))
            articles = sum(volume.articles.get(widest.start + timedelta(hours=i), 0) for i in range(hours))
            stories = tuple(top_stories(db, key, checks[0].start, checks[0].end, limit=top)) if top else ()
            events.append(SpikeEvent(key[0], key[1], name, alert.hour + timedelta(hours=1),
                                     alert.decision.reason or "new", checks, articles, stories))
    yield from sorted(events, key=lambda e: (e.at, e.watchlist, e.entry_id))
