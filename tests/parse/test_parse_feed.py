"""parse_feed on small hand-written RSS 2.0, Atom, RDF and non-English feeds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse import parse_feed

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://www.example-news.org/feed/"


def load(name: str, base_url: str = BASE, **kwargs: str | None) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), base_url=base_url, **kwargs)


def test_rss20_feed_level_fields() -> None:
    feed = load("rss20.xml", content_type="application/rss+xml")
    assert feed.title == "Example & News"
    assert feed.link == "https://www.example-news.org/"
    assert feed.language == "en"
    assert feed.ttl_minutes == 30
    assert feed.bozo_message is None
    assert len(feed.articles) == 3


def test_rss20_first_item() -> None:
    article = load("rss20.xml").articles[0]
    assert article.title == "Turkish intelligence chief Ibrahim Kalin met Shin Bet director Ronen Bar"
    # Relative link resolved, utm_* and fragment dropped, meaningful parameter kept.
    assert article.url == "https://www.example-news.org/2024/11/19/kalin-bar?id=42"
    assert article.guid == "example-news-2024-11-19-kalin-bar"
    assert article.author == "Jane Reporter"
    assert article.published_at == datetime(2024, 11, 19, 5, 0, tzinfo=UTC)
    assert article.published_at.tzinfo is UTC
    assert article.language == "en"
    assert len(article.id) == 32 and int(article.id, 16) >= 0
    # Sanitised: no script, no handler, no iframe, no javascript: link; links made safe and absolute.
    html = article.content_html
    assert "<script" not in html and "onclick" not in html and "onerror" not in html
    assert "iframe" not in html and "javascript:" not in html
    assert 'href="https://www.example-news.org/related"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert 'src="https://www.example-news.org/img/kalin.jpg"' in html
    assert "<strong>Ibrahim Kalin</strong>" in html
    # Plain text: block elements never glue words together, no markup, script text gone.
    assert article.summary_text.split() == "Kalin met Bar in Türkiye about the captives.".split()
    assert "Ibrahim Kalin, met with Shin Bet" in article.content_text
    assert "alert" not in article.content_text and "<" not in article.content_text


def test_rss20_title_is_plain_text_and_entities_decoded() -> None:
    article = load("rss20.xml").articles[1]
    assert article.title == "Netanyahu\u2019s cabinet meets hostage envoy"
    assert article.url == "https://www.example-news.org/2024/11/19/cabinet"
    assert article.guid is None
    assert article.summary_text == "Nitzan Alon and David Barnea attended."


def test_entry_without_link_guid_or_date() -> None:
    article = load("rss20.xml").articles[2]
    assert article.url == "" and article.guid is None and article.published_at is None
    assert article.id == load("rss20.xml").articles[2].id


def test_atom_feed() -> None:
    feed = load("atom.xml", content_type="application/atom+xml")
    assert feed.title == "Atom Example"
    assert feed.language == "en"
    first, second = feed.articles
    assert first.url == "https://atom.example.com/blog/posts/qatar"  # xml:base honoured
    assert first.title == "Qatar freezes role"  # markup stripped even from a text title
    assert first.published_at == datetime(2024, 11, 19, 7, 0, tzinfo=UTC)  # updated, converted to UTC
    assert first.content_text.splitlines() == ["Qatar had frozen its mediation.", "Talks moved to Cairo."]
    assert first.body_text == first.content_text  # summary repeated in content is not doubled
    assert first.author == "Atom Author"  # feed author as fallback
    assert second.language == "fr"  # entry xml:lang beats the feed's
    assert second.published_at == datetime(2024, 11, 18, 20, 0, tzinfo=UTC)  # published beats updated
    assert second.content_text == "Les otages"


def test_rdf_feed() -> None:
    feed = load("rdf.xml")
    assert feed.title == "RDF Site" and feed.language == "de"
    (article,) = feed.articles
    assert article.title == "Geiselverhandlungen in Kairo"
    assert article.summary_text == "Ägypten vermittelt."
    assert article.published_at == datetime(2024, 11, 19, 5, 0, tzinfo=UTC)


def test_non_english_legacy_encoding_and_language_hint() -> None:
    feed = load("turkish.xml", language_hint="tr-TR")
    (article,) = feed.articles
    assert article.title == "MİT Başkanı İbrahim Kalın, Şin Bet Direktörü ile görüştü"
    assert "Türkiye'de" in article.summary_text
    assert article.language == "tr" and feed.language == "tr"
    # Without the hint nothing is declared: the language is detected from the title and summary.
    undeclared = load("turkish.xml")
    assert undeclared.language is None and undeclared.articles[0].language == "tr"


def test_declared_language_beats_detection() -> None:
    # An English text in a feed that says it is German stays German: the feed is believed.
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><language>de</language>'
        b"<item><title>Hostage talks resume in Cairo</title><guid>g1</guid><description>Egypt and Qatar "
        b"mediate between the parties as negotiators meet again this week.</description></item></channel></rss>"
    )
    assert parse_feed(body, base_url="https://x.example/feed").articles[0].language == "de"
    undeclared = body.replace(b"<language>de</language>", b"")
    assert parse_feed(undeclared, base_url="https://x.example/feed").articles[0].language == "en"


def test_too_little_text_gets_no_language() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>iPhone 16</title><guid>g1</guid></item></channel></rss>"
    )
    assert parse_feed(body, base_url="https://x.example/feed").articles[0].language is None


def test_feed_language_beats_hint() -> None:
    assert load("rss20.xml", language_hint="de").articles[0].language == "en"


def test_ids_stable_and_independent_of_feed() -> None:
    first = load("rss20.xml")
    again = load("rss20.xml", base_url="https://mirror.example.net/other-feed.xml")
    assert first.articles[0].id == again.articles[0].id  # from the guid
    assert [a.id for a in first.articles] == [a.id for a in load("rss20.xml").articles]
    assert len({a.id for a in first.articles}) == 3
    # The same link in another feed without guid gets the same id (canonical URL).
    other = parse_feed(
        b'<rss version="2.0"><channel><title>Other</title><item><title>Different title</title>'
        b"<link>https://WWW.example-news.org:443/2024/11/19/cabinet?utm_campaign=x#top</link></item></channel></rss>",
        base_url="https://aggregator.example/rss",
    )
    assert other.articles[0].id == first.articles[1].id


def test_content_hash_changes_when_entry_is_updated() -> None:
    body = (FIXTURES / "rss20.xml").read_bytes()
    before = parse_feed(body, base_url=BASE).articles[1]
    after = parse_feed(
        body.replace(b"David Barnea attended", b"David Barnea did not attend"), base_url=BASE
    ).articles[1]
    assert before.id == after.id
    assert before.content_hash != after.content_hash


def test_bozo_feed_with_entries_is_accepted() -> None:
    body = b'<rss version="2.0"><channel><title>Broken</title><item><title>One &amp; only</title><link>http://e.org/1</link></item>'
    feed = parse_feed(body, base_url="http://e.org/")
    assert feed.bozo_message
    assert [a.title for a in feed.articles] == ["One & only"]


def test_feed_without_entries_is_not_an_error() -> None:
    feed = parse_feed(
        b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', base_url="http://e.org/"
    )
    assert feed.title == "Quiet" and feed.articles == ()


def test_html_page_names_its_feed_links() -> None:
    with pytest.raises(ParseError) as info:
        load(
            "page.html",
            base_url="https://www.example-news.org/2024/11/19/kalin-bar",
            content_type="text/html",
        )
    assert info.value.kind == "not_a_feed"
    assert "HTML page" in info.value.message
    assert "https://www.example-news.org/feed/" in info.value.message
    assert "https://www.example-news.org/atom.xml" in info.value.message


def test_html_page_without_feed_links() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(b"<!doctype html><html><body><p>Hello</p></body></html>", base_url="http://e.org/")
    assert info.value.kind == "not_a_feed" and "HTML page" in info.value.message


@pytest.mark.parametrize(
    "body",
    [b"", b"   \n", b'{"items": []}', b"just some text", b"<?xml version='1.0'?><note><to>x</to></note>"],
)
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, base_url="http://e.org/")
    assert info.value.kind == "not_a_feed"


def test_broken_xml_without_entries_is_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(b"<?xml version='1.0'?><x><<<&&&", base_url="http://e.org/")
    assert info.value.kind in ("parse_error", "not_a_feed")


def test_bytes_that_look_like_a_url_or_path_are_never_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fetch(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("feedparser tried to fetch a URL")

    monkeypatch.setattr(feedparser.http, "get", no_fetch)
    for body in (b"http://example.com/feed.xml", b"/etc/passwd", str(FIXTURES / "rss20.xml").encode()):
        with pytest.raises(ParseError):
            parse_feed(body, base_url="http://e.org/")


def test_str_body_is_refused() -> None:
    with pytest.raises(TypeError):
        parse_feed("https://example.com/feed.xml", base_url="http://e.org/")  # type: ignore[arg-type]


def test_utf16_feed_with_doctype() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE rss [<!ENTITY x "boom">]>\n'
        '<rss version="2.0"><channel><title>Wide</title><item><title>Çay &amp; simit</title>'
        "<link>http://e.org/1</link></item></channel></rss>"
    )
    feed = parse_feed(
        text.encode("utf-16"), base_url="http://e.org/", content_type="application/xml; charset=utf-16"
    )
    assert feed.title == "Wide"
    assert feed.articles[0].title == "Çay & simit"


def test_weak_guid_falls_back_to_the_canonical_url() -> None:
    # Numeric guids repeat across sites; two different sites' "1" must not be one article.
    template = '<rss version="2.0"><channel><title>x</title><item><guid isPermaLink="false">1</guid><link>{}</link></item></channel></rss>'
    one = parse_feed(template.format("https://a.example/story").encode(), base_url="https://a.example/feed")
    two = parse_feed(template.format("https://b.example/story").encode(), base_url="https://b.example/feed")
    assert one.articles[0].id != two.articles[0].id
    assert one.articles[0].guid == "1"


def test_rss_served_as_text_html_is_still_a_feed() -> None:
    feed = load("rss20.xml", content_type="text/html; charset=utf-8")
    assert len(feed.articles) == 3


@pytest.mark.parametrize("ttl", ["", "abc", "-5", "0"])
def test_unusable_ttl_is_none(ttl: str) -> None:
    body = f'<rss version="2.0"><channel><title>x</title><ttl>{ttl}</ttl></channel></rss>'.encode()
    assert parse_feed(body, base_url="http://e.org/").ttl_minutes is None


def test_entries_without_guid_or_link_stay_distinct_across_feeds() -> None:
    """Nothing identifies such entries across feeds: they must not collapse into one article."""
    from monitor.parse import parse_feed

    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><description>first text</description></item>"
        b"<item><description>second text</description></item></channel></rss>"
    )
    one = parse_feed(body, base_url="https://a.example/feed")
    two = parse_feed(body, base_url="https://b.example/feed")
    ids = [a.id for a in one.articles] + [a.id for a in two.articles]
    assert len(set(ids)) == 4
    assert [a.id for a in parse_feed(body, base_url="https://a.example/feed").articles] == ids[:2], "stable"
