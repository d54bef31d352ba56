"""The analyst's inbox: matched stories (an article and its near-duplicates) newest first, with per-user state.

A story is a cluster (`articles.cluster_id`; an article without one is its own story), so syndicated copies
of one report make one row. A story is in the inbox when at least one of its articles matched an entry; the
filters select the matched articles, and a story sorts by the newest publication time among them (an
article without a date was stored as published when first seen). Read and star state is per user name and
story id (`inbox_state`); no row means unread and not starred.

A page counts its stories only up to a bound (`COUNT_LIMIT`, or the page's own end when it is further), reading on
past the page in the same pass: beyond it the total is "more than N" (`StoryPage.total_capped`), because counting
every story grows with the archive while a page does not (benchmarks/README.md, "Inbox").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Literal, cast

from sqlalchemy import Select, Table, func, or_, select, update
from sqlalchemy.orm import Session

from monitor.clock import days_between
from monitor.store.db import Database
from monitor.store.rows import ArticleRow, Feed, InboxState, MatchRow, Sighting
from monitor.store.sql import chunked, insert_ignore

COUNT_LIMIT = 1000
"""Stories a page counts at most (beyond its own end): more than that shows as "more than 1,000"."""
Show = Literal["all", "unread", "read", "starred"]
SHOWS: tuple[Show, ...] = ("all", "unread", "read", "starred")
_STATE = cast(Table, InboxState.__table__)


def story_key() -> Any:
    """The story an article belongs to: its cluster id, else its own id."""
    return func.coalesce(ArticleRow.cluster_id, ArticleRow.id)


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """What the inbox shows: every field narrows the matched articles; `show` narrows by the user's state."""

    watchlist: str | None = None
    entry: str | None = None  # an entry id, or watchlist/entry
    outlet: str | None = None  # a feed id that carried the matched article
    language: str | None = None
    day_from: date | None = None  # publication days, in the dashboard's zone
    day_to: date | None = None
    show: Show = "all"


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """A watchlist entry a story matched."""

    watchlist: str
    entry_id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class InboxStory:
    """One inbox row: a story, told by its newest matched article."""

    story_id: str
    article_id: str
    title: str
    url: str
    published_at: datetime
    articles: int  # articles in the story, matched or not
    outlets: list[tuple[str, str]]  # (feed id, display name), by first sighting
    languages: list[str]
    entries: list[InboxEntry]
    snippet: str  # the headline article's first match's snippet, matched words between [[ and ]]
    read: bool
    starred: bool


