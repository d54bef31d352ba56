"""The inbox query (monitor/store/inbox.py) on SQLite and PostgreSQL: one row per story, order, filters, per-user state."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from monitor.store.db import Database
from monitor.store.inbox import Inbox, InboxFilter
from monitor.store.rows import ArticleRow, Feed, MatchRow, Sighting

T = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NOW = T + timedelta(days=3)
_ids = itertools.count()


def add(db: Database, entries: Sequence[str], published: datetime, *, outlets: Sequence[str] = ("wire",),
        language: str = "en", story: str | None = None, title: str = "") -> str:
    """One article matching `entries` ("watchlist/entry"), seen in `outlets`, in `story` (a cluster id) if given."""
    article_id = f"a{next(_ids)}"
    with db.transaction() as session:
        for outlet in outlets:
            if session.get(Feed, outlet) is None:
                session.add(Feed(id=outlet, url=f"https://{outlet}.test/rss", configured_url=f"https://{outlet}.test/rss",
                                 name=outlet.title()))
        session.add(ArticleRow(id=article_id, url=f"https://news.test/{article_id}", title=title or article_id,
                               published_at=published, first_seen_at=published, content_hash=article_id,
                               cluster_id=story, language=language))
        session.flush()
        for outlet in outlets:
            session.add(Sighting(article_id=article_id, feed_id=outlet, first_seen_at=published, last_seen_at=published))
        for entry in entries:
            watchlist, entry_id = entry.split("/")
            session.add(MatchRow(article_id=article_id, watchlist=watchlist, entry_kind="actor", entry_id=entry_id,
                                 entry_name=entry_id.title(), highlights=[], snippet=f"about [[{entry_id}]] in {article_id}",
                                 content_hash=article_id))
    return article_id


def test_one_row_per_story_newest_first_with_outlets_and_entries(db: Database) -> None:
    inbox = Inbox(db)
    lead = add(db, ["w/kalin"], T, outlets=["wire"], story="s1")
    copy = add(db, ["w/kalin", "x/fidan"], T + timedelta(hours=2), outlets=["daily"], story="s1", language="tr")
    add(db, [], T + timedelta(hours=5), outlets=["echo"], story="s1")  # an unmatched near-duplicate
    alone = add(db, ["w/kalin"], T + timedelta(hours=1))
    older = add(db, ["w/other"], T - timedelta(days=1))
    add(db, [], T + timedelta(hours=9))  # matched nothing: not in the inbox
    found = inbox.page("ann", InboxFilter())
    rows = found.stories
    assert (found.total, found.total_capped, found.next_offset) == (3, False, None)
    assert [r.story_id for r in rows] == ["s1", alone, older]
    s1 = rows[0]
    # The headline is the newest matched article; the unmatched copy still counts as an outlet and an article.
    assert (s1.article_id, s1.published_at, s1.articles) == (copy, T + timedelta(hours=2), 3)
    assert [o for o, _ in s1.outlets] == ["wire", "daily", "echo"]
    assert s1.languages == ["en", "tr"]
    assert [(e.watchlist, e.entry_id) for e in s1.entries] == [("w", "kalin"), ("x", "fidan")]
    assert s1.snippet == f"about [[kalin]] in {copy}"
    assert not s1.read and not s1.starred
    page = inbox.page("ann", InboxFilter(), limit=2, offset=2)
    assert [r.story_id for r in page.stories] == [older] and page.total == 3 and page.next_offset is None
    assert inbox.page("ann", InboxFilter(), limit=2).next_offset == 2
    assert lead not in {r.story_id for r in rows}


def test_filters(db: Database) -> None:
    inbox = Inbox(db)
    a = add(db, ["w/kalin"], T, outlets=["wire"], language="tr")
    b = add(db, ["w/fidan"], T + timedelta(days=1), outlets=["daily"])
    c = add(db, ["x/kalin"], T + timedelta(days=2), outlets=["wire", "daily"])

    def ids(**kw: object) -> list[str]:
        return [r.story_id for r in inbox.stories("ann", InboxFilter(**kw))]  # type: ignore[arg-type]

    assert ids(watchlist="w") == [b, a]
    assert ids(entry="kalin") == [c, a]
    assert ids(entry="x/kalin") == [c]
    assert ids(outlet="daily") == [c, b]
    assert ids(language="tr") == [a]
    assert ids(day_from=date(2026, 12, 2)) == [c, b]
    assert ids(day_to=date(2026, 12, 2)) == [b, a]
    assert ids(day_from=date(2026, 12, 2), day_to=date(2026, 12, 2), outlet="daily") == [b]
    facets = inbox.facets()
    assert facets.watchlists == ["w", "x"] and ("x", "kalin") in facets.entries
    assert facets.languages == ["en", "tr"] and ("daily", "Daily") in facets.outlets


def test_a_story_filtered_to_an_older_article_sorts_and_heads_by_it(db: Database) -> None:
    inbox = Inbox(db)
    old = add(db, ["w/kalin"], T, outlets=["wire"], story="s2")
    add(db, ["w/kalin"], T + timedelta(days=1), outlets=["daily"], story="s2")
    rows = inbox.stories("ann", InboxFilter(outlet="wire"))
    assert [(r.story_id, r.article_id, r.published_at) for r in rows] == [("s2", old, T)]


def test_read_and_star_are_per_user_and_mark_all_read_follows_the_filter(db: Database) -> None:
    inbox = Inbox(db)
    a = add(db, ["w/kalin"], T)
    b = add(db, ["w/fidan"], T + timedelta(hours=1))
    c = add(db, ["x/kalin"], T + timedelta(hours=2))
    inbox.set_state("ann", [a], NOW, read=True)
    inbox.set_state("ann", [b], NOW, starred=True)
    assert inbox.state("ann", a) == (True, False) and inbox.state("ann", b) == (False, True)
    assert inbox.state("bob", a) == (False, False), "another user's state is their own"
    shown = {r.story_id: (r.read, r.starred) for r in inbox.stories("ann", InboxFilter())}
    assert shown == {a: (True, False), b: (False, True), c: (False, False)}
    assert [r.story_id for r in inbox.stories("ann", InboxFilter(show="unread"))] == [c, b]
    assert [r.story_id for r in inbox.stories("ann", InboxFilter(show="read"))] == [a]
    assert [r.story_id for r in inbox.stories("ann", InboxFilter(show="starred"))] == [b]
    assert inbox.count("bob", InboxFilter(show="unread")) == 3
    assert inbox.mark_all_read("ann", InboxFilter(watchlist="w"), NOW) == 1  # b: a was read already
    assert [r.story_id for r in inbox.stories("ann", InboxFilter(show="unread"))] == [c]
    assert inbox.page("bob", InboxFilter(show="unread")).total == 3
    inbox.set_state("ann", [a, b], NOW, read=False, starred=False)
    inbox.set_state("ann", [a, a], NOW, read=True)  # idempotent, duplicates ignored
    assert inbox.state("ann", a) == (True, False) and inbox.state("ann", b) == (False, False)
    assert inbox.story_of(a) == a and inbox.story_of("nope") is None


def test_the_snippet_is_of_an_entry_the_filter_asked_for(db: Database) -> None:
    inbox = Inbox(db)
    article = add(db, ["w/kalin", "x/fidan"], T)
    assert inbox.stories("ann", InboxFilter())[0].snippet == f"about [[kalin]] in {article}"
    assert inbox.stories("ann", InboxFilter(watchlist="x"))[0].snippet == f"about [[fidan]] in {article}"
    assert inbox.stories("ann", InboxFilter(entry="x/fidan"))[0].snippet == f"about [[fidan]] in {article}"


def test_the_count_stops_at_the_limit_or_the_page_end_and_paging_still_reaches_every_story(db: Database) -> None:
    inbox = Inbox(db, count_limit=3)
    # Seven stories, two of them with several matched copies (the count is of stories, not articles).
    made = [add(db, ["w/kalin"], T + timedelta(hours=h), story=f"c{h}" if h % 3 == 0 else None) for h in range(7)]
    for h in (0, 3):
        add(db, ["w/fidan"], T + timedelta(hours=h, minutes=5), story=f"c{h}")
    newest_first = [f"c{h}" if h % 3 == 0 else made[h] for h in reversed(range(7))]
    assert inbox.count("ann", InboxFilter()) == 7
    first = inbox.page("ann", InboxFilter(), limit=2)
    assert (first.total, first.total_capped, first.next_offset) == (3, True, 2), "more than 3"
    # Past the limit, a page counts up to its own end (so the total is never below the stories shown).
    middle = inbox.page("ann", InboxFilter(), limit=2, offset=2)
    assert (middle.total, middle.total_capped, middle.next_offset) == (4, True, 4)
    seen, offset = [], 0
    while True:
        page = inbox.page("ann", InboxFilter(), limit=2, offset=offset)
        seen += [s.story_id for s in page.stories]
        if page.next_offset is None:
            break
        offset = page.next_offset
    assert seen == newest_first
    assert (page.offset, page.total, page.total_capped) == (6, 7, False), "the last page knows the exact total"
    assert inbox.page("ann", InboxFilter(), limit=7).total_capped is False, "exactly at the bound is exact"
    assert inbox.page("ann", InboxFilter(watchlist="w"), limit=50).total == 7
    narrow = inbox.page("ann", InboxFilter(entry="w/fidan"), limit=1)
    assert (narrow.total, narrow.total_capped, narrow.next_offset) == (2, False, 1)


def test_read_and_starred_views_find_clustered_stories_from_the_users_marks(db: Database) -> None:
    inbox = Inbox(db)
    add(db, ["w/kalin"], T, story="s1")
    head = add(db, ["w/kalin"], T + timedelta(hours=1), story="s1", outlets=["daily"])
    alone = add(db, ["w/fidan"], T + timedelta(hours=2))
    add(db, ["w/fidan"], T + timedelta(hours=3), story="s2")
    inbox.set_state("ann", ["s1", alone], NOW, starred=True)
    inbox.set_state("ann", ["s2"], NOW, read=True)
    starred = inbox.page("ann", InboxFilter(show="starred"))
    assert [(s.story_id, s.article_id, s.articles) for s in starred.stories] == [(alone, alone, 1), ("s1", head, 2)]
    assert (starred.total, starred.total_capped) == (2, False)
    assert [s.story_id for s in inbox.stories("ann", InboxFilter(show="read"))] == ["s2"]
    assert inbox.page("ann", InboxFilter(show="starred", outlet="daily")).total == 1
    assert inbox.page("bob", InboxFilter(show="starred")).total == 0, "another user's stars are theirs"
