"""Matching in the parse processes (monitor/refresh/offload.py): the writer's own matches, made elsewhere."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.config.loader import load_config
from monitor.dedupe.minhash import cluster_text, fingerprint
from monitor.model import Article
from monitor.parse import parse_feed
from monitor.refresh import offload
from monitor.refresh import refresh as refresh_step
from monitor.refresh.offload import KnownArticles, Offload, match_new_articles, new_articles, premade_matches
from monitor.refresh.parse_pool import Prepared, prepare_feed
from monitor.refresh.poller import FeedPoller
from monitor.refresh.runtime import Runtime
from monitor.store import clusters
from monitor.store.feeds import FeedRepository
from monitor.store.rows import ArticleRow, MatchRow, RoutedItem
from tests.conftest import drop_postgres, postgres_or_skip
from tests.ingest.stories import OTHER, OTHER_TITLE, WIRE, WIRE_TITLE
from tests.ingest.test_pipeline_ingest import NOW, Setup, rss, serve
from tests.support.feedserver import FeedServer

QATAR = "Qatar froze its mediation; Egypt will mediate a prisoner exchange."
RONEN = "Ronen Bar met the delegation on Tuesday."


pytestmark = pytest.mark.usefixtures("pool_for_any_batch")


@pytest.fixture
def made_where(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many new or changed articles the writer found matched by a parse process, and how many it matched."""
    counts = {"parse_process": 0, "writer": 0, "writer_fingerprints": 0}
    real = refresh_step.premade_matches
    real_fingerprint = clusters.fingerprint

    def fingerprinted(text: str) -> Any:
        counts["writer_fingerprints"] += 1
        return real_fingerprint(text)

    def counted(matches: Any, article: Article) -> Any:
        made = real(matches, article)
        counts["writer" if made is None else "parse_process"] += 1
        return made

    monkeypatch.setattr(refresh_step, "premade_matches", counted)
    monkeypatch.setattr(clusters, "fingerprint", fingerprinted)
    return counts


def pooled(setup: Setup, workers: int) -> FeedPoller:
    setup.poller = FeedPoller(setup.db, lambda: setup.runtime, owner="test", clock=setup.poller.clock,
                              parse_workers=workers)
    return setup.poller


def stored(setup: Setup) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The stored matches (with their explanations) and routed items, by article title."""
    with setup.db.sessions() as session:
        titles = {row.id: row.title for row in session.execute(select(ArticleRow.id, ArticleRow.title))}
        matches = {
            (titles[m.article_id], m.watchlist, m.entry_id, m.entry_name, m.snippet, str(m.highlights),
             m.more_highlights, m.content_hash)
            for m in session.scalars(select(MatchRow))
        }
        routed = {(titles[a], e, s) for a, e, s in session.execute(
            select(RoutedItem.article_id, RoutedItem.entry_id, RoutedItem.subscriber_id))}
    return matches, routed


def first_feeds(server: FeedServer) -> None:
    wire_text = " ".join(WIRE)
    serve(server, "wire", [("w1", WIRE_TITLE, wire_text), ("w2", OTHER_TITLE, " ".join(OTHER)),
                           ("w3", "Delegation", RONEN)])
    serve(server, "paper", [("p1", WIRE_TITLE, wire_text), ("p2", "Mediation", QATAR)])


def second_feeds(server: FeedServer) -> None:
    """One article changed, one new, the others as they were; the paper's feed unchanged."""
    wire_text = " ".join(WIRE)
    serve(server, "wire", [("w1", WIRE_TITLE, wire_text), ("w2", OTHER_TITLE, " ".join(OTHER)),
                           ("w3", "Delegation", f"{RONEN} {QATAR}"), ("w4", "Talks", QATAR)])


def run_both_polls(tmp_path: Path, database_url: str, server: FeedServer, workers: int) -> tuple[Setup, list[Any]]:
    first_feeds(server)
    setup = Setup(tmp_path, database_url, server, {"wire": False, "paper": False})
    poller = pooled(setup, workers)
    results = [asyncio.run(poller.poll_due()), stored(setup)]
    second_feeds(server)
    FeedRepository(setup.db).make_all_due(NOW)
    results += [asyncio.run(poller.poll_due()), stored(setup)]
    poller.close()
    return setup, results


