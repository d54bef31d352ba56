"""DOCTYPE/ENTITY neutralisation: entity-expansion bombs parse in bounded output size."""

from __future__ import annotations

import io

import feedparser

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
    assert prolog.body == b'<?xml version="1.0" encoding="iso-8859-1"?>\n<rss/>'
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
