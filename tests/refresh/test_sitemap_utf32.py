"""Sitemaps served in UTF-32 (with a byte order mark, or declared only) are read like UTF-8 ones (end to end: test_sitemap_utf16.py)."""

from __future__ import annotations

import pytest

from monitor.parse import parse_feed
from monitor.parse.formats.sitemap import looks_like_sitemap
from tests.refresh.test_sitemap import NS, news_url

LE_MARK, BE_MARK = b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"


def urlset(url: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-32"?><urlset {NS}>'
            + news_url(url, "Grüße aus Köln: Qatar", "2026-11-24") + "</urlset>")


@pytest.mark.parametrize(("encoding", "mark"), [
    ("utf-32-le", LE_MARK), ("utf-32-be", BE_MARK), ("utf-32-le", b""), ("utf-32-be", b""),
])
def test_a_utf32_sitemap_is_recognised_and_parsed(encoding: str, mark: bytes) -> None:
    body = mark + urlset("https://news.test/a").encode(encoding)
    assert looks_like_sitemap(body), "the poller must know it for a sitemap (its pages are fetched)"
    parsed = parse_feed(body, base_url="https://news.test/sitemap.xml", content_type="application/xml")
    assert parsed.format == "sitemap" and [a.title for a in parsed.articles] == ["Grüße aus Köln: Qatar"]


def test_utf32_is_not_mistaken_for_utf16_nor_a_wide_rss_for_a_sitemap() -> None:
    # A UTF-32-LE mark begins with the UTF-16-LE one: read as UTF-16 the sitemap's names would be lost.
    assert looks_like_sitemap(LE_MARK + urlset("https://news.test/a").encode("utf-32-le"))
    rss = "<?xml version='1.0'?><rss version='2.0'><channel><title>urlset</title></channel></rss>"
    for encoding in ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"):
        assert not looks_like_sitemap(rss.encode(encoding))
    assert not looks_like_sitemap(b"") and not looks_like_sitemap(b"\x00")
