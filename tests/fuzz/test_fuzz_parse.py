"""Fuzz bytes -> articles: parse_feed and parse_document end in a result or a ParseError, never another
exception, within the memory cap; every article obeys the sanitising invariants (see support.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.model import Article, ParsedFeed
from monitor.parse import parse_document, parse_feed
from tests.fuzz.strategies import BASE_URLS, CONTENT_TYPES, mutated, xml_feed
from tests.fuzz.support import (
    TAG,
    TEST_TIMEOUT,
    check_article,
    fuzz_settings,
    local_seeds,
    markup_only_as_markup,
    memory_cap,
    seed_files,
)

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

SEEDS = seed_files()
needs_corpus = pytest.mark.skipif(not SEEDS, reason="feedparser test corpus absent (set MONITOR_FUZZ_CORPUS)")


def feed_or_error(body: bytes, base_url: str = "https://example.org/feed/",
                  content_type: str | None = "application/xml") -> ParsedFeed | None:
    """parse_feed under the memory cap, checked: a ParsedFeed (invariants hold, deterministic) or None."""
    try:
        with memory_cap(len(body)):
            parsed = parse_feed(body, base_url=base_url, content_type=content_type)
    except ParseError as exc:
        assert exc.kind in ("not_a_feed", "parse_error"), exc.kind
        return None
    assert isinstance(parsed, ParsedFeed)
    assert isinstance(parsed.title, str) and isinstance(parsed.link, str)
    plain = markup_only_as_markup(body)
    if plain:
        assert not TAG.search(parsed.title), f"feed title contains a tag: {parsed.title[:300]!r}"
    for article in parsed.articles:
        check_article(article, plain_title=plain)
    again = parse_feed(body, base_url=base_url, content_type=content_type)
    assert [a.id for a in again.articles] == [a.id for a in parsed.articles], "ids differ between two parses"
    assert [a.content_hash for a in again.articles] == [a.content_hash for a in parsed.articles]
    return parsed


def document_or_error(body: bytes, url: str, content_type: str | None) -> Article | None:
    try:
        with memory_cap(len(body)):
            article = parse_document(body, url=url, content_type=content_type)
    except ParseError:
        return None
    assert isinstance(article, Article)
    # A plain-text page's first line is its title, '<' and all; an HTML page's title is text.
    media = (content_type or "").split(";", 1)[0].strip().lower()
    check_article(article, plain_title=media in ("text/html", "application/xhtml+xml") and markup_only_as_markup(body))
    assert parse_document(body, url=url, content_type=content_type).id == article.id
    return article


@fuzz_settings(150)
@given(st.binary(max_size=4096), BASE_URLS, CONTENT_TYPES)
def test_random_bytes(body: bytes, base_url: str, content_type: str | None) -> None:
    feed_or_error(body, base_url, content_type)


@fuzz_settings(150)
@given(st.binary(max_size=2048).map(lambda b: b"<rss><channel><item><title>" + b), CONTENT_TYPES)
def test_random_bytes_after_a_feed_start(body: bytes, content_type: str | None) -> None:
    feed_or_error(body, content_type=content_type)


@needs_corpus
@fuzz_settings(250)
@given(st.data(), BASE_URLS, CONTENT_TYPES)
def test_mutated_corpus(data: st.DataObject, base_url: str, content_type: str | None) -> None:
    body = data.draw(mutated(SEEDS))
    feed_or_error(body, base_url, content_type)


@fuzz_settings(40)
@given(st.data())
def test_mutated_project_feeds(data: st.DataObject) -> None:
    feed_or_error(data.draw(mutated(local_seeds())))


@fuzz_settings(100)
@given(xml_feed(), BASE_URLS)
def test_generated_xml(feed: tuple[bytes, str | None], base_url: str) -> None:
    body, content_type = feed
    parsed = feed_or_error(body, base_url, content_type)
    if parsed is not None:  # no external entity is ever resolved
        for article in parsed.articles:
            assert "root:x:0:0" not in article.content_text + article.summary_text + article.title


@fuzz_settings(150)
@given(st.binary(max_size=4096) | mutated(local_seeds()),
       st.sampled_from(["https://example.org/page", "", "relative/page", "http://[bad/"]), CONTENT_TYPES)
def test_parse_document(body: bytes, url: str, content_type: str | None) -> None:
    document_or_error(body, url, content_type)


@fuzz_settings(50)
@given(xml_feed())
def test_parse_document_on_generated_markup(feed: tuple[bytes, str | None]) -> None:
    body, content_type = feed
    document_or_error(body, "https://example.org/page", content_type or "text/html")
