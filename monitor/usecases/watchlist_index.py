"""Every watchlist entry with who follows it and its recent matches: the dashboard's watchlists page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.models import Config
from monitor.store.db import Database
from monitor.store.entry_counts import matches_per_entry

RECENT_DAYS = 7


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One actor or topic as the watchlists page lists it."""

    watchlist: str
    watchlist_name: str
    section: str  # "actors" or "topics"
    id: str
    name: str
    kind: str  # an actor's kind (person, organization, ...) or "topic"
    aliases: tuple[str, ...]
    query: str  # a topic's query, or an actor's exclusion
    subscribers: tuple[str, ...]
    recent_matches: int

    def text(self) -> str:
        """What the filter box searches: every field, lower case."""
        return " ".join((self.watchlist, self.watchlist_name, self.id, self.name, self.kind, *self.aliases,
                         self.query, *self.subscribers)).lower()


def list_entries(config: Config, db: Database, now: datetime, q: str = "") -> list[EntryRow]:
    """Every entry of every watchlist (those whose text holds each word of `q`), with matches in the last 7 days."""
    counts = matches_per_entry(db, now - timedelta(days=RECENT_DAYS), now + timedelta(seconds=1))
    rows = []
    for wl_id, wl in config.watchlists.items():
        for actor in wl.actors:
            rows.append(EntryRow(wl_id, wl.name, "actors", actor.id, actor.name, actor.kind,
                                 (*actor.aliases, *actor.exact_case), actor.exclude or "",
                                 _followers(config, wl_id, actor.id), counts.get((wl_id, actor.id), 0)))
        for topic in wl.topics:
            rows.append(EntryRow(wl_id, wl.name, "topics", topic.id, topic.name, "topic", (), topic.query,
                                 _followers(config, wl_id, topic.id), counts.get((wl_id, topic.id), 0)))
    words = q.lower().split()
    return [r for r in rows if all(w in r.text() for w in words)]


def _followers(config: Config, watchlist: str, entry_id: str) -> tuple[str, ...]:
    """The subscribers following the whole watchlist or this one entry (`watchlist/entry`)."""
    refs = (watchlist, f"{watchlist}/{entry_id}")
    return tuple(s.id for s in config.subscribers if any(ref in refs for ref in s.watchlists))
