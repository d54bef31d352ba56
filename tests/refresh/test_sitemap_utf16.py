"""Sitemaps served in UTF-16 (with a byte order mark, or declared only) are read like UTF-8 ones; end to end, UTF-32 too."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.parse import parse_feed
from monitor.parse.formats.sitemap import looks_like_sitemap
from tests.refresh.test_sitemap import NS, Setup, news_url, page
from tests.support.feedserver import FeedServer, Route, running_feed_server


def utf16(document: str, encoding: str, bom: bytes = b"") -> bytes:
    return bom + document.encode(encoding)


@pytest.mark.parametrize(("encoding", "bom"), [
    ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b""), ("utf-16-be", b""),
])
def test_a_utf16_sitemap_is_recognised_and_parsed(encoding: str, bom: bytes) -> None:
    document = (f'<?xml version="1.0" encoding="UTF-16"?><urlset {NS}>'
                + news_url("https://news.test/a", "Grüße aus Köln: Qatar", "2026-11-24") + "</urlset>")
    body = utf16(document, encoding, bom)
    assert looks_like_sitemap(body), "the poller must know it for a sitemap (its pages are fetched)"
    parsed = parse_feed(body, base_url="https://news.test/sitemap.xml", content_type="application/xml")
    assert parsed.format == "sitemap" and [a.title for a in parsed.articles] == ["Grüße aus Köln: Qatar"]


@pytest.mark.parametrize(("width", "index_mark"), [("16", b"\xfe\xff"), ("32", b"\x00\x00\xfe\xff")])
def test_a_wide_index_and_child_are_followed_and_their_pages_fetched(tmp_path: Path, width: str, index_mark: bytes) -> None:
    """UTF-16 and UTF-32: an index with a big-endian mark, a child declared only (little-endian)."""
    with running_feed_server() as server:
        index = (f'<?xml version="1.0" encoding="UTF-{width}"?><sitemapindex {NS}><sitemap>'
                 f'<loc>{server.url("/child.xml")}</loc></sitemap></sitemapindex>')
        child = (f'<?xml version="1.0" encoding="UTF-{width}"?><urlset {NS}>'
                 + news_url(server.url("/a/koeln"), "Grüße aus Köln: Qatar", "2026-11-24") + "</urlset>")
        server.routes["/index.xml"] = Route(utf16(index, f"utf-{width}-be", index_mark), content_type="application/xml")
        server.routes["/child.xml"] = Route(utf16(child, f"utf-{width}-le"), content_type=f"text/xml; charset=utf-{width}")
        page(server, "/a/koeln", "Köln")
        setup = Setup(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", {"index": server.url("/index.xml")})
        try:
            assert setup.poll() == (1, 0)
            article = setup.articles()["koeln"]
            assert article.title == "Grüße aus Köln: Qatar" and "Qatar has paused" in article.content_text
            assert _served(server) == {"/index.xml", "/child.xml", "/a/koeln"}
        finally:
            setup.close()


def _served(server: FeedServer) -> set[str]:
    return {path for _, path, status in server.requests if status == 200}