@dataclass(frozen=True, slots=True)
class InboxFacets:
    """The values the filters offer: watchlists, (watchlist, entry) pairs, outlets (id, name), languages."""

    watchlists: list[str] = field(default_factory=list)
    entries: list[tuple[str, str]] = field(default_factory=list)
    outlets: list[tuple[str, str]] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoryPage:
    """One page of the inbox and how many stories the filter keeps: exact, or a lower bound when capped."""

    stories: list[InboxStory]
    total: int  # stories under the filter; when total_capped, there are more than this
    total_capped: bool  # counting stopped at `total` (the count limit, or the page's end when further)
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None on the last page."""
        end = self.offset + self.limit
        return end if end < self.total or self.total_capped else None


class Inbox:
    """The inbox's queries and its per-user state; days are calendar days in `zone`."""

    def __init__(self, db: Database, zone: tzinfo = UTC, *, count_limit: int | None = None) -> None:
        self.db = db
        self.zone = zone
        self.count_limit = COUNT_LIMIT if count_limit is None else count_limit

    # ------------------------------------------------------------ reading

    def _matched(self, flt: InboxFilter) -> Select[Any]:
        """(story, published_at) of each matched article the filter keeps."""
        stmt = select(
            story_key().label("story"), ArticleRow.published_at.label("published_at"), ArticleRow.id.label("id"),
        )
        terms = self._match_terms(flt)
        # A narrowing filter is an IN list, which the database can start from (matches by entry, sightings by
        # feed: both indexed); no filter is an EXISTS per article, read along the publication index.
        if terms:
            stmt = stmt.where(ArticleRow.id.in_(select(MatchRow.article_id).where(*terms)))
        else:
            stmt = stmt.where(select(MatchRow.id).where(MatchRow.article_id == ArticleRow.id).exists())
        if flt.outlet:
            stmt = stmt.where(ArticleRow.id.in_(select(Sighting.article_id).where(Sighting.feed_id == flt.outlet)))
        if flt.language:
            stmt = stmt.where(ArticleRow.language == flt.language)
        start, end = days_between(flt.day_from, flt.day_to, self.zone)
        if start is not None:
            stmt = stmt.where(ArticleRow.published_at >= start)
        if end is not None:
            stmt = stmt.where(ArticleRow.published_at < end)
        return stmt

    @staticmethod
    def _match_terms(flt: InboxFilter) -> list[Any]:
        terms: list[Any] = []
        if flt.watchlist:
            terms.append(MatchRow.watchlist == flt.watchlist)
        if flt.entry:
            watchlist, slash, entry_id = flt.entry.rpartition("/")
            terms.append(MatchRow.entry_id == entry_id)
            if slash:
                terms.append(MatchRow.watchlist == watchlist)
        return terms

    @staticmethod
    def _state_terms(user: str, show: Show) -> list[Any]:
        """The condition on the user's state of each article's story that `show` asks for."""
        if show == "all":
            return []
        flag = InboxState.starred_at if show == "starred" else InboxState.read_at
        marked = select(InboxState.story_id).where(
            InboxState.user_name == user, InboxState.story_id == story_key(), flag.is_not(None)).exists()
        if show == "unread":
            return [~marked]
        # Read or starred: start from the user's marked stories (IN lists on the cluster index and the primary
        # key) rather than test every matched article, which reads the whole archive to find a few stars.
        ids = select(InboxState.story_id).where(InboxState.user_name == user, flag.is_not(None))
        return [or_(ArticleRow.cluster_id.in_(ids), ArticleRow.id.in_(ids)), marked]

    def _page_ids(self, session: Session, user: str, flt: InboxFilter, limit: int | None, offset: int,
                  *, count_to: int = 0) -> tuple[list[str], int]:
        """Story ids newest first, and how many stories were seen: the page's end, or `count_to` when further.

        A story's place is its newest kept article's, so reading the articles newest first (the publication
        index, backwards) and stopping once the page is full gives the page without grouping every match;
        the article id breaks ties, so pages neither overlap nor skip on either backend. Reading on to
        `count_to` stories counts them in the same pass; fewer seen means the filter keeps no more.
        """
        stmt = (self._matched(flt).where(*self._state_terms(user, flt.show))
                .order_by(ArticleRow.published_at.desc(), ArticleRow.id.desc()))
        wanted = None if limit is None else max(offset + limit, count_to)
        order: dict[str, None] = {}
        result = session.execute(stmt.execution_options(yield_per=500))
        try:
            for row in result:
                order.setdefault(str(row.story))
                if wanted is not None and len(order) >= wanted:
                    break
        finally:
            result.close()
        stories = list(order)
        return stories[offset:] if limit is None else stories[offset:offset + limit], len(stories)

    def count(self, user: str, flt: InboxFilter) -> int:
        """How many stories the user's inbox holds under the filter (every kept article is read: see `page`)."""
        matched = self._matched(flt).where(*self._state_terms(user, flt.show)).subquery()
        with self.db.sessions() as session:
            return int(session.execute(select(func.count(func.distinct(matched.c.story)))).scalar_one() or 0)

    def page(self, user: str, flt: InboxFilter, *, limit: int = 50, offset: int = 0) -> StoryPage:
        """One page of the user's inbox under the filter, its stories counted up to `count_limit` or the page's end.

        The count reads on in the page's own pass, newest first, to one story past the bound: its cost follows
        the bound, not the archive (an exact count reads every kept article: 0.2-2 s at 40k stories).
        """
        bound = max(self.count_limit, offset + limit)
        with self.db.sessions() as session:
            ids, seen = self._page_ids(session, user, flt, limit, offset, count_to=bound + 1)
            stories = self._stories(session, user, flt, ids)
        return StoryPage(stories, min(seen, bound), seen > bound, offset, limit)

    def stories(self, user: str, flt: InboxFilter, *, limit: int = 50, offset: int = 0) -> list[InboxStory]:
        """One page of the user's inbox under the filter, without a count (`page` adds one)."""
        with self.db.sessions() as session:
            return self._stories(session, user, flt, self._page_ids(session, user, flt, limit, offset)[0])

    def _stories(self, session: Session, user: str, flt: InboxFilter, page: list[str]) -> list[InboxStory]:
        """The page's stories in full, with the user's state."""
        details = _details(session, page, self._matched(flt), flt)
        states = {str(r.story_id): r for r in session.execute(
            select(InboxState.story_id, InboxState.read_at, InboxState.starred_at)
            .where(InboxState.user_name == user, InboxState.story_id.in_(page)))} if page else {}
        result = []
        for story in page:
            detail, state = details.get(story), states.get(story)
            if detail is not None:
                result.append(InboxStory(**detail, read=state is not None and state.read_at is not None,
                                         starred=state is not None and state.starred_at is not None))
        return result

    def story_ids(self, user: str, flt: InboxFilter) -> list[str]:
        """Every story id of the user's inbox under the filter, newest first."""
        with self.db.sessions() as session:
            return self._page_ids(session, user, flt, None, 0)[0]

    def facets(self) -> InboxFacets:
        """The watchlists and entries that matched, every outlet (feed) and the stored articles' languages."""
        # Sorted in Python: ORDER BY on text follows the database's collation, which differs between backends.
        with self.db.sessions() as session:
            entries = sorted({(str(w), str(e)) for w, e in session.execute(
                select(MatchRow.watchlist, MatchRow.entry_id).distinct())})
            outlets = sorted({(str(i), str(n or t or i)) for i, n, t in session.execute(
                select(Feed.id, Feed.name, Feed.title))}, key=lambda o: (o[1].casefold(), o[0]))
            # Of every stored article, not only matched ones: one pass over the table, no lookup per article.
            languages = sorted({str(lang) for lang in session.scalars(
                select(ArticleRow.language).where(ArticleRow.language.is_not(None)).distinct())})
        return InboxFacets(sorted({w for w, _ in entries}), entries, outlets, languages)

    def story_of(self, article_id: str) -> str | None:
        """The story an article belongs to, or None when there is no such article."""
        with self.db.sessions() as session:
            found = session.execute(select(story_key()).where(ArticleRow.id == article_id)).scalar_one_or_none()
        return None if found is None else str(found)

    def state(self, user: str, story_id: str) -> tuple[bool, bool]:
        """(read, starred) of one story for the user."""
        with self.db.sessions() as session:
            row = session.get(InboxState, (user, story_id))
        return (False, False) if row is None else (row.read_at is not None, row.starred_at is not None)

    # ------------------------------------------------------------ writing

    def set_state(self, user: str, story_ids: Sequence[str], now: datetime, *,
                  read: bool | None = None, starred: bool | None = None) -> None:
        """Mark stories read or unread, starred or not, for the user (None leaves that flag as it is)."""
        ids = list(dict.fromkeys(story_ids))
        values: dict[str, Any] = {}
        if read is not None:
            values["read_at"] = now if read else None
        if starred is not None:
            values["starred_at"] = now if starred else None
        if not ids or not values:
            return
        with self.db.transaction() as session:
            for part in chunked(ids):
                # Insert-or-ignore then update: safe when two requests create the same row at once.
                insert_ignore(session, _STATE, [{"user_name": user, "story_id": s} for s in part],
                              conflict=("user_name", "story_id"))
                stmt = update(InboxState).where(InboxState.user_name == user, InboxState.story_id.in_(part))
                if read and starred is None:
                    # Marking read again keeps when it was first read.
                    stmt = stmt.where(InboxState.read_at.is_(None))
                session.execute(stmt.values(**values))

    def mark_all_read(self, user: str, flt: InboxFilter, now: datetime) -> int:
        """Mark every unread story under the filter read for the user; returns how many were marked."""
        ids = self.story_ids(user, InboxFilter(**{**_fields(flt), "show": "unread"}))
        self.set_state(user, ids, now, read=True)
        return len(ids)


