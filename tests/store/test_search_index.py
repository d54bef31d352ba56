"""The full-text index on SQLite and PostgreSQL: kept in step with the articles, and exactly the matcher's answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from monitor.cli import main
from monitor.config.models import Config
from monitor.errors import MonitorError
from monitor.match.documents import FeedLabel, document_for
from monitor.model import Article
from monitor.store.articles import save_articles
from monitor.store.db import Database
from monitor.store.housekeeping import purge_older_than
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow, SearchPending, SearchTerms
from monitor.store.search import SearchFilters, candidates, pending_count
from monitor.usecases import search as search_usecase
from monitor.usecases.backtest import matcher_for
from monitor.usecases.candidates import index_articles, index_query
from monitor.usecases.search import search_archive
from tests.test_cli_state import project

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CONFIG = Config(directory=Path("."))

# (title, text, language): word forms, clitics, diacritics, scripts, markup.
CORPUS = [
    ("Путин встретился с Эрдоганом", "Владимира Путина ждут в Анкаре; выборы в Москве", "ru"),
    ("Переговоры о заложниках", "Путину предложили обмен пленными", "ru"),
    ("Зеленск: новости города", "В Зеленске открыли школу", "ru"),
    ("עסקת החטופים מתקדמת", "בכיר בחמאס אמר כי וחמאס מוכנים; רונן בר נפגש", "he"),
    ("ראש השב\"כ כבר בקהיר", "השיחות נמשכות בקהיר", "he"),
    ("الموساد يلتقي بمسؤولين", "للموساد دور في وقف إطلاق النار في غزة؛ حكومته توافق", "ar"),
    ("مباحثات في القاهرة", "التركي يزور بغزة", "ar"),
    ("İbrahim Kalın meets Ronen Bar", "Kalın's talks in Ankara on the hostage deal", "tr"),
    ("Seçimlerde Erdoğan", "Hükümetin açıklaması: seçim sonuçları", "tr"),
    ("Hostage negotiations resume in Doha", "Negotiators said a prisoner exchange is near", "en"),
    ("Ceasefire talks stall", "Hamas rejected the proposal; <b>negotiat</b>ions continue", "en"),
    ("Bundeskanzlers Rede", "Der Bundeskanzler sprach über Merkels Erbe", "de"),
    ("Élections à Paris", "Les élections municipales de Paris", "fr"),
    ("Türkiye and TURKIYE", "Turkiye's Erdogan; Beşiktaş won", None),
    ("Weather", "Sunny and warm in Haifa", "en"),
    ("Ελλάδα και Κύπρος", "東京で会談 𞤀𞤣𞤤𞤢𞤥 news", None),  # Greek, CJK, Adlam (newer than SQLite's tables)
]

# One-word spellings the matcher joins (cease-fire, cease fire, U.S.): indexed under the joined word too.
SPELLINGS = [
    ("Cease-fire holds", "The cease fire in Gaza; a U.S. envoy; air strikes", "en"),
    ("Truce talks", "A ceasefire and an airstrike were reported", "en"),
    ("Wire", "Ceasefire-talks and the peace keeping force", "en"),
]

QUERIES = [
    "Путин", '"Владимир Путин"', "выборы", "Зеленский", "заложник*",
    "חמאס", "עסקה AND חטופים", '"רונן בר"', "בר", "קהיר",
    "موساد", "وقف", "حكومة", "تركيا", "غزة",
    '"Ibrahim Kalin"', "Kalın NEAR/5 Bar", "seçim", "hükümet", "Erdogan",
    "hostage*", '"prisoner exchange"', "negotiat* -Hamas", "ceasefire OR Doha", "NOT weather",
    "Bundeskanzler", "Merkel", "élection", "Turkiye", "title:hostage*", "lang:he", "author:nobody OR Haifa",
    "ελλαδα", "東京で会談", "𞤀𞤣𞤤𞤢𞤥", "𞤀𞤣𞤤* OR news",
    "ceasefire", "ceasefir*", "airstrike*", "US", "title:ceasefire", "peacekeeping", "ceasefire-talks",
]


def _article(i: int, title: str, body: str, language: str | None, content_hash: str = "h") -> Article:
    return Article(
        id=f"a{i:02d}", guid=f"g{i}", url=f"https://news.test/{i}", title=title, summary_html="", content_html="",
        summary_text=body, content_text="", author="", published_at=NOW - timedelta(hours=i), language=language,
        content_hash=content_hash,
    )


def _store(db: Database, articles: list[Article], now: datetime = NOW) -> None:
    with db.transaction() as session:
        save_articles(session, "wire", articles, now)


def _scan(db: Database, query: str) -> list[str]:
    """The matcher over every stored article, newest first: the answer the index must reproduce."""
    matcher = matcher_for(CONFIG, query)
    with db.sessions() as session:
        rows = session.scalars(select(ArticleRow).order_by(ArticleRow.published_at.desc(), ArticleRow.id)).all()
    return [r.id for r in rows if matcher(document_for(r, FeedLabel("wire"))) is not None]


def _search(db: Database, query: str, **filters: object) -> list[str]:
    outcome = search_archive(CONFIG, db, query, SearchFilters(**filters), limit=1000)  # type: ignore[arg-type]
    return [h.article_id for h in outcome.hits]


def test_search_equals_a_full_scan_for_every_query(db: Database) -> None:
    corpus = CORPUS + SPELLINGS
    _store(db, [_article(i, *row) for i, row in enumerate(corpus)])
    assert pending_count(db) == len(corpus)
    unindexed = {q: _search(db, q) for q in QUERIES}
    assert index_articles(db) == len(corpus) and pending_count(db) == 0
    narrowed = 0
    for query in QUERIES:
        expected = _scan(db, query)
        assert _search(db, query) == expected == unindexed[query], query
        wanted = index_query(CONFIG, query)
        if wanted is not None:
            found = {a for a, _ in candidates(db, wanted, SearchFilters())}
            assert set(expected) <= found, query
            narrowed += len(found) < len(corpus)
    assert narrowed >= 28, "the index narrows most queries"
    # Word forms are found through their keys: Путина, וחמאס, للموساد, Kalın's.
    assert _search(db, "Путин") == ["a00", "a01"]
    assert _search(db, "חמאס") == ["a03"] and _search(db, "موساد") == ["a05"] and _search(db, "تركيا") == []
    # `cease-fire`, `cease fire` and `ceasefire` are one word to the index as to the matcher.
    spelled = [f"a{i:02d}" for i in range(len(CORPUS), len(corpus))]
    assert set(_search(db, "ceasefire")) >= set(spelled[:2]) and set(_search(db, "US")) == {spelled[0]}


def test_filters_paging_and_scans(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(db, [_article(i, *row) for i, row in enumerate(CORPUS)])
    index_articles(db)
    every = _search(db, "NOT zzz")
    assert every == [f"a{i:02d}" for i in range(len(CORPUS))] and len(every) == 16
    pages = [search_archive(CONFIG, db, "NOT zzz", SearchFilters(), limit=4, offset=o) for o in range(0, 16, 4)]
    assert [h.article_id for p in pages for h in p.hits] == every
    assert [p.more for p in pages] == [True, True, True, False]
    assert _search(db, "Путин OR חמאס", language="he") == ["a03"]
    assert _search(db, "Путин OR חמאס", feed="wire") == ["a00", "a01", "a03"]
    assert _search(db, "Путин OR חמאס", feed="other") == []
    window = SearchFilters(start=NOW - timedelta(hours=3, minutes=30), end=NOW - timedelta(minutes=30))
    assert [h.article_id for h in search_archive(CONFIG, db, "Путин OR חמאס", window).hits] == ["a01", "a03"]
    # Queries without an indexable term read the newest articles (all 16 here, under SCAN_LIMIT).
    for query in ("NOT Kalin", "lang:en", "author:nobody OR Kalin"):
        outcome = search_archive(CONFIG, db, query, SearchFilters())
        assert not outcome.indexed and outcome.candidates == 16 and not outcome.scan_capped, query
    with pytest.raises(MonitorError, match="nobody"):
        search_archive(CONFIG, db, "@nobody", SearchFilters())
    # When the first candidates read do not fill the page, the rest are read, in order.
    monkeypatch.setattr(search_usecase, "FIRST_CANDIDATES", 1)
    for query in ("Путин OR חמאס OR موساد OR hostage* OR Erdogan", "talks OR Haifa OR Paris OR élection OR news"):
        expected = _scan(db, query)
        pages = [search_archive(CONFIG, db, query, SearchFilters(), limit=1, offset=o) for o in range(len(expected))]
        assert [h.article_id for p in pages for h in p.hits] == expected and len(expected) >= 3
        assert [p.more for p in pages] == [True] * (len(expected) - 1) + [False]
        assert pages[0].candidates_capped and not pages[-1].candidates_capped


def _terms(db: Database, article_id: str) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(SearchTerms).where(SearchTerms.article_id == article_id)) or 0


def test_the_index_follows_inserts_updates_and_retention(db: Database) -> None:
    _store(db, [_article(0, "Kalin in Ankara", "talks", "en"), _article(1, "Weather", "sunny", "en")])
    assert _search(db, "Kalin") == ["a00"], "queued articles are candidates before they are indexed"
    index_articles(db)
    assert _terms(db, "a00") == 1
    # The text changes: the article is queued again and found by its new words only, indexed or not.
    _store(db, [_article(0, "Fidan in Cairo", "talks", "en", content_hash="h2")], NOW + timedelta(minutes=5))
    assert pending_count(db) == 1
    assert _search(db, "Kalin") == [] and _search(db, "Cairo") == ["a00"]
    index_articles(db)
    assert _search(db, "Kalin") == [] and _search(db, "Cairo") == ["a00"] and pending_count(db) == 0
    # An update that changes nothing indexed queues nothing.
    with db.transaction() as session:
        session.execute(text("UPDATE articles SET author = 'desk' WHERE id = 'a00'"))
    assert pending_count(db) == 0
    # Retention deletes the article: its terms and any queue entry go with it.
    _store(db, [_article(1, "Weather in Cairo", "rain", "en", content_hash="h3")], NOW + timedelta(minutes=6))
    assert pending_count(db) == 1
    removed = purge_older_than(db, NOW + timedelta(days=400))
    assert removed["articles"] == 2
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SearchTerms)) == 0
        assert session.scalar(select(func.count()).select_from(SearchPending)) == 0
    assert _search(db, "Cairo") == []
    if db.is_sqlite:  # the FTS5 index agrees with its content table
        with db.transaction() as session:
            session.execute(text("INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)"))
            assert session.scalar(text("SELECT count(*) FROM search_fts WHERE search_fts MATCH '\"cairo\"'")) == 0


def test_search_index_command_indexes_the_queue_and_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    monkeypatch.chdir(root)
    db = Database(f"sqlite:///{root / 'var' / 'monitor.db'}")  # the demo configuration's database
    upgrade(db)
    _store(db, [_article(i, *row) for i, row in enumerate(CORPUS[:3])])
    first = CliRunner().invoke(main, ["search-index", "--config", "config"])
    assert first.exit_code == 0, first.output
    assert "indexed 3 queued article(s); 0 left in the queue" in first.output
    again = CliRunner().invoke(main, ["search-index", "--config", "config", "--rebuild"])
    assert again.exit_code == 0 and "queued 3 article(s)" in again.output and "indexed 3" in again.output
    assert _search(db, "Путин") == ["a00", "a01"]
    db.dispose()
