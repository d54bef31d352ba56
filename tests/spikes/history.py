"""Seeded match histories written straight into the store: articles, their outlets and their matches."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.models import ActorConfig, Config, WatchlistConfig
from monitor.store.db import Database
from monitor.store.rows import ArticleRow, MatchRow, Sighting

NOW = datetime(2026, 12, 15, 12, 30, tzinfo=UTC)
TODAY = datetime(2026, 12, 15, tzinfo=UTC)
_ids = itertools.count()


def add_story(db: Database, entries: Sequence[str], published: datetime, *, outlets: int = 1,
              copies: int = 1, title: str = "") -> str:
    """One story matching `entries` (ids in watchlist `w`): `copies` articles in one cluster, each seen in `outlets`
    feeds (or, for copies > 1, one outlet each). Returns the story id."""
    story = f"s{next(_ids)}"
    with db.transaction() as session:
        for copy in range(copies):
            article_id = story if copy == 0 else f"{story}-{copy}"
            session.add(ArticleRow(
                id=article_id, url=f"https://news.test/{article_id}", title=title or f"Story {story}",
                published_at=published + timedelta(minutes=copy), first_seen_at=published,
                content_hash=article_id, cluster_id=story if copies > 1 else None,
            ))
            session.flush()
            feeds = range(outlets) if copies == 1 else [copy]
            for feed in feeds:
                session.add(Sighting(article_id=article_id, feed_id=f"outlet-{feed}", first_seen_at=published,
                                     last_seen_at=published))
            for entry in entries:
                session.add(MatchRow(article_id=article_id, watchlist="w", entry_kind="actor", entry_id=entry,
                                     entry_name=entry.title(), highlights=[], snippet="", content_hash=article_id))
    return story


def add_stories(db: Database, entry: str, hour: datetime, count: int) -> None:
    """`count` distinct stories for `entry` published within the hour starting at `hour`."""
    for i in range(count):
        add_story(db, [entry], hour + timedelta(minutes=(i * 7) % 60))


def quiet_history(db: Database, entry: str, *, days: int = 21) -> None:
    """One story every 6 hours (00, 06, 12, 18 h UTC) for `days` days before today."""
    for day in range(days, 0, -1):
        for hour in (0, 6, 12, 18):
            add_stories(db, entry, TODAY - timedelta(days=day) + timedelta(hours=hour), 1)


def config(tmp_path: Path, *entries: str, spikes: dict[str, object] | None = None) -> Config:
    """A configuration with watchlist `w` holding one actor per entry id."""
    actors = tuple(ActorConfig(id=e, name=e.title()) for e in entries)
    watchlist = WatchlistConfig.model_validate({"id": "w", "name": "W", "actors": actors, "spikes": spikes})
    return Config(directory=tmp_path, watchlists={"w": watchlist})