def _fields(flt: InboxFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in InboxFilter.__dataclass_fields__}


def _wanted_match(flt: InboxFilter, watchlist: str, entry_id: str) -> bool:
    """True when a match is one the filter asked for (its snippet then tells the row)."""
    wanted_watchlist, slash, wanted_entry = (flt.entry or "").rpartition("/")
    return (not flt.watchlist or watchlist == flt.watchlist) and (not flt.entry or (
        entry_id == wanted_entry and (not slash or watchlist == wanted_watchlist)))


def _details(session: Session, stories: list[str], matched: Select[Any], flt: InboxFilter) -> dict[str, dict[str, Any]]:
    """Headline article, outlets, languages, entries and snippet of each story (read for one page)."""
    if not stories:
        return {}
    members: list[Any] = []
    for part in chunked(stories, 400):
        members += session.execute(
            select(ArticleRow.id, story_key().label("story"), ArticleRow.title, ArticleRow.url,
                   ArticleRow.published_at, ArticleRow.language)
            .where(or_(ArticleRow.cluster_id.in_(part), ArticleRow.id.in_(part)))
        ).all()
    wanted = set(stories)
    members = [m for m in members if str(m.story) in wanted]
    ids = [str(m.id) for m in members]
    matches: list[Any] = []
    sightings: list[Any] = []
    for part in chunked(ids, 400):
        matches += session.execute(
            select(MatchRow.article_id, MatchRow.watchlist, MatchRow.entry_id, MatchRow.entry_name,
                   MatchRow.entry_kind, MatchRow.snippet, MatchRow.id).where(MatchRow.article_id.in_(part))
        ).all()
        sightings += session.execute(
            select(Sighting.article_id, Sighting.feed_id, Sighting.first_seen_at, Feed.name, Feed.title)
            .outerjoin(Feed, Feed.id == Sighting.feed_id).where(Sighting.article_id.in_(part))
        ).all()
    # The headline is the newest article the filter kept (the one the row sorts by).
    kept = {str(r.id) for part in chunked(ids, 400) for r in session.execute(matched.where(ArticleRow.id.in_(part)))}
    by_story: dict[str, dict[str, Any]] = {}
    for m in sorted(members, key=lambda m: (m.published_at, m.id), reverse=True):
        story = by_story.setdefault(str(m.story), {"members": [], "head": None})
        story["members"].append(m)
        if story["head"] is None and str(m.id) in kept:
            story["head"] = m
    result: dict[str, dict[str, Any]] = {}
    for story_id, story in by_story.items():
        head = story["head"] or story["members"][0]
        member_ids = {str(m.id) for m in story["members"]}
        own = sorted((x for x in matches if str(x.article_id) in member_ids), key=lambda x: (x.watchlist, x.entry_id))
        entries = list(dict.fromkeys(InboxEntry(str(x.watchlist), str(x.entry_id), str(x.entry_name),
                                                str(x.entry_kind)) for x in own))
        # The snippet of a match the filter asked for first, then in the order they were found.
        head_matches = sorted((x for x in own if x.article_id == head.id),
                              key=lambda x: (not _wanted_match(flt, str(x.watchlist), str(x.entry_id)), x.id))
        seen = sorted((s for s in sightings if str(s.article_id) in member_ids), key=lambda s: (s.first_seen_at, s.feed_id))
        outlets = list(dict.fromkeys((str(s.feed_id), str(s.name or s.title or s.feed_id)) for s in seen))
        languages = sorted({str(m.language) for m in story["members"] if m.language})
        result[story_id] = {
            "story_id": story_id, "article_id": str(head.id), "title": str(head.title or ""), "url": str(head.url or ""),
            "published_at": head.published_at, "articles": len(story["members"]), "outlets": outlets,
            "languages": languages, "entries": entries,
            "snippet": str(head_matches[0].snippet) if head_matches else (str(own[0].snippet) if own else ""),
        }
    return result

