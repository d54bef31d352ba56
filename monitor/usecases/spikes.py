"""`monitor spikes`: the spikes the rule would have raised over stored history (a backtest of the rule)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from monitor.config.models import Config, SpikeSettings
from monitor.errors import MonitorError
from monitor.spikes import (
    LOOKBACK,
    AlertReason,
    Decision,
    HourlySeries,
    SpikeCheck,
    SpikeRule,
    SpikeState,
    WindowKind,
    check_hour,
    floor_hour,
    replay,
    step,
)
from monitor.store.coordination import advisory_lock
from monitor.store.db import Database
from monitor.store.spike_state import SPIKES_LOCK, StoredSpikeState, load_states, save_state
from monitor.store.volume import EntryKey, EntryVolume, TopStory, history_start, hourly_volume, top_stories


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


# ---------------------------------------------------------------- the spike tick of `monitor run`

RECENT = timedelta(hours=3)
"""Each tick re-reads the series from this long before the current hour: articles often arrive with
publication times an hour or more in the past. The whole look-back is re-read every 6 hours: what it
corrects (an article published more than 3 hours before it was seen, clusters joined across old hours)
moves a 14-day baseline by a story or two, and the full read is most of the tick's cost (docs/spikes.md,
"Cost")."""
FULL_READ_EVERY = timedelta(hours=6)
MAX_CATCH_UP = timedelta(hours=3)
"""After an outage, complete hours older than this are not judged: a spike that ended hours ago is
not news any more (`monitor spikes` still shows it)."""
TOP_STORIES = 5


@dataclass(frozen=True, slots=True)
class RaisedSpike:
    """A spike alert the tick raised: its id and how many subscribers it goes to."""

    alert_id: str
    watchlist: str
    entry_id: str
    reason: AlertReason
    recipients: int


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def spike_content(config: Config, key: EntryKey, name: str, decision: Decision, volume: EntryVolume,
                  stories: Sequence[TopStory], complete: bool) -> dict[str, Any]:
    """What a spike delivery shows, as stored with the alert (JSON: times as ISO 8601 UTC)."""
    checks = sorted(decision.checks, key=lambda c: c.kind != "hour")
    widest = max(checks, key=lambda c: c.end - c.start)
    hours = int((widest.end - widest.start) / timedelta(hours=1))
    articles = sum(volume.articles.get(widest.start + timedelta(hours=i), 0) for i in range(hours))
    watchlist = config.watchlists.get(key[0])
    return {
        "watchlist": key[0], "watchlist_name": watchlist.name if watchlist else key[0],
        "entry": key[1], "name": name, "reason": decision.reason or "new", "complete": complete,
        "articles": articles,
        "windows": [
            {"window": c.kind, "start": _iso(c.start), "end": _iso(c.end), "stories": c.observed,
             "usual": round(c.usual, 2), "rate": round(c.rate, 4), "p_value": float(f"{c.p_value:.3g}")}
            for c in checks
        ],
        "top_stories": [
            {"title": s.title, "url": s.url, "outlets": s.outlets, "articles": s.articles,
             "published_at": _iso(s.published_at)}
            for s in stories
        ],
    }


class SpikeTicker:
    """The spike tick: judge each entry's complete hours (and the hour so far) and raise alerts once per spike.

    The series of closed hours is kept in memory between ticks; each tick re-reads the last few hours
    and the whole look-back once an hour (docs/spikes.md, "Cost"). The state that makes an alert
    once per spike is in the database (monitor/store/spike_state.py), so a restart or a second
    process does not alert again.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._series: dict[EntryKey, EntryVolume] = {}
        self._read_at: datetime | None = None

    def series(self, now: datetime) -> dict[EntryKey, EntryVolume]:
        """Every entry's hourly series up to now: the cache, refreshed."""
        current = floor_hour(now)
        end = current + timedelta(hours=1)
        start = current - LOOKBACK - timedelta(hours=1)
        if self._read_at is None or not timedelta(0) <= now - self._read_at < FULL_READ_EVERY:
            self._series = hourly_volume(self.db, start, end)
            self._read_at = now
            return self._series
        recent_start = current - RECENT
        recent = hourly_volume(self.db, recent_start, end)
        for key in set(self._series) | set(recent):
            old = self._series.get(key, EntryVolume())
            new = recent.get(key, EntryVolume())
            self._series[key] = EntryVolume(
                {h: c for h, c in old.stories.items() if start <= h < recent_start} | new.stories,
                {h: c for h, c in old.articles.items() if start <= h < recent_start} | new.articles,
            )
        return self._series

    def tick(self, config: Config, now: datetime) -> list[RaisedSpike]:
        """One tick over every entry with spikes on; returns the alerts raised (none when another process is at it)."""
        with advisory_lock(self.db, SPIKES_LOCK, wait=False) as mine:
            if not mine:
                return []
            return self._tick(config, now)

    def _tick(self, config: Config, now: datetime) -> list[RaisedSpike]:
        entries = entries_to_check(config, None)
        if not entries:
            return []
        series = self.series(now)
        states = load_states(self.db)
        started = history_start(self.db)
        current = floor_hour(now)
        raised = []
        for key, name, settings in entries:
            stored = states.get(key, StoredSpikeState())
            volume = series.get(key, EntryVolume())
            judged = self._judge(rule_for(settings), stored, volume, current, started)
            new, found = judged
            alert = None
            recipients: list[tuple[str, str]] = []
            if found is not None:
                decision, complete, at = found
                checks = sorted(decision.checks, key=lambda c: c.kind != "hour")
                stories = top_stories(self.db, key, checks[0].start, checks[0].end, limit=TOP_STORIES)
                alert = (at if complete else now, decision.reason or "new",
                         spike_content(config, key, name, decision, volume, stories, complete))
                recipients = [(s.id, s.channel) for s in config.subscribers if s.wants_spike(*key)]
            if new == stored and alert is None:
                continue
            alert_id = save_state(self.db, key, expected=stored, new=new, now=now, alert=alert, recipients=recipients)
            if isinstance(alert_id, str) and found is not None:
                raised.append(RaisedSpike(alert_id, key[0], key[1], found[0].reason or "new", len(recipients)))
        return raised

    @staticmethod
    def _judge(rule: SpikeRule, stored: StoredSpikeState, volume: EntryVolume, current: datetime,
               started: datetime | None) -> tuple[StoredSpikeState, tuple[Decision, bool, datetime] | None]:
        """The complete hours not judged yet, then the hour so far: the new state and the last alert, if any."""
        counts = HourlySeries(volume.stories)
        state = SpikeState(stored.active, tuple((cast(WindowKind, k), c) for k, c in stored.alerted))
        hour = max(stored.judged_through or current - timedelta(hours=1), current - MAX_CATCH_UP)
        found: tuple[Decision, bool, datetime] | None = None
        while hour < current:
            decision = step(state, check_hour(rule, counts, hour, started), growth=rule.growth)
            if decision.alert:
                found = (decision, True, hour + timedelta(hours=1))
            state, hour = decision.state, hour + timedelta(hours=1)
        # The hour in progress: a surge alerts within a tick, not at the end of its hour.
        decision = step(state, check_hour(rule, counts, current, started), growth=rule.growth, complete=False)
        if decision.alert:
            found = (decision, False, current + timedelta(hours=1))
        state = decision.state
        stored_new = StoredSpikeState(state.active, tuple(sorted((str(k), c) for k, c in state.alerted)), current)
        return stored_new, found
