"""The format dispatch: a new source format is one object registered beside RSS/Atom/RDF.

The formats here are throwaway, made up for the test (a line-based "kv feed" and a fake sitemap):
they show that parse_feed detects, dispatches and finishes (sanitising, language, ids, caps) any
registered format, without a change anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.model import TITLE_MAX_CHARS
from monitor.parse import parse_feed
from monitor.parse.formats import (
    BUILT_IN,
    Confidence,
    RawEntry,
    RawFeed,
    RawText,
    Sniff,
    pick,
    register,
    registered,
    unregister,
)
from monitor.parse.formats.syndication import SYNDICATION

KV_BODY = (
    b"#kvfeed\n"
    b"title: Kv <b>Wire</b>\n"
    b"link: /home\n"
    b"item: first-story-guid-0001 | /2024/first?utm_source=x | Erster Bericht | "
    b"<p>Die Regierung hat am Dienstag neue Ma\xc3\x9fnahmen beschlossen.</p><script>alert(1)</script>\n"
    b"item: 7 | javascript:alert(1) | " + b"T" * (TITLE_MAX_CHARS + 10) + b" | plain & simple\n"
)


class KvFeed:
    """`#kvfeed` then `key: value` lines; `item: guid | link | title | html`."""

    name = "kv-feed"

    def detect(self, sniff: Sniff) -> Confidence:
        return Confidence.SURE if sniff.body.startswith(b"#kvfeed\n") else Confidence.NO

    def parse(self, sniff: Sniff) -> RawFeed:
        fields: dict[str, str] = {}
        entries: list[RawEntry] = []
        for line in sniff.body.decode("utf-8").splitlines()[1:]:
            key, _, value = line.partition(": ")
            if key == "item":
                guid, link, title, text = (part.strip() for part in value.split(" | "))
                entries.append(
                    RawEntry(
                        guid=guid,
                        link=link,
                        title=title,
                        summary=RawText(value=text, html=text.startswith("<")),
                        published=datetime(2024, 11, 19, 5, 0, tzinfo=UTC),
                    )
                )
            else:
                fields[key] = value
        if not entries:
            raise ParseError("not_a_feed", "a kv feed without items")
        return RawFeed(title=fields.get("title", ""), link=fields.get("link"), entries=tuple(entries))


class FakeSitemap:
    """Sure of <urlset>: an XML root the RSS/Atom/RDF format would otherwise take as a MAYBE."""

    name = "fake-sitemap"

    def detect(self, sniff: Sniff) -> Confidence:
        return Confidence.SURE if sniff.prolog.root == "urlset" else Confidence.NO

    def parse(self, sniff: Sniff) -> RawFeed:
        return RawFeed(title="sitemap", entries=(RawEntry(link="https://e.org/a", title="A page"),))


@pytest.fixture
def kv_format() -> Iterator[KvFeed]:
    fmt = KvFeed()
    register(fmt)
    yield fmt
    unregister(fmt.name)


def test_a_registered_format_parses_through_parse_feed(kv_format: KvFeed) -> None:
    feed = parse_feed(KV_BODY, base_url="https://kv.example/feed", language_hint=None)
    assert feed.title == "Kv Wire"  # plain text, tags gone
    assert feed.link == "https://kv.example/home"
    first, second = feed.articles
    assert first.guid == "first-story-guid-0001"
    assert first.url == "https://kv.example/2024/first"  # resolved, utm_* dropped
    assert first.title == "Erster Bericht"
    assert "<script" not in first.summary_html and "alert" not in first.summary_text
    assert first.summary_text == "Die Regierung hat am Dienstag neue Maßnahmen beschlossen."
    assert first.language == "de"  # detected: the format declared none
    assert first.published_at == datetime(2024, 11, 19, 5, 0, tzinfo=UTC)
    assert len(first.id) == 32 and first.content_hash
    assert second.url == ""  # javascript: links are never kept
    assert len(second.title) == TITLE_MAX_CHARS  # capped like every format's fields
    assert second.summary_html == "plain &amp; simple"  # plain text escaped, not sanitised as HTML
    # A weak guid ("7") without a usable link: the id is scoped to the feed.
    again = parse_feed(KV_BODY, base_url="https://other.example/feed")
    assert again.articles[0].id == first.id and again.articles[1].id != second.id


def test_a_registered_format_raises_its_own_parse_errors(kv_format: KvFeed) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(b"#kvfeed\ntitle: empty\n", base_url="https://kv.example/feed")
    assert info.value.kind == "not_a_feed" and info.value.message == "a kv feed without items"


def test_without_the_format_the_same_bytes_are_not_a_feed() -> None:
    assert all(fmt.name != "kv-feed" for fmt in registered())
    with pytest.raises(ParseError) as info:
        parse_feed(b"#kvfeed\nitem: story-guid-0001 | /a | A title | text\n", base_url="https://kv.example/feed")
    assert info.value.kind == "not_a_feed"
    assert info.value.message == "the response contains no XML element; it is not an RSS/Atom feed"
    with pytest.raises(ParseError):  # its markup makes it XML-ish: feedparser's catch-all refuses it
        parse_feed(KV_BODY, base_url="https://kv.example/feed")


def test_a_sure_format_beats_the_xml_catch_all() -> None:
    body = b"<?xml version='1.0'?><urlset><url><loc>https://e.org/a</loc></url></urlset>"
    assert pick(Sniff(body, base_url="https://e.org/", content_type=None)) is SYNDICATION
    register(FakeSitemap())
    try:
        feed = parse_feed(body, base_url="https://e.org/sitemap.xml")
        assert [a.title for a in feed.articles] == ["A page"]
        # RSS still goes to RSS: the sitemap format is not sure of it.
        rss = b'<rss version="2.0"><channel><title>t</title><item><title>x</title></item></channel></rss>'
        assert pick(Sniff(rss, base_url="https://e.org/", content_type=None)) is SYNDICATION
    finally:
        unregister("fake-sitemap")


def test_registry_refuses_a_second_format_of_the_same_name() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(SYNDICATION)
    assert registered() == BUILT_IN
