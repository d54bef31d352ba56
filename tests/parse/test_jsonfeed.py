"""JSON Feed 1.0 and 1.1 through parse_feed: the fixture set under fixtures/jsonfeed/ (valid, invalid, hostile)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.model import TEXT_MAX_CHARS, TITLE_MAX_CHARS, ParsedFeed
from monitor.parse import parse_feed
from monitor.parse.formats import Confidence, Sniff, pick
from monitor.parse.formats.jsonfeed import JSON_FEED, MAX_JSON_DEPTH, _json_depth

FIXTURES = Path(__file__).parent / "fixtures" / "jsonfeed"
BASE = "https://levant.example/feed.json"


def load(name: str, content_type: str | None = "application/feed+json") -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), base_url=BASE, content_type=content_type)


def parse_error(body: bytes, content_type: str | None = "application/feed+json") -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_feed(body, base_url=BASE, content_type=content_type)
    return info.value


def test_valid_1_1_feed_and_items() -> None:
    feed = load("valid-1.1.json")
    assert feed.format == "json"
    assert feed.title == "Levant Wire JSON"
    assert feed.link == "https://levant.example/"
    assert feed.language == "en"
    first, second = feed.articles
    assert first.guid == "https://levant.example/2024/11/qatar-mediation"
    assert first.url == "https://levant.example/2024/11/qatar-mediation"  # resolved, utm_* dropped
    assert first.title == "Qatar keeps Gaza mediation on hold"
    assert first.content_text == "Qatar has paused its mediation between Israel and Hamas, officials said on Saturday."
    assert "<script" not in first.content_html and "onerror" not in first.content_html
    assert first.summary_text == "Doha says talks are paused."
    assert first.published_at == datetime(2024, 11, 9, 16, 30, tzinfo=UTC)  # date_published, in UTC
    assert first.author == "Rana Haddad, Omar Saleh"
    assert first.language == "en"  # the feed's
    # external_url when there is no url; date_modified when no date_published; the item's own language.
    assert second.url == "https://elsewhere.example/report"
    assert second.published_at == datetime(2024, 11, 11, 9, 15, tzinfo=UTC)
    assert second.language == "de"
    assert second.content_text == "Die Regierung hat am Dienstag neue Maßnahmen beschlossen.\nZweite Zeile."
    assert second.content_html.startswith("Die Regierung") and "<br>" in second.content_html
    assert second.author == "Levant Desk"  # the feed's authors


def test_valid_1_0_feed_with_numeric_id_and_single_author() -> None:
    feed = load("valid-1.0.json", content_type="application/json")
    assert feed.format == "json" and feed.title == "Gulf Observer"
    first, second = feed.articles
    assert first.guid == "20241109"  # coerced to a string, as the spec asks
    assert first.author == "Gulf Observer Staff"
    assert first.language == "en"  # detected: the 1.0 feed declares none
    assert first.published_at == datetime(2024, 11, 10, 7, 0, tzinfo=UTC)
    assert second.author == "Layla Nasser" and second.published_at is None
    assert second.content_text == "Markets were steady on Monday."


@pytest.mark.parametrize("content_type", ["application/feed+json", "application/json", "text/plain", None])
def test_detection_by_type_or_by_body(content_type: str | None) -> None:
    body = (FIXTURES / "valid-1.1.json").read_bytes()
    sniff = Sniff(body, base_url=BASE, content_type=content_type)
    assert JSON_FEED.detect(sniff) == Confidence.SURE
    assert pick(sniff) is JSON_FEED


def test_escaped_slashes_in_the_version_are_detected() -> None:
    body = b'{"version": "https:\\/\\/jsonfeed.org\\/version\\/1.1", "items": []}'
    assert JSON_FEED.detect(Sniff(body, base_url=BASE, content_type="text/plain")) == Confidence.SURE
    assert parse_feed(body, base_url=BASE).articles == ()


def test_rss_is_not_taken_for_json() -> None:
    rss = b'<rss version="2.0"><channel><title>t</title><item><title>x</title></item></channel></rss>'
    assert JSON_FEED.detect(Sniff(rss, base_url=BASE, content_type="application/json")) == Confidence.NO
    assert parse_feed(rss, base_url=BASE).format == "rss"
    # Mislabelled: the served type alone does not make RSS a JSON Feed.
    assert parse_feed(rss, base_url=BASE, content_type="application/feed+json").format == "rss"


def test_truncated_json_is_a_parse_error() -> None:
    error = parse_error((FIXTURES / "invalid-truncated.json").read_bytes())
    assert error.kind == "parse_error" and "not valid JSON" in error.message


def test_items_not_an_array_is_a_parse_error() -> None:
    error = parse_error((FIXTURES / "invalid-no-items.json").read_bytes())
    assert error.kind == "parse_error" and '"items"' in error.message


def test_other_json_is_not_a_feed_with_a_clear_message() -> None:
    error = parse_error((FIXTURES / "invalid-not-jsonfeed.json").read_bytes(), content_type="application/json")
    assert error.kind == "not_a_feed" and "JSON Feed version" in error.message
    top_level_array = parse_error(b'[{"version": "https://jsonfeed.org/version/1.1"}]', content_type="application/json")
    assert top_level_array.kind == "not_a_feed"


def test_deep_nesting_is_refused_before_decoding() -> None:
    error = parse_error((FIXTURES / "hostile-deep.json").read_bytes())
    assert error.kind == "parse_error" and f"deeper than {MAX_JSON_DEPTH}" in error.message


def test_depth_ignores_brackets_inside_strings() -> None:
    assert _json_depth(b'{"a": "[[[[[[{{{{\\"[[[", "b": [1, [2]]}') == 3
    many = b'{"version": "https://jsonfeed.org/version/1.1", "items": [' + b",".join(
        b'{"id": "id-%d", "title": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}' % i
        for i in range(200)
    ) + b"]}"
    assert len(parse_feed(many, base_url=BASE).articles) == 200


def test_unterminated_deep_nesting_is_refused_too() -> None:
    error = parse_error(b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 500_000)
    assert error.kind == "parse_error" and "deeper than" in error.message


def test_huge_strings_are_capped_like_every_format() -> None:
    body = json.dumps({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "T" * (TITLE_MAX_CHARS * 10),
        "items": [{"id": "huge-item-0001", "title": "x" * 100_000, "content_text": "word " * 400_000}],
    }).encode()
    feed = parse_feed(body, base_url=BASE)
    assert len(feed.title) == TITLE_MAX_CHARS
    (article,) = feed.articles
    assert len(article.title) == TITLE_MAX_CHARS
    assert len(article.content_text) <= TEXT_MAX_CHARS


def test_wrong_types_count_as_absent() -> None:
    feed = load("hostile-wrong-types.json")
    assert feed.title == "" and feed.link == "" and feed.language is None
    usable, bad_link = feed.articles  # the string, number and null items are skipped
    assert usable.guid is None and usable.url == "" and usable.title == ""
    assert usable.content_text == "Only this text is usable in the whole item, and it is plain."
    assert usable.published_at is None  # "yesterday" is no RFC 3339 date
    assert usable.author == "Real Name"
    assert bad_link.url == ""  # javascript: links are never kept
    assert bad_link.summary_html == "&lt;b&gt;not html&lt;/b&gt;"  # summary is plain text in JSON Feed


def test_script_injection_is_sanitised() -> None:
    feed = load("hostile-script.json")
    assert feed.title == "Injectionalert(1)" or "<script" not in feed.title
    (article,) = feed.articles
    assert article.title == "Headline"
    html = article.content_html
    for bad in ("<script", "onclick", "<iframe", "javascript:", "<style", "document.cookie"):
        assert bad not in html
    assert "Text" in article.content_text and "document.cookie" not in article.content_text


def test_an_unterminated_string_of_escaped_quotes_is_scanned_in_linear_time() -> None:
    # Each '"' could start a string that never ends: a scan that retried from each would never finish.
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": [], "x": "' + b'\\"' * 2_000_000
    started = time.perf_counter()
    error = parse_error(body)
    assert error.kind == "parse_error" and "not valid JSON" in error.message
    assert time.perf_counter() - started < 10
