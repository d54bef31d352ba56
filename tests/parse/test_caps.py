"""Issue 13.1 and 13.4 at parse time: every stored text field is capped, and only http(s) links are kept."""

from __future__ import annotations

import pytest

from monitor.model import (
    AUTHOR_MAX_CHARS,
    GUID_MAX_CHARS,
    HTML_MAX_CHARS,
    TEXT_MAX_CHARS,
    TITLE_MAX_CHARS,
    URL_MAX_CHARS,
)
from monitor.parse import parse_feed


def rss_item(inner: bytes) -> bytes:
    return b'<rss version="2.0"><channel><title>t</title><item>' + inner + b"</item></channel></rss>"


def test_every_text_field_of_a_huge_entry_is_capped() -> None:
    words = b"word " * (TEXT_MAX_CHARS // 5 + 50_000)  # past the 1 MiB text cap
    body = rss_item(
        b"<title>" + b"T" * (TITLE_MAX_CHARS + 500) + b"</title>"
        b"<guid>urn:" + b"g" * (GUID_MAX_CHARS + 500) + b"</guid>"
        b"<author>" + b"a" * (AUTHOR_MAX_CHARS + 500) + b"</author>"
        b"<link>http://e.org/" + b"p" * URL_MAX_CHARS + b"</link>"
        b"<description><![CDATA[<p>" + words + b"</p>]]></description>"
        b"<content:encoded xmlns:content='http://purl.org/rss/1.0/modules/content/'><![CDATA[<b>"
        + b"<i>x</i>" * (HTML_MAX_CHARS // 8 + 1000) + b"</b>]]></content:encoded>"
    )
    (article,) = parse_feed(body, base_url="http://e.org/").articles
    assert len(article.title) == TITLE_MAX_CHARS
    assert article.guid is not None and len(article.guid) == GUID_MAX_CHARS
    assert len(article.author) == AUTHOR_MAX_CHARS
    assert article.url == ""  # a cut URL would point elsewhere: dropped
    assert len(article.summary_text) == TEXT_MAX_CHARS
    assert len(article.content_text) <= TEXT_MAX_CHARS
    assert len(article.summary_html) <= HTML_MAX_CHARS + 100
    # Cut inside the markup, then mended: the HTML still closes what it opens.
    assert len(article.content_html) <= HTML_MAX_CHARS + 100 and article.content_html.endswith("</b>")


def test_the_id_of_a_capped_entry_is_stable() -> None:
    body = rss_item(b"<guid>urn:" + b"g" * (GUID_MAX_CHARS + 500) + b"</guid><title>x</title>")
    first = parse_feed(body, base_url="http://e.org/").articles[0]
    other = parse_feed(body.replace(b"g</guid>", b"h</guid>"), base_url="http://e.org/").articles[0]
    assert first.guid == other.guid  # cut alike ...
    assert first.id != other.id  # ... but the id hashes the whole guid


@pytest.mark.parametrize(
    "link",
    [b"javascript:alert(1)", b" JavaScript:alert(1)", b"java&#9;script:alert(1)", b"data:text/html,&lt;b&gt;x",
     b"vbscript:x", b"mailto:a@e.org", b"file:///etc/passwd", b"http:no-host"],
)
def test_only_http_links_are_kept(link: bytes) -> None:
    body = rss_item(b"<title>x</title><link>" + link + b"</link><description>d</description>")
    (article,) = parse_feed(body, base_url="").articles
    assert article.url == ""
    # The id is not the link's: the same entry with no link at all gets the same one.
    (linkless,) = parse_feed(rss_item(b"<title>x</title><description>d</description>"), base_url="").articles
    assert article.id == linkless.id


def test_http_links_are_kept_and_relative_ones_resolved() -> None:
    body = rss_item(b"<title>x</title><link>/a?utm_source=x</link>")
    assert parse_feed(body, base_url="https://E.org/feed").articles[0].url == "https://e.org/a"
    body = rss_item(b"<title>x</title><link>HTTP://E.org/b</link>")
    assert parse_feed(body, base_url="").articles[0].url == "http://e.org/b"
