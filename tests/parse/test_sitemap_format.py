"""The sitemap format: news and plain `<urlset>`s and `<sitemapindex>`es parsed, never fetched."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.parse import parse_feed
from monitor.parse.formats import Sniff, pick
from monitor.parse.formats.sitemap import INDEX_FORMAT, MAX_SITEMAP_URLS, SITEMAP, looks_like_sitemap
from monitor.parse.formats.syndication import SYNDICATION

BASE = "https://news.example/sitemap.xml"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
NEWS = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset {NS}>
  <url><loc>https://news.example/a?utm_source=x</loc>
    <news:news><news:publication><news:name>Example Times</news:name><news:language>de</news:language></news:publication>
      <news:publication_date>2024-11-09T18:30:00+02:00</news:publication_date>
      <news:title>Die Regierung beschließt neue Maßnahmen</news:title></news:news></url>
  <url><loc>https://news.example/b</loc><lastmod>2024-11-10</lastmod></url>
  <url><lastmod>2024-11-11</lastmod></url>
</urlset>""".encode()


def test_news_sitemap_fields() -> None:
    feed = parse_feed(NEWS, base_url=BASE, content_type="application/xml")
    assert feed.format == "sitemap" and feed.title == "Example Times"
    newest, older = feed.articles  # newest first; the <url> without <loc> is skipped
    assert newest.url == "https://news.example/b" and newest.title == ""
    assert newest.published_at == datetime(2024, 11, 10, tzinfo=UTC)
    assert older.url == "https://news.example/a"
    assert older.title == "Die Regierung beschließt neue Maßnahmen"
    assert older.published_at == datetime(2024, 11, 9, 16, 30, tzinfo=UTC)
    assert older.language == "de"
    assert older.content_text == "" and older.summary_text == ""


def test_index_lists_its_children() -> None:
    body = (f"<sitemapindex {NS}><sitemap><loc>https://news.example/s1.xml</loc><lastmod>2024-11-01</lastmod>"
            "</sitemap><sitemap><loc>https://news.example/s2.xml</loc></sitemap></sitemapindex>").encode()
    feed = parse_feed(body, base_url=BASE)
    assert feed.format == INDEX_FORMAT
    assert [a.url for a in feed.articles] == ["https://news.example/s1.xml", "https://news.example/s2.xml"]


def test_detection_needs_the_namespace() -> None:
    assert pick(Sniff(NEWS, base_url=BASE, content_type=None)) is SITEMAP
    assert looks_like_sitemap(NEWS)
    bare = b"<?xml version='1.0'?><urlset><url><loc>https://e.org/a</loc></url></urlset>"
    assert pick(Sniff(bare, base_url=BASE, content_type=None)) is SYNDICATION
    rss = b'<rss version="2.0"><channel><title>t</title><item><title>x</title></item></channel></rss>'
    assert pick(Sniff(rss, base_url=BASE, content_type=None)) is SYNDICATION


def test_only_the_newest_urls_are_kept() -> None:
    urls = "".join(
        f"<url><loc>https://news.example/{n}</loc><lastmod>2024-{1 + n % 12:02d}-01</lastmod></url>"
        for n in range(100_000)
    )
    feed = parse_feed(f"<urlset {NS}>{urls}</urlset>".encode(), base_url=BASE)
    assert len(feed.articles) == MAX_SITEMAP_URLS
    assert all(a.published_at == datetime(2024, 12, 1, tzinfo=UTC) for a in feed.articles)


def test_invalid_xml_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(f"<urlset {NS}><url><loc>https://e.org/a</loc></url".encode(), base_url=BASE)
    assert info.value.kind == "parse_error" and "well-formed" in info.value.message


def test_entity_declarations_are_never_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaaaaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + f"<urlset {NS}><url><loc>https://e.org/&b;</loc></url></urlset>".encode()
    )
    with pytest.raises(ParseError) as info:  # the declarations are scrubbed: &b; is undefined
        parse_feed(bomb, base_url=BASE)
    assert info.value.kind == "parse_error"


def test_bad_dates_and_links_are_dropped() -> None:
    body = (f"<urlset {NS}><url><loc>javascript:alert(1)</loc><lastmod>yesterday</lastmod></url>"
            "<url><loc>https://e.org/ok</loc><lastmod>2024-13-45</lastmod></url></urlset>").encode()
    first, second = parse_feed(body, base_url=BASE).articles
    assert {first.url, second.url} == {"", "https://e.org/ok"}
    assert first.published_at is None and second.published_at is None
