"""News and plain sitemaps, and sitemap indexes, polled by the FeedPoller from a real local HTTP server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config.loader import load_config
from monitor.refresh.poller import FeedPoller
from monitor.refresh.runtime import Runtime
from monitor.refresh.sitemap import MAX_CHILD_SITEMAPS, MAX_SITEMAP_PAGES
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow, RoutedItem
from tests.support.feedserver import FeedServer, Route

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WATCHLIST = "name: MENA\nactors:\n  - id: qatar\n    name: Qatar\n    kind: place\n"
NS = (
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
)
PARAGRAPH = (
    "Qatar has paused its mediation between Israel and Hamas until both sides show willingness to resume "
    "talks, the foreign ministry said on Saturday, adding that it would return when the parties were ready. "
)
PAGE = (
    "<!doctype html><html{lang}><head><title>{title} | Site</title>"
    "<meta name='description' content='A short description.'></head><body><nav>Home Sections</nav>"
    "<article><h1>{title}</h1><p>{text}</p><p>{text}</p></article><footer>Footer text</footer></body></html>"
)


def news_url(loc: str, title: str, date: str, language: str = "en") -> str:
    return (
        f"<url><loc>{loc}</loc><news:news><news:publication><news:name>Levant Wire</news:name>"
        f"<news:language>{language}</news:language></news:publication>"
        f"<news:publication_date>{date}</news:publication_date><news:title>{title}</news:title></news:news></url>"
    )


def urlset(urls: str) -> bytes:
    return f"<?xml version='1.0' encoding='UTF-8'?><urlset {NS}>{urls}</urlset>".encode()


def index(locs: list[str]) -> bytes:
    inner = "".join(f"<sitemap><loc>{loc}</loc><lastmod>2026-11-24</lastmod></sitemap>" for loc in locs)
    return f"<?xml version='1.0'?><sitemapindex {NS}>{inner}</sitemapindex>".encode()


def page(server: FeedServer, path: str, title: str, text: str = PARAGRAPH, lang: str | None = "en") -> None:
    body = PAGE.format(title=title, text=text, lang=f" lang='{lang}'" if lang else "")
    server.routes[path] = Route(body.encode(), content_type="text/html; charset=utf-8")


class Setup:
    """A configuration with the given feeds, a migrated database and a poller."""

    def __init__(self, root: Path, database_url: str, feeds: dict[str, str]) -> None:
        config = root / "config"
        (config / "watchlists").mkdir(parents=True)
        (config / "monitor.yaml").write_text(
            f"database: {database_url}\nemail:\n  transport: file\n  outbox_dir: {root / 'outbox'}\n"
            "fetch:\n  allow_private_networks: true\n  timeout: 20s\n", encoding="utf-8",
        )
        lines = "".join(f"  - url: {url}\n    id: {name}\n    name: {name}\n" for name, url in feeds.items())
        (config / "feeds.yaml").write_text(f"feeds:\n{lines}", encoding="utf-8")
        (config / "watchlists" / "mena.yaml").write_text(WATCHLIST, encoding="utf-8")
        (config / "subscribers.yaml").write_text(
            "subscribers:\n  - id: desk\n    email: d@test.example\n    watchlists: [mena]\n    schedule: immediate\n",
            encoding="utf-8",
        )
        self.now = NOW
        runtime = Runtime.build(load_config(config, {}).config)
        self.db = Database(database_url)
        upgrade(self.db)
        FeedRepository(self.db).sync(runtime.config.feeds, NOW)
        self.poller = FeedPoller(self.db, lambda: runtime, owner="test", clock=lambda: self.now, parse_workers=0)

    def poll(self) -> tuple[int, int]:
        """Poll every feed now: (new articles, errors)."""
        self.poller.feeds.make_all_due(self.now)
        summary = asyncio.run(self.poller.poll_due())
        return summary.new_articles, summary.errors

    def articles(self) -> dict[str, ArticleRow]:
        with self.db.sessions() as session:
            return {a.url.rsplit("/", 1)[-1]: a for a in session.scalars(select(ArticleRow))}

    def close(self) -> None:
        self.poller.close()
        self.db.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'm.db'}"


def test_news_sitemap_articles_take_their_text_from_the_page(
    tmp_path: Path, database_url: str, server: FeedServer
) -> None:
    server.routes["/news-sitemap.xml"] = Route(urlset(
        news_url(server.url("/a/qatar"), "Qatar pauses mediation", "2026-11-24T09:00:00+01:00")
        + news_url(server.url("/a/markets"), "Markets steady", "2026-11-23", language="fr")
    ), content_type="application/xml")
    page(server, "/a/qatar", "Page title for Qatar")
    # The page declares no language: the sitemap's news:language stands (a page's own lang would win).
    page(server, "/a/markets", "Bourse", "Markets were steady on Monday, brokers said in the city. " * 4, lang=None)
    setup = Setup(tmp_path, database_url, {"news": server.url("/news-sitemap.xml")})
    try:
        assert setup.poll() == (2, 0)
        rows = setup.articles()
        qatar = rows["qatar"]
        assert qatar.title == "Qatar pauses mediation"  # the sitemap's title beats the page's <title>
        assert qatar.published_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        assert "mediation between Israel and Hamas" in qatar.content_text
        assert "Footer" not in qatar.content_text and "Home Sections" not in qatar.content_text
        assert qatar.summary_text == "A short description."
        assert rows["markets"].language == "fr"
        with setup.db.sessions() as session:
            assert session.scalars(select(RoutedItem.article_id)).all() == [qatar.id]
        assert {f.id: f.kind for f in FeedRepository(setup.db).health(NOW)} == {"news": "sitemap"}
        # Polled again: known URLs are not fetched again, a new one is.
        server.routes["/news-sitemap.xml"] = Route(urlset(
            news_url(server.url("/a/qatar"), "Qatar pauses mediation", "2026-11-24T09:00:00+01:00")
            + news_url(server.url("/a/new"), "Another story", "2026-11-24T11:00:00Z")
        ))
        page(server, "/a/new", "Another")
        assert setup.poll() == (1, 0)
        assert server.hits("/a/qatar") == [200] and server.hits("/a/new") == [200]
    finally:
        setup.close()


def test_plain_sitemap_with_lastmod_takes_the_page_title(tmp_path: Path, sqlite_url: str, server: FeedServer) -> None:
    server.routes["/sitemap.xml"] = Route(urlset(
        f"<url><loc>{server.url('/p/one')}</loc><lastmod>2026-11-20</lastmod></url>"
        f"<url><loc>{server.url('/p/missing')}</loc><lastmod>2026-11-21</lastmod></url>"
    ))
    page(server, "/p/one", "Page One")
    setup = Setup(tmp_path, sqlite_url, {"plain": server.url("/sitemap.xml")})
    try:
        assert setup.poll() == (1, 0)  # the 404 page has no title to keep: dropped
        one = setup.articles()["one"]
        assert one.title == "Page One | Site"
        assert one.published_at == datetime(2026, 11, 20, tzinfo=UTC)
        assert "Qatar has paused" in one.content_text
    finally:
        setup.close()


def test_sitemap_index_is_followed_within_depth_and_loops_end(tmp_path: Path, sqlite_url: str, server: FeedServer) -> None:
    server.routes["/index.xml"] = Route(index([server.url("/index2.xml"), server.url("/news1.xml"),
                                              server.url("/index.xml")]))
    # The second level lists the root again (a loop), itself, and a third level that is too deep.
    server.routes["/index2.xml"] = Route(index([server.url("/index.xml"), server.url("/index2.xml"),
                                               server.url("/news2.xml"), server.url("/index3.xml")]))
    server.routes["/index3.xml"] = Route(index([server.url("/news3.xml")]))
    for n in (1, 2, 3):
        server.routes[f"/news{n}.xml"] = Route(urlset(news_url(server.url(f"/s/{n}"), f"Story {n}", "2026-11-24")))
        page(server, f"/s/{n}", f"Story {n}")
    setup = Setup(tmp_path, sqlite_url, {"idx": server.url("/index.xml")})
    try:
        assert setup.poll() == (2, 0)
        assert set(setup.articles()) == {"1", "2"}
        assert server.hits("/index.xml") == [200] and server.hits("/index2.xml") == [200]
        assert server.hits("/news3.xml") == [], "deeper than MAX_INDEX_DEPTH"
        assert {f.kind for f in FeedRepository(setup.db).health(NOW)} == {"sitemap"}
    finally:
        setup.close()


def test_index_children_are_bounded(tmp_path: Path, sqlite_url: str, server: FeedServer) -> None:
    children = [server.url(f"/c/{n}.xml") for n in range(MAX_CHILD_SITEMAPS + 30)]
    server.routes["/index.xml"] = Route(index(children))
    for n in range(MAX_CHILD_SITEMAPS + 30):
        server.routes[f"/c/{n}.xml"] = Route(urlset(""))
    setup = Setup(tmp_path, sqlite_url, {"idx": server.url("/index.xml")})
    try:
        assert setup.poll() == (0, 0)
        fetched = [path for _, path, _ in server.requests if path.startswith("/c/")]
        assert len(fetched) == MAX_CHILD_SITEMAPS
    finally:
        setup.close()


def test_robots_txt_disallowing_a_page_is_honoured(tmp_path: Path, sqlite_url: str, server: FeedServer) -> None:
    server.routes["/robots.txt"] = Route(b"User-agent: monitor\nDisallow: /private/\n", content_type="text/plain")
    server.routes["/news.xml"] = Route(urlset(
        news_url(server.url("/private/secret"), "Qatar secret story", "2026-11-24")
        + news_url(server.url("/public/open"), "Open story", "2026-11-23")
    ) + b"")
    server.routes["/plain.xml"] = Route(urlset(f"<url><loc>{server.url('/private/untitled')}</loc></url>"))
    page(server, "/private/secret", "Secret")
    page(server, "/private/untitled", "Untitled")
    page(server, "/public/open", "Open")
    setup = Setup(tmp_path, sqlite_url, {"news": server.url("/news.xml"), "plain": server.url("/plain.xml")})
    try:
        assert setup.poll() == (2, 0)
        rows = setup.articles()
        assert server.hits("/private/secret") == [] and server.hits("/private/untitled") == []
        assert server.hits("/public/open") == [200]
        assert rows["secret"].title == "Qatar secret story" and rows["secret"].content_text == ""
        assert "untitled" not in rows, "disallowed and untitled: nothing to store"
        assert server.hits("/robots.txt") == [200], "fetched once for the host, then cached"
    finally:
        setup.close()


def test_hostile_sitemaps(tmp_path: Path, sqlite_url: str, server: FeedServer) -> None:
    many = "".join(f"<url><loc>{server.url(f'/m/{n}')}</loc><lastmod>2026-11-01</lastmod></url>" for n in range(100_000))
    server.routes["/many.xml"] = Route(urlset(many))
    server.routes["/broken.xml"] = Route(urlset("<url><loc>x</loc>")[:-5], content_type="application/xml")
    server.routes["/others.xml"] = Route(urlset(
        "<url><loc>http://10.0.0.1/internal</loc></url><url><loc>https://elsewhere.example/a</loc></url>"
        "<url><loc>javascript:alert(1)</loc></url>"
    ))
    for n in range(99_900, 100_000):  # equal dates: the last listed are kept (and fetched) first
        page(server, f"/m/{n}", f"Page {n}")
    setup = Setup(tmp_path, sqlite_url, {
        "many": server.url("/many.xml"), "broken": server.url("/broken.xml"), "others": server.url("/others.xml"),
    })
    try:
        new, errors = setup.poll()
        assert errors == 1 and new == MAX_SITEMAP_PAGES
        health = {f.id: f for f in FeedRepository(setup.db).health(NOW)}
        assert health["broken"].error_kind == "parse_error" and "well-formed" in (health["broken"].error_message or "")
        assert health["others"].error_kind is None and health["many"].kind == "sitemap"
        fetched = [path for _, path, _ in server.requests if path.startswith("/m/")]
        assert len(fetched) == MAX_SITEMAP_PAGES
        assert not any("internal" in p or "alert" in p for _, p, _ in server.requests)
    finally:
        setup.close()


def test_an_unchanged_index_is_read_again_for_its_changed_children(
    tmp_path: Path, sqlite_url: str, server: FeedServer
) -> None:
    server.routes["/index.xml"] = Route(index([server.url("/news.xml")]))
    server.routes["/news.xml"] = Route(urlset(news_url(server.url("/s/1"), "Story 1", "2026-11-24")))
    page(server, "/s/1", "Story 1")
    setup = Setup(tmp_path, sqlite_url, {"idx": server.url("/index.xml")})
    try:
        assert setup.poll() == (1, 0)
        server.routes["/news.xml"] = Route(urlset(
            news_url(server.url("/s/1"), "Story 1", "2026-11-24") + news_url(server.url("/s/2"), "Story 2", "2026-11-24")
        ))
        page(server, "/s/2", "Story 2")
        assert setup.poll() == (1, 0)
        assert server.hits("/index.xml") == [200, 200], "no conditional GET for a sitemap"
        assert server.hits("/s/1") == [200]
    finally:
        setup.close()


def test_new_urls_beyond_the_page_cap_wait_for_the_next_poll(
    tmp_path: Path, sqlite_url: str, server: FeedServer
) -> None:
    count = MAX_SITEMAP_PAGES + 5
    server.routes["/news.xml"] = Route(urlset("".join(
        news_url(server.url(f"/s/{n}"), f"Story {n}", f"2026-11-{1 + n:02d}") for n in range(count)
    )))
    for n in range(count):
        page(server, f"/s/{n}", f"Story {n}")
    setup = Setup(tmp_path, sqlite_url, {"news": server.url("/news.xml")})
    try:
        assert setup.poll() == (MAX_SITEMAP_PAGES, 0)
        assert server.hits(f"/s/{count - 1}") == [200] and server.hits("/s/0") == [], "newest first"
        assert setup.poll() == (5, 0)
        assert all(server.hits(f"/s/{n}") == [200] for n in range(count))
    finally:
        setup.close()
