"""feedparser's test corpus through the ingest path: parse -> save_articles -> match, into SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from monitor.config.models import WatchlistConfig
from monitor.errors import ParseError
from monitor.match import CompiledWatchlists
from monitor.model import Document
from monitor.parse import parse_feed
from monitor.store.articles import save_articles, save_matches
from monitor.store.db import Database
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow
from tests.support.corpora import FEEDPARSER_TESTS

CORPUS = FEEDPARSER_TESTS
SANITIZE = CORPUS / "wellformed" / "sanitize"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DANGEROUS = re.compile(r"<script|<form|<iframe|javascript:|\son[a-z]+\s*=", re.IGNORECASE)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"feedparser test corpus not found at {CORPUS}")


def test_every_corpus_feed_is_stored_and_matched_and_nothing_dangerous_is_stored(database_url: str) -> None:
    matcher = CompiledWatchlists.compile({
        "corpus": WatchlistConfig.model_validate({
            "name": "corpus",
            "actors": [{"id": "example", "name": "Example", "kind": "other"}],
            "topics": [{"id": "any", "name": "any", "query": "(feed OR entry OR title) AND NOT zzzz"}],
        })
    })
    db = Database(database_url)
    upgrade(db)
    files = sorted(CORPUS.rglob("*.xml"))
    failures: list[str] = []
    written = matched = checked = entries = 0
    for path in files:
        feed_id = str(path.relative_to(CORPUS))
        try:
            # Each corpus file is its own feed, at its own URL, as it would be in production.
            parsed = parse_feed(path.read_bytes(), base_url=f"http://example.com/{feed_id}")
        except ParseError:
            continue
        entries += len(parsed.articles)
        try:
            with db.transaction() as session:
                changes = save_articles(session, feed_id, parsed.articles, NOW)
                for change in changes:
                    a = change.article
                    doc = Document(title=a.title, body=a.body_text, author=a.author, url=a.url, source=parsed.title,
                                   language=a.language, tags=frozenset())
                    matched += len(save_matches(session, a.id, a.content_hash, matcher.match(doc), NOW))
                written += len(changes)
        except Exception as exc:  # noqa: BLE001 - collecting every failure is the point
            failures.append(f"{feed_id}: {exc!r}")
            continue
        if path.parent != SANITIZE or not changes:
            continue
        # Read back what was stored (not what was parsed): the database is what the emails render.
        with db.sessions() as session:
            rows = session.execute(
                select(ArticleRow.summary_html, ArticleRow.content_html, ArticleRow.title)
                .where(ArticleRow.id.in_([c.article.id for c in changes]))
            ).all()
        for summary_html, content_html, title in rows:
            checked += 1
            for value in (summary_html, content_html):
                if m := DANGEROUS.search(value):
                    failures.append(f"{feed_id}: stored HTML contains {m.group(0)!r}: {value[:120]!r}")
            if "<script" in title.lower():
                failures.append(f"{feed_id}: stored title contains <script")
    db.dispose()
    assert not failures, "\n".join(failures[:20])
    assert entries > 1000
    # Few corpus entries have a guid or a link, and many share one ("http://example.com/..."): those
    # are one article seen in many feeds; entries with neither are their own feed's articles.
    assert written > 200
    assert matched > 0, "the matcher ran on the stored articles"
    assert checked > 50, f"only {checked} sanitize articles read back"
    db.dispose()
