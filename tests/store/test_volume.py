"""The hourly volume series per entry (monitor/store/volume.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from monitor.store.db import Database
from monitor.store.volume import history_start, hourly_volume, top_stories
from tests.spikes.history import TODAY, add_story

H = TODAY + timedelta(hours=9)


def test_stories_count_once_in_their_first_hour_and_articles_in_their_own(db: Database) -> None:
    assert history_start(db) is None
    add_story(db, ["a", "b"], H + timedelta(minutes=5))
    add_story(db, ["a"], H + timedelta(minutes=59, seconds=59))
    syndicated = H + timedelta(minutes=40)
    add_story(db, ["a"], syndicated, copies=3)  # published at :40, :41, :42
    add_story(db, ["a"], H + timedelta(minutes=30), copies=60)  # copies run on into the next hour
    add_story(db, ["a"], H - timedelta(seconds=1))  # the hour before
    add_story(db, ["a"], H + timedelta(hours=2))  # outside the window
    series = hourly_volume(db, H - timedelta(hours=1), H + timedelta(hours=2))
    a, b = series[("w", "a")], series[("w", "b")]
    assert a.stories == {H - timedelta(hours=1): 1, H: 4}
    assert a.articles == {H - timedelta(hours=1): 1, H: 2 + 3 + 30, H + timedelta(hours=1): 30}
    assert b.stories == {H: 1} == b.articles
    assert set(series) == {("w", "a"), ("w", "b")}
    assert hourly_volume(db, H, H + timedelta(hours=1), ("w", "b")) == {("w", "b"): b}
    assert history_start(db) == H - timedelta(seconds=1)


def test_top_stories_rank_by_outlets(db: Database) -> None:
    add_story(db, ["a"], H, outlets=2, title="Two outlets")
    wide = add_story(db, ["a"], H + timedelta(minutes=10), copies=5, title="Five outlets")
    add_story(db, ["b"], H, outlets=9, title="Another entry")
    top = top_stories(db, ("w", "a"), H, H + timedelta(hours=1))
    assert [(s.story_id, s.title, s.outlets, s.articles) for s in top][:1] == [(wide, "Five outlets", 5, 5)]
    assert [s.title for s in top] == ["Five outlets", "Two outlets"]
    assert top[0].url == f"https://news.test/{wide}" and top[0].published_at == H + timedelta(minutes=10)
    assert top_stories(db, ("w", "a"), H, H + timedelta(hours=1), limit=1) == top[:1]
