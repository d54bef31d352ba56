"""parse_document: one HTML or text page -> one Article."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.parse import parse_document

PAGE = (Path(__file__).parent / "fixtures" / "page.html").read_bytes()


def test_html_page() -> None:
    article = parse_document(
        PAGE, url="https://www.example-news.org/x?utm_source=tw", content_type="text/html"
    )
    assert article.title == "Kalin meets Bar in Türkiye"  # og:title first
    assert article.url == "https://www.example-news.org/2024/11/19/kalin-bar"  # the page's canonical link
    assert article.language == "en"
    assert article.published_at == datetime(2024, 11, 19, 5, 0, tzinfo=UTC)
    assert article.summary_text == "Intelligence chiefs met."
    text = article.content_text
    assert "Turkey\u2019s intelligence chief Ibrahim Kalin" in text
    assert "met Shin Bet director Ronen Bar." in text
    for furniture in ("navigation", "Copyright", "script text", "color: red", "Example News"):
        assert furniture not in text
    assert "<p>" in article.content_html and "<script" not in article.content_html


def test_title_falls_back_to_title_then_h1() -> None:
    page = b"<html><head><title>Only &amp; title</title></head><body><h1>Head</h1><p>x</p></body></html>"
    assert parse_document(page, url="", content_type=None).title == "Only & title"
    page = b"<html><body><h1>The <em>h1</em></h1><p>x</p></body></html>"
    assert parse_document(page, url="", content_type="text/html").title == "The h1"


def test_same_page_same_id_as_feed_link() -> None:
    one = parse_document(PAGE, url="https://www.example-news.org/a", content_type="text/html")
    two = parse_document(PAGE, url="https://www.example-news.org/b", content_type="text/html")
    assert one.id == two.id


def test_plain_text_document() -> None:
    body = "Hostage talks\n\nEgypt, not Türkiye, to mediate.\n".encode()
    article = parse_document(body, url="file:///tmp/note.txt", content_type="text/plain")
    assert article.title == "Hostage talks"
    assert article.content_text == "Hostage talks\nEgypt, not Türkiye, to mediate."
    assert article.published_at is None and article.language is None


def test_legacy_charset_from_meta() -> None:
    page = '<html><head><meta charset="windows-1254"></head><body><p>İbrahim Kalın</p></body></html>'
    article = parse_document(page.encode("cp1254"), url="", content_type=None)
    assert article.content_text == "İbrahim Kalın"
