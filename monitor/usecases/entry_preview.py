"""Try an edited entry before saving it: its hits among the stored articles, what it adds and removes, its tests.

The preview is the backtest (monitor/usecases/backtest.py) run twice, with the draft's watchlists and
with the saved ones, for the same entry over the same days: the difference is what saving would change.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from monitor.clock import DayWindow, day_window, local_day
from monitor.config.models import Config, WatchlistConfig
from monitor.errors import MonitorError
from monitor.match import CompiledWatchlists
from monitor.model import Document
from monitor.store.db import Database
from monitor.usecases.backtest import BacktestHit, backtest

PREVIEW_HITS = 20


@dataclass(frozen=True, slots=True)
class ChangedArticle:
    """An article that the change would start or stop matching."""

    article_id: str
    title: str
    url: str
    published_at: datetime


@dataclass(slots=True)
class Preview:
    """The draft's hits (the newest PREVIEW_HITS), hits per day, and the articles it adds and removes."""

    days: int
    window: DayWindow
    hits: list[BacktestHit] = field(default_factory=list)
    total: int = 0
    per_day: Counter[date] = field(default_factory=Counter)
    added: list[ChangedArticle] = field(default_factory=list)
    removed: list[ChangedArticle] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One `tests:` item of the watchlist that names the entry, run against the draft."""

    index: int
    title: str
    text: str
    expected: bool
    matched: bool

    @property
    def passed(self) -> bool:
        """True when the entry matched exactly when the test expects it to."""
        return self.expected == self.matched


def preview_entry(
    saved: Config, draft_watchlists: dict[str, WatchlistConfig], db: Database, watchlist: str, entry_id: str,
    original_id: str | None, *, days: int, now: datetime,
) -> Preview:
    """What the draft entry matches over the last `days` days, and what it adds and removes against the saved one."""
    zone = ZoneInfo(saved.settings.timezone)
    preview = Preview(days, day_window(now, days, zone))
    draft = saved.model_copy(update={"watchlists": draft_watchlists})
    new: dict[str, BacktestHit] = {}
    for hit in backtest(draft, db, f"{watchlist}/{entry_id}", days=days, now=now):
        new[hit.article_id] = hit
        if len(preview.hits) < PREVIEW_HITS:
            preview.hits.append(hit)
        preview.total += 1
        preview.per_day[local_day(hit.published_at, zone)] += 1
    old: dict[str, BacktestHit] = {}
    if original_id is not None and watchlist in saved.watchlists:
        try:
            old = {h.article_id: h for h in backtest(saved, db, f"{watchlist}/{original_id}", days=days, now=now)}
        except MonitorError:
            old = {}  # the saved entry is gone or broken: everything the draft matches is new
    preview.added = [_changed(h) for i, h in new.items() if i not in old]
    preview.removed = [_changed(h) for i, h in old.items() if i not in new]
    return preview


def _changed(hit: BacktestHit) -> ChangedArticle:
    return ChangedArticle(hit.article_id, hit.title, hit.url, hit.published_at)


def entry_tests(watchlists: dict[str, WatchlistConfig], watchlist: str, entry_id: str) -> list[TestOutcome]:
    """The watchlist's tests that name the entry (in `matches` or `not_matches`), run against `watchlists`."""
    wl = watchlists.get(watchlist)
    if wl is None:
        return []
    compiled = CompiledWatchlists.compile(watchlists, strict=False)
    outcomes = []
    for index, test in enumerate(wl.tests):
        if entry_id not in test.matches and entry_id not in test.not_matches:
            continue
        matched = any(m.id == entry_id for m in compiled.match(Document(title=test.title, body=test.text),
                                                                only=(watchlist,)))
        outcomes.append(TestOutcome(index, test.title, test.text, entry_id in test.matches, matched))
    return outcomes
