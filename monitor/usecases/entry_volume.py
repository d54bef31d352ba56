"""The dashboard's entry view: one watchlist entry's hourly and daily series, and the spike alerts raised for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.config.models import Config, SpikeSettings
from monitor.spikes import daily_counts, floor_hour
from monitor.store.db import Database
from monitor.store.spike_state import SpikeAlert, spike_alerts
from monitor.store.volume import hourly_volume

HOURS_SHOWN = 72
DAYS_SHOWN = 14


@dataclass(frozen=True)
class EntryVolumeView:
    """What the entry page shows: the entry, its series (oldest first), the hours and days that spiked, the alerts."""

    watchlist: str
    watchlist_name: str
    entry_id: str
    name: str
    kind: str
    settings: SpikeSettings | None  # None: spike detection is off for this entry
    hours: list[datetime]
    hourly_stories: list[int]
    hourly_articles: list[int]
    days: list[date]
    daily_stories: list[int]
    daily_articles: list[int]
    alerts: list[SpikeAlert]
    spike_hours: set[datetime] = field(default_factory=set)
    spike_days: set[date] = field(default_factory=set)


def _entry(config: Config, watchlist: str, entry_id: str) -> tuple[str, str, str] | None:
    found = config.watchlists.get(watchlist)
    if found is None:
        return None
    for actor in found.actors:
        if actor.id == entry_id:
            return found.name, actor.name, "actor"
    for topic in found.topics:
        if topic.id == entry_id:
            return found.name, topic.name, "topic"
    return None


def entry_volume(config: Config, db: Database, watchlist: str, entry_id: str, now: datetime, *,
                 hours: int = HOURS_SHOWN, days: int = DAYS_SHOWN) -> EntryVolumeView | None:
    """The entry's last `hours` hours and `days` days (days in monitor.yaml's zone), None for an unknown entry."""
    names = _entry(config, watchlist, entry_id)
    if names is None:
        return None
    zone = ZoneInfo(config.settings.timezone)
    current = floor_hour(now)
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    # From the start of the first local day (hours are UTC; a day starts at its zone's midnight).
    start = min(floor_hour(datetime.combine(first_day, datetime.min.time(), zone).astimezone(current.tzinfo)),
                current - timedelta(hours=hours - 1))
    volume = hourly_volume(db, start, current + timedelta(hours=1), (watchlist, entry_id)).get((watchlist, entry_id))
    stories = volume.stories if volume else {}
    articles = volume.articles if volume else {}
    hour_list = [current - timedelta(hours=hours - 1 - i) for i in range(hours)]
    day_list = [first_day + timedelta(days=i) for i in range(days)]
    per_day_stories, per_day_articles = daily_counts(stories, zone), daily_counts(articles, zone)
    alerts = spike_alerts(db, (watchlist, entry_id), since=start, limit=100)
    spike_hours: set[datetime] = set()
    spike_days: set[date] = set()
    for alert in alerts:
        for window in alert.content.get("windows", []):
            end = datetime.fromisoformat(window["end"])
            if window.get("window") == "hour":
                spike_hours.add(datetime.fromisoformat(window["start"]))
            spike_days.add((end - timedelta(hours=1)).astimezone(zone).date())
    return EntryVolumeView(
        watchlist=watchlist, watchlist_name=names[0], entry_id=entry_id, name=names[1], kind=names[2],
        settings=config.watchlists[watchlist].spike_settings(entry_id),
        hours=hour_list, hourly_stories=[stories.get(h, 0) for h in hour_list],
        hourly_articles=[articles.get(h, 0) for h in hour_list],
        days=day_list, daily_stories=[per_day_stories.get(d, 0) for d in day_list],
        daily_articles=[per_day_articles.get(d, 0) for d in day_list],
        alerts=alerts, spike_hours=spike_hours, spike_days=spike_days,
    )
