"""DOCTYPE/ENTITY neutralisation: entity-expansion bombs parse in bounded output size."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap

import feedparser
import pytest

from monitor.model import ParsedFeed
from monitor.parse import parse_feed
from monitor.parse.prolog import neutralise_prolog

ITEM_TAIL = b"<link>http://e.org/1</link><description>ok</description></item></channel></rss>"


def quadratic_feed(entity_size: int, references: int) -> bytes:
    """One big internal entity referenced many times: the shape that made a 110 KB feed a 1 GB title."""
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * entity_size + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>Bomb</title><item><title>'
        + b"&a;" * references
        + b"</title>"
        + ITEM_TAIL
    )


def test_feedparser_alone_expands_the_entity() -> None:
    # The canary: proves the small bomb below really is a bomb for unprotected feedparser.
    result = feedparser.parse(io.BytesIO(quadratic_feed(1000, 1000)))
    assert len(result.entries[0].title) >= 1_000_000


def test_quadratic_entity_bomb_stays_small() -> None:
    body = quadratic_feed(50_000, 20_000)  # ~110 KB; 1 GB if expanded
    assert len(body) < 120_000
    feed = parse_feed(body, base_url="http://e.org/")
    (article,) = feed.articles
    assert len(article.title) <= len(body)
    assert "AAAA" not in article.title
    assert article.summary_text == "ok"


def test_billion_laughs_nested_entities() -> None:
    decls = b'<!ENTITY lol "lol">\n' + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, b"".join([b"&lol%d;" % (i - 1) if i > 1 else b"&lol;"] * 10))
        for i in range(1, 10)
    )
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + decls + b"]>\n"
        b'<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>' + ITEM_TAIL
    )
    feed = parse_feed(body, base_url="http://e.org/")
    assert len(feed.title) < 100 and len(feed.articles[0].title) < 100


def test_doctype_hidden_in_comment_or_pi_is_dropped() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!-- <!DOCTYPE rss [<!ENTITY a "' + b"B" * 5000 + b'">]> -->\n'
        b'<?pi <!ENTITY b "x"> ?>\n<rss version="2.0"><channel><title>t</title><item><title>'
        + b"&a;" * 500
        + b"</title>"
        + ITEM_TAIL
    )
    feed = parse_feed(body, base_url="http://e.org/")
    assert "BBBB" not in feed.articles[0].title


def test_external_entity_is_not_resolved(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file://' + str(secret).encode() + b'">]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>a &x; b</title>' + ITEM_TAIL
    )
    feed = parse_feed(body, base_url="http://e.org/")
    assert "TOP-SECRET" not in feed.articles[0].title


def test_prolog_scan_keeps_declaration_and_finds_root() -> None:
    body = b'<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE rss [<!ENTITY a "<b>x</b>">]>\n<rss/>'
    prolog = neutralise_prolog(body)
    assert prolog.root == "rss"
    # Decoded from ISO-8859-1 like feedparser does it: the scrubbed body is UTF-8 and says so.
    assert prolog.body == b"<?xml version='1.0' encoding='utf-8'?>\n<rss/>"
    assert neutralise_prolog(b"<!DOCTYPE html><html></html>").root == "html"
    assert neutralise_prolog(b"no markup").root is None
    assert neutralise_prolog(b'<rdf:RDF xmlns:rdf="x"/>').root == "rdf"


def test_doctype_after_the_root_element_is_not_expanded() -> None:
    body = (
        b'<rss version="2.0"><!DOCTYPE x [<!ENTITY a "' + b"A" * 1000 + b'">]><channel><title>t</title>'
        b"<item><title>" + b"&a;" * 1000 + b"</title>" + ITEM_TAIL
    )
    feed = parse_feed(body, base_url="http://e.org/")
    assert "AAAA" not in feed.articles[0].title


# Issue 13.1: the old neutraliser took the first '<' + name start character as the root, feedparser
# the first '<\w': a stray '<:x/>' (or '<_x>', or a non-ASCII one) before the DOCTYPE kept the
# declarations in what feedparser's loose parser read, and it expanded them.
STRAY_TAGS = (b"<:x/>", b"<_x>", b"<_:y/>", "<\u00e9/>".encode(), b"<:x/><!-- c --><?pi x?>")


def stray_tag_feed(stray: bytes, entity_size: int = 2000, references: int = 500, *, keyword: bytes = b"ENTITY") -> bytes:
    """The issue's reproducer shape: a stray tag, then a DOCTYPE whose entity the description references."""
    return (
        b'<?xml version="1.0"?>' + stray + b'\n<!DOCTYPE rss [\n<!' + keyword + b' a "' + b"A" * entity_size + b'">\n]>\n'
        b'<rss version="2.0"><channel><item><title>x</title><link>http://e.org/1</link><description>'
        + b"&a;" * references + b"</description></item></channel></rss>"
    )


