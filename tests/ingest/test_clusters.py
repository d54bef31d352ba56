"""Story clusters: syndicated copies and re-titled updates cluster; different stories on a topic do not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text, update

from monitor.dedupe.minhash import band_keys, cluster_text, shingles, signature
from monitor.model import Article
from monitor.parse import parse_feed
from monitor.store.articles import save_articles
from monitor.store.clusters import cluster_feeds
from monitor.store.db import Database
from monitor.store.rows import ArticleRow, ClusterKey, Feed
from tests.ingest.stories import OTHER, OTHER_TITLE, UPDATE, UPDATE_TITLE, WIRE, WIRE_TITLE

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def story(article_id: str, title: str, paragraphs: list[str]) -> Article:
    text = "\n".join(paragraphs)
    return Article(
        id=article_id, guid=None, url=f"https://{article_id}.test/story", title=title,
        summary_html="", content_html="", summary_text=text, content_text="", author="",
        published_at=NOW - timedelta(hours=1), language="en", content_hash=f"h-{article_id}",
    )


def clusters(db: Database) -> dict[str, str | None]:
    with db.sessions() as session:
        return {row.id: row.cluster_id for row in session.query(ArticleRow)}


def test_articles_stored_without_a_signature_are_still_compared(db: Database) -> None:
    with db.transaction() as session:
        save_articles(session, "wire", [story("wire", WIRE_TITLE, WIRE)], NOW)
    with db.transaction() as session:
        assert session.get(ArticleRow, "wire").minhash is not None  # type: ignore[union-attr]
        session.execute(update(ArticleRow).values(minhash=None))  # as stored before migration 0005
    with db.transaction() as session:
        save_articles(session, "paper", [story("update", UPDATE_TITLE, UPDATE)], NOW + timedelta(hours=2))
    assert clusters(db)["update"] == "wire"


def test_band_keys_stored_twice_change_no_cluster(db: Database) -> None:
    with db.transaction() as session:
        save_articles(session, "wire", [story("wire", WIRE_TITLE, WIRE)], NOW)
        save_articles(session, "other", [story("other", OTHER_TITLE, OTHER)], NOW)
    with db.engine.begin() as connection:  # cluster_keys has no uniqueness (migration 0021)
        connection.execute(text("INSERT INTO cluster_keys (key, article_id) SELECT key, article_id FROM cluster_keys"))
    with db.transaction() as session:
        [change] = save_articles(session, "paper", [story("update", UPDATE_TITLE, UPDATE)], NOW + timedelta(hours=2))
    assert change.cluster is not None and change.cluster.cluster_id == "wire" and change.cluster.joined
    assert clusters(db) == {"wire": "wire", "other": "other", "update": "wire"}


def test_identical_wire_copy_in_two_feeds_is_one_cluster(db: Database) -> None:
    levant = parse_feed((EXAMPLES / "levant-wire.xml").read_bytes(), base_url="https://levant-wire.example/")
    gulf = parse_feed((EXAMPLES / "gulf-observer.atom").read_bytes(), base_url="https://gulf-observer.example/")
    with db.transaction() as session:
        session.add_all([Feed(id="levant", url="u1", configured_url="u1", name="Levant Wire"),
                         Feed(id="gulf", url="u2", configured_url="u2", name="Gulf Observer")])
    with db.transaction() as session:
        first = save_articles(session, "levant", levant.articles, NOW)
    with db.transaction() as session:
        second = save_articles(session, "gulf", gulf.articles, NOW + timedelta(minutes=5))
    assert all(c.cluster and not c.cluster.joined for c in first)
    joined = [c for c in second if c.cluster and c.cluster.joined]
    assert [c.article.title for c in joined] == [
        'Qatar keeps Gaza mediation on hold, says parties must show "seriousness"'
    ], "only the syndicated story joins a cluster; other write-ups of the same events stay apart"
    qatar = {c.article.url: c.article.id for c in [*first, *second] if c.article.title.startswith("Qatar keeps")}
    assert len(qatar) == 2, "two URLs, two articles"
    by_id = clusters(db)
    assert len({by_id[i] for i in qatar.values()}) == 1
    assert len(set(by_id.values())) == len(by_id) - 1, "every other article is alone in its cluster"
    with db.sessions() as session:
        feeds = cluster_feeds(session, list(qatar.values()))
    gulf_id = qatar["https://gulf-observer.example/region/2024/11/16/qatar-keeps-gaza-mediation-on-hold"]
    assert feeds[gulf_id] == [("gulf", "Gulf Observer"), ("levant", "Levant Wire")], "own feed first"


def test_retitled_update_joins_and_other_story_does_not(db: Database) -> None:
    with db.transaction() as session:
        save_articles(session, "wire", [story("wire", WIRE_TITLE, WIRE)], NOW)
    with db.transaction() as session:
        changes = save_articles(
            session, "paper", [story("update", UPDATE_TITLE, UPDATE), story("other", OTHER_TITLE, OTHER)],
            NOW + timedelta(hours=2),
        )
    by_id = clusters(db)
    assert by_id["update"] == by_id["wire"] == "wire"
    assert by_id["other"] == "other"
    assert {c.article.id: c.cluster.joined for c in changes if c.cluster} == {"update": True, "other": False}


def test_near_duplicates_in_one_batch_and_updates_keep_their_cluster(db: Database) -> None:
    with db.transaction() as session:
        save_articles(session, "f", [story("a", WIRE_TITLE, WIRE), story("b", WIRE_TITLE, WIRE)], NOW)
    assert clusters(db) == {"a": "a", "b": "a"}
    changed = replace(story("b", "Something else entirely now", OTHER), content_hash="h-b2")
    with db.transaction() as session:
        save_articles(session, "f", [changed], NOW + timedelta(minutes=1))
    assert clusters(db)["b"] == "a", "an updated article stays in its cluster (what was sent stays true)"
    with db.sessions() as session:
        keys = {k.key for k in session.query(ClusterKey).filter_by(article_id="b")}
    new_keys = set(band_keys(signature(shingles(cluster_text(changed.title, changed.summary_text, "")))))
    assert keys == new_keys, "re-indexed on its new text, its old keys gone"


def test_old_articles_and_short_texts_are_not_candidates(db: Database) -> None:
    with db.transaction() as session:
        save_articles(session, "f", [story("old", WIRE_TITLE, WIRE)], NOW - timedelta(days=30))
        save_articles(session, "f", [story("s1", "Markets close", ["Stocks rose."])], NOW)
    with db.transaction() as session:
        save_articles(
            session, "g", [story("new", WIRE_TITLE, WIRE), story("s2", "Markets close", ["Stocks rose."])], NOW
        )
    by_id = clusters(db)
    assert by_id["new"] == "new", "a month-old copy is outside the window"
    assert by_id["s2"] == "s2", "a title and three words are too little evidence"
