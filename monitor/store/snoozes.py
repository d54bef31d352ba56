"""Snoozes: an entry or a story held back from a subscriber (or everyone) until a time.

Routing drops what an active snooze covers (monitor/refresh/decide.py `Holds`): a snoozed story does
not come back when the snooze ends, and a snoozed entry's matches made while it lasts are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.store.db import Database, database_errors
from monitor.store.rows import ArticleRow, Snooze

SnoozeKind = Literal["entry", "story"]


@dataclass(frozen=True, slots=True)
class SnoozeInfo:
    """One snooze as listed."""

    id: int
    subscriber_id: str | None
    kind: str
    target: str
    article_id: str | None
    until: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ActiveSnoozes:
    """What is snoozed now: (subscriber or None, entry) and (subscriber or None, story key)."""

    entries: frozenset[tuple[str | None, str]]
    stories: frozenset[tuple[str | None, str]]


def active_snoozes_in(session: Session, now: datetime) -> ActiveSnoozes:
    """The snoozes in force at `now`, read in the caller's transaction."""
    return snoozes_from_in(session, now).at(now)


@dataclass(frozen=True, slots=True)
class SnoozesFrom:
    """The snoozes in force at `since` (read once): those still in force at any later time, by `at`."""

    since: datetime
    rows: tuple[tuple[str | None, str, str, datetime], ...]  # subscriber, kind, target, until

    def at(self, now: datetime) -> ActiveSnoozes:
        """What is snoozed at `now` (not before `since`)."""
        if now < self.since:
            raise ValueError(f"snoozes read at {self.since.isoformat()} cannot tell what was snoozed before")
        entries: set[tuple[str | None, str]] = set()
        stories: set[tuple[str | None, str]] = set()
        for who, kind, target, until in self.rows:
            if until > now:
                (stories if kind == "story" else entries).add((who, target))
        return ActiveSnoozes(frozenset(entries), frozenset(stories))


def snoozes_from_in(session: Session, since: datetime) -> SnoozesFrom:
    """The snoozes in force at `since`, read in the caller's transaction (a writer reads them once per transaction)."""
    rows = session.execute(
        select(Snooze.subscriber_id, Snooze.kind, Snooze.target, Snooze.until).where(Snooze.until > since)
    )
    return SnoozesFrom(since, tuple((who, str(kind), str(target), until) for who, kind, target, until in rows))


class Snoozes:
    """Snoozes in the database (the CLI and the dashboard write them; routing reads them)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def snooze_entry(self, entry: str, until: datetime, now: datetime, *, subscriber_id: str | None = None) -> SnoozeInfo:
        """Hold back an entry (its id, or watchlist/entry) until `until`."""
        return self._add("entry", entry, None, until, now, subscriber_id)

    def snooze_story(self, article_id: str, until: datetime, now: datetime, *, subscriber_id: str | None = None) -> SnoozeInfo:
        """Hold back the story of an article (its cluster, else the article) until `until`; LookupError if no such article."""
        with self.db.guarded_transaction() as session:
            row = session.execute(select(ArticleRow.id, ArticleRow.cluster_id).where(ArticleRow.id == article_id)).first()
        if row is None:
            raise LookupError(article_id)
        return self._add("story", str(row[1] or row[0]), article_id, until, now, subscriber_id)

    def _add(self, kind: SnoozeKind, target: str, article_id: str | None, until: datetime, now: datetime,
             subscriber_id: str | None) -> SnoozeInfo:
        with self.db.guarded_transaction() as session:
            row = Snooze(subscriber_id=subscriber_id, kind=kind, target=target, article_id=article_id,
                         until=until, created_at=now)
            session.add(row)
            session.flush()
            return _info(row)

    def active_list(self, now: datetime) -> list[SnoozeInfo]:
        """The snoozes in force at `now`, ending soonest first."""
        with database_errors(), self.db.sessions() as session:
            rows = session.scalars(select(Snooze).where(Snooze.until > now).order_by(Snooze.until, Snooze.id))
            return [_info(r) for r in rows]

    def clear(self, ids: Sequence[int] | None = None) -> int:
        """End the given snoozes (all of them when `ids` is None); returns how many were removed."""
        with self.db.guarded_transaction() as session:
            stmt = delete(Snooze) if ids is None else delete(Snooze).where(Snooze.id.in_(ids))
            return int(getattr(session.execute(stmt), "rowcount", 0) or 0)

    def active(self, now: datetime) -> ActiveSnoozes:
        """The snoozes in force at `now`."""
        with database_errors(), self.db.sessions() as session:
            return active_snoozes_in(session, now)


def _info(row: Snooze) -> SnoozeInfo:
    return SnoozeInfo(row.id, row.subscriber_id, row.kind, row.target, row.article_id, row.until, row.created_at)