def parsed_size(feed: ParsedFeed) -> int:
    """Characters of every text field of the feed and its articles (what would be stored)."""
    total = len(feed.title) + len(feed.link)
    for a in feed.articles:
        total += sum(len(v) for v in (a.url, a.title, a.summary_html, a.content_html, a.summary_text,
                                      a.content_text, a.author, a.guid or ""))
    return total


@pytest.mark.parametrize("stray", STRAY_TAGS, ids=lambda b: b.decode(errors="replace"))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be-served", "utf-32"])
def test_a_stray_tag_before_the_doctype_does_not_expand_entities(stray: bytes, encoding: str) -> None:
    body = stray_tag_feed(stray)  # 1 MB of text if the entity were expanded
    content_type = "application/xml"
    if encoding == "utf-16-be-served":
        # No BOM, no declaration of its own: only the served charset says UTF-16.
        body, content_type = body.decode().encode("utf-16-be"), "application/xml; charset=utf-16be"
    elif encoding != "utf-8":
        body = body.decode().replace('version="1.0"', f'version="1.0" encoding="{encoding}"').encode(encoding)
    feed = parse_feed(body, base_url="http://e.org/", content_type=content_type)
    assert parsed_size(feed) <= 4 * len(body)
    assert all("AAAA" not in a.summary_text for a in feed.articles)


def test_the_reproducer_of_the_issue_stays_small_in_a_memory_capped_process() -> None:
    # The exact body of issue 13.1 (a 90 KB feed that became a 600 MB article, 5.4 GB peak): run where
    # a regression fails with MemoryError, not by taking the machine's memory.
    code = textwrap.dedent('''
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024,) * 2)
        from monitor.parse import parse_feed
        body = (b'<?xml version="1.0"?><:x/>\\n<!DOCTYPE rss [\\n<!ENTITY a "' + b'A'*30000 + b'">\\n]>\\n'
                b'<rss version="2.0"><channel><item><title>x</title><link>http://e.org/1</link><description>'
                + b'&a;'*20000 + b'</description></item></channel></rss>')
        feed = parse_feed(body, base_url="http://e.org/")
        (article,) = feed.articles
        print(len(body), len(article.summary_text), article.summary_text.count("A"))
    ''')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    body_size, text_size, a_count = map(int, done.stdout.split())
    assert text_size <= body_size and a_count == 0


@pytest.mark.parametrize(
    "keyword", [b"ENTITY", b"entity", b"EnTiTy", b" ENTITY", b"\nENTITY", b"DOCTYPE x [<!ENTITY"]
)
def test_no_declaration_survives_scrubbing_in_any_case_or_place(keyword: bytes) -> None:
    decl = b"<!" + keyword + b' a "AAAA">'
    body = (
        b'<?xml version="1.0"?><:x/>' + decl + b'<rss version="2.0"><channel>' + decl + b"<item>"
        b'<title t="' + decl + b'">x</title><description><![CDATA[' + decl + b"]]></description>"
        b"<!-- " + decl + b" --><?pi " + decl + b" ?></item></channel></rss>"
    )
    scrubbed = neutralise_prolog(body).body
    assert not re.search(rb"<!\s*(doctype|entity)", scrubbed, re.IGNORECASE), scrubbed


def test_cdata_keeps_its_text_when_a_declaration_is_split_out() -> None:
    text = '<!DOCTYPE html><p>about <!ENTITY x "y"> in XML</p>'
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>x</title><link>http://e.org/1</link>'
        b"<description><![CDATA[" + text.encode() + b"]]></description></item></channel></rss>"
    )
    scrubbed = neutralise_prolog(body).body
    assert b"<!DOCTYPE" not in scrubbed
    # The parser reads the same characters as before the split (nh3 drops the declarations later).
    parsed = feedparser.parse(io.BytesIO(scrubbed), sanitize_html=False, resolve_relative_uris=False)
    assert parsed.entries[0].summary == text


def test_a_declaration_spelled_in_utf7_is_scrubbed_after_decoding() -> None:
    # feedparser decodes any codec a feed declares; the scrub runs on what it decodes to.
    decl = '<:x/>\n<!DOCTYPE rss [\n<!ENTITY a "' + "A" * 2000 + '">\n]>\n'
    body = (
        b'<?xml version="1.0" encoding="utf-7"?>' + decl.encode("utf-7")
        + b'<rss version="2.0"><channel><item><title>x</title><link>http://e.org/1</link><description>'
        + b"&a;" * 500 + b"</description></item></channel></rss>"
    )
    feed = parse_feed(body, base_url="http://e.org/")
    assert parsed_size(feed) <= 4 * len(body)