def test_matched_in_the_parse_processes_the_writer_stores_and_routes_the_same(
    tmp_path: Path, database_url: str, server: FeedServer, made_where: dict[str, int]
) -> None:
    threaded, in_thread = run_both_polls(tmp_path / "thread", database_url, server, 0)
    threaded.db.dispose()
    assert made_where["parse_process"] == 0 and made_where["writer"] == 7, "without processes the writer matches all"
    # 7 new or changed articles, and the changed one's stored text (its old band keys, to be replaced).
    assert made_where["writer_fingerprints"] == 8
    made_where.update(parse_process=0, writer=0, writer_fingerprints=0)
    sqlite = database_url.startswith("sqlite")
    other_url = f"sqlite:///{tmp_path / 'pool.db'}" if sqlite else postgres_or_skip()
    try:
        pooled_setup, in_pool = run_both_polls(tmp_path / "pool", other_url, server, 2)
        pooled_setup.db.dispose()
    finally:
        if not sqlite:
            drop_postgres(other_url)
    # Same rows: matches with their highlights and snippets, and whom they were routed to.
    assert in_pool[1] == in_thread[1] and in_pool[3] == in_thread[3]
    assert in_pool[1][0], "the feeds do match"
    for a, b in ((in_pool[0], in_thread[0]), (in_pool[2], in_thread[2])):
        assert (a.new_articles, a.matches, a.routed, a.suppressed) == (b.new_articles, b.matches, b.routed, b.suppressed)
    # First poll: 5 new articles, matched and fingerprinted in the processes. Second: the changed and the new
    # article of the wire feed, likewise; the unchanged ones were not matched at all. The writer only
    # fingerprints the changed article's stored text (its old band keys).
    assert made_where == {"parse_process": 7, "writer": 0, "writer_fingerprints": 1}


def test_after_a_reload_between_parse_and_store_the_writer_matches_itself(
    tmp_path: Path, database_url: str, server: FeedServer, made_where: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first_feeds(server)
    setup = Setup(tmp_path, database_url, server, {"wire": False, "paper": False})
    poller = pooled(setup, 1)
    real_prepare = poller.parsing.prepare
    reloaded = Runtime.build(setup.runtime.config)  # the same files compiled again: another configuration version

    async def reload_after_parsing(*args: Any) -> Any:
        prepared = await real_prepare(*args)
        setup.runtime = reloaded
        return prepared

    monkeypatch.setattr(poller.parsing, "prepare", reload_after_parsing)
    summary = asyncio.run(poller.poll_due())
    assert summary.errors == 0 and summary.new_articles == 5 and summary.matches > 0
    assert made_where["parse_process"] == 0 and made_where["writer"] == 5, "matches of other watchlists are not used"
    # The next poll restarts the processes with the watchlists in force, and they match again.
    first_pool = poller.parsing.running_pool
    monkeypatch.setattr(poller.parsing, "prepare", real_prepare)
    second_feeds(server)
    FeedRepository(setup.db).make_all_due(NOW)
    asyncio.run(poller.poll_due())
    assert poller.parsing.running_pool is not first_pool
    assert poller.parsing.matches_with(poller.parsing.running_pool) is reloaded.matcher
    assert made_where["parse_process"] == 2 and made_where["writer"] == 5
    poller.close()
    setup.db.dispose()


def parsed(items: list[tuple[str, str, str]], title: str = "t") -> Any:
    body = rss(items).replace(b"LINK", b"https://x.example").replace(b"<title>t</title>", f"<title>{title}</title>".encode())
    return parse_feed(body, base_url="https://x.example/feed.xml")


def test_only_articles_the_feed_did_not_carry_when_stored_are_matched(
    tmp_path: Path, database_url: str, server: FeedServer
) -> None:
    setup = Setup(tmp_path, database_url, server, {"wire": False})
    matcher, configured = setup.runtime.matcher, setup.runtime.feeds["wire"]
    before = parsed([("a", "One", QATAR), ("b", "Two", RONEN)])
    after = parsed([("a", "One", QATAR), ("b", "Two", f"{RONEN} {QATAR}"), ("c", "Three", QATAR)])
    known = KnownArticles()
    assert known.known("wire", ever_stored=False) == b"", "a feed never stored carries nothing yet"
    assert known.known("wire", ever_stored=True) is None, "after a restart: unknown, so the writer matches"
    known.remember("wire", before.articles)
    offload = Offload.for_feed("wire", configured, known.known("wire", True) or b"")
    new = new_articles(after, offload.known)
    made = match_new_articles(matcher, after, offload, new)
    assert made is not None
    by_title = {a.title: a for a in after.articles}
    assert set(made) == {by_title["Two"].id, by_title["Three"].id}, "the unchanged article is not matched"
    # Nor fingerprinted, unless the write gate needs its band keys (PostgreSQL).
    body = rss([("a", "One", QATAR), ("b", "Two", f"{RONEN} {QATAR}"), ("c", "Three", QATAR)])
    for fingerprint_known, expected in ((False, {"Two", "Three"}), (True, {"One", "Two", "Three"})):
        prepared = prepare_feed(body.replace(b"LINK", b"https://x.example"), "https://x.example/feed.xml", None,
                                None, Offload.for_feed("wire", configured, offload.known, fingerprint_known=fingerprint_known))
        assert isinstance(prepared, Prepared) and prepared.matches is None, "this process holds no watchlists"
        assert set(prepared.fingerprints) == {by_title[t].id for t in expected}
        two = by_title["Two"]
        assert prepared.fingerprints[two.id] == fingerprint(cluster_text(two.title, two.summary_text, two.content_text))
    assert [m.id for m in made[by_title["Three"].id][1]] == ["qatar"]
    assert premade_matches(made, by_title["Three"]) == made[by_title["Three"].id][1]
    assert premade_matches(made, by_title["One"]) is None, "not matched there: the writer matches it if changed"
    other_text = parsed([("c", "Three", RONEN)]).articles[0]
    assert premade_matches(made, other_text) is None, "made for another text of the article"
    setup.db.dispose()


def test_a_feed_labelled_by_its_stored_title_is_left_to_the_writer(
    tmp_path: Path, database_url: str, server: FeedServer
) -> None:
    setup = Setup(tmp_path, database_url, server, {"wire": False})
    unnamed = load_config(tmp_path / "config", {}).config.feeds[0].model_copy(update={"name": None})
    untitled = parsed([("a", "One", QATAR)], title="")
    offload = Offload.for_feed("wire", unnamed, b"")
    assert match_new_articles(setup.runtime.matcher, untitled, offload, untitled.articles) is None
    titled = parsed([("a", "One", QATAR)], "Wire")
    titled = match_new_articles(setup.runtime.matcher, titled, offload, titled.articles)
    assert titled is not None and len(titled) == 1
    setup.db.dispose()


def test_known_articles_are_bounded_least_recently_stored_first() -> None:
    known = KnownArticles(kept=2)
    article = parsed([("a", "One", QATAR)]).articles
    for feed in ("f1", "f2", "f1", "f3"):
        known.remember(feed, article)
    assert known.known("f2", ever_stored=True) is None
    assert known.known("f1", ever_stored=True) == known.known("f3", ever_stored=True) != b""


def test_watchlists_too_large_to_hand_over_are_matched_by_the_writer(
    tmp_path: Path, database_url: str, server: FeedServer, made_where: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(offload, "OFFLOAD_MAX_PATTERNS", 0)
    setup, results = run_both_polls(tmp_path, database_url, server, 2)
    setup.db.dispose()
    assert results[1][0], "the feeds do match"
    assert made_where["parse_process"] == 0 and made_where["writer"] == 7
