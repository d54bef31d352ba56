"""The ElementTree fast path yields exactly feedparser's ParsedFeed wherever it does not decline."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse import parse_feed
from monitor.parse.fastpath import extract
from monitor.parse.formats import syndication
from monitor.parse.prolog import neutralise_prolog
from tests.support.corpora import FEEDPARSER_TESTS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = ROOT / "examples"
BASES = ("http://example.com/feed/", "examples/levant-wire.xml", "")
CONTENT_TYPES = (None, "text/xml", "application/rss+xml; charset=iso-8859-1")

sys.path.insert(0, str(ROOT / "benchmarks"))
from ingest_bench import _feed as ingest_feed  # noqa: E402
from workers_bench import make_feed  # noqa: E402


def _parse(
    body: bytes, *, fast: bool, base_url: str, content_type: str | None
) -> ParsedFeed | tuple[str, str]:
    saved = syndication.USE_FASTPATH
    syndication.USE_FASTPATH = fast
    try:
        return parse_feed(body, base_url=base_url, content_type=content_type)
    except ParseError as exc:
        return (exc.kind, exc.message)
    finally:
        syndication.USE_FASTPATH = saved


def _accepted(body: bytes, base_url: str = BASES[0], content_type: str | None = None) -> bool:
    prolog = neutralise_prolog(body, base_url=base_url, content_type=content_type)
    if prolog.root not in ("rss", "feed"):
        return False
    return extract(prolog.body, base_url=base_url) is not None


def _documents() -> Iterator[tuple[str, bytes]]:
    if FEEDPARSER_TESTS.is_dir():
        for path in sorted(FEEDPARSER_TESTS.rglob("*.xml")):
            yield str(path.relative_to(FEEDPARSER_TESTS)), path.read_bytes()
    for directory in (EXAMPLES, FIXTURES):
        for path in sorted(directory.iterdir()):
            if path.is_file():  # fixtures/jsonfeed/ and the like hold other formats' sets
                yield path.name, path.read_bytes()
    yield "workers_bench.make_feed", make_feed(7)
    yield "ingest_bench._feed", ingest_feed(20)


@pytest.mark.skipif(
    not FEEDPARSER_TESTS.is_dir(), reason=f"feedparser test corpus not found at {FEEDPARSER_TESTS}"
)
def test_fast_path_equals_feedparser_wherever_it_accepts() -> None:
    accepted = 0
    mismatches: list[str] = []
    for name, body in _documents():
        if not _accepted(body):
            continue
        accepted += 1
        for base_url in BASES:
            for content_type in CONTENT_TYPES:
                reference = _parse(body, fast=False, base_url=base_url, content_type=content_type)
                fast = _parse(body, fast=True, base_url=base_url, content_type=content_type)
                if fast != reference:
                    mismatches.append(f"{name} base={base_url!r} type={content_type!r}")
    assert not mismatches, "\n".join(mismatches[:40])
    # 645 of 2,114 documents when written; a drop means a shape stopped being recognised.
    assert accepted >= 600


@pytest.mark.parametrize("name", ["anatolia-haber.xml", "gulf-observer.atom", "levant-wire.xml"])
def test_fast_path_taken_for_the_sample_feeds(name: str) -> None:
    assert _accepted((EXAMPLES / name).read_bytes())


def test_fast_path_taken_for_the_benchmark_feeds() -> None:
    assert all(_accepted(make_feed(n)) for n in range(3))
    assert all(_accepted(ingest_feed(n)) for n in range(3))
    assert _accepted(make_feed(1), content_type="application/rss+xml")


@pytest.mark.parametrize(
    "body",
    [
        # Not well-formed: feedparser's loose parser decides (and flags bozo).
        b'<rss version="2.0"><channel><title>t</title><item><title>a &nbsp; b</title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>x</title></channel></rss>',
        # xml:base, RSS 1.0, unknown item element, unknown namespace, repeated fields, xhtml content.
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a/"><entry><id>x</id></entry></feed>',
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"/>',
        b'<rss version="2.0"><channel><item><source url="http://s/">S</source></item></channel></rss>',
        b'<rss version="2.0" xmlns:x="http://x.example/"><channel><item><x:y>1</x:y></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>a</title><title>b</title></item></channel></rss>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml"><div/></content></entry></feed>',
        b'<rss version="0.91"><channel><item><title>old</title></item></channel></rss>',
        # A DOCTYPE after the root element is never expanded, never accepted.
        b'<rss version="2.0"><!DOCTYPE x [<!ENTITY a "A">]><channel><item><title>&a;</title></item></channel></rss>',
    ],
)
def test_fast_path_declines_what_it_does_not_fully_understand(body: bytes) -> None:
    assert not _accepted(body)


def test_fast_path_matches_feedparser_on_tricky_but_accepted_details() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom"><channel><title> T\u00c3\u00a9st </title>'
        '<atom:link rel="self" href="/self.xml"/><link>/home?a=1&amp;b=2</link><managingEditor>ed@x.example (Ed)'
        "</managingEditor><ttl> 45 </ttl><item><guid>rel/guid-as-link</guid><title>\u0093quoted\u0094</title>"
        "<dc:date>2024-11-19T08:00:00+03:00</dc:date><description>plain &amp; simple</description></item>"
        '<item><guid isPermaLink="false">keep-me-as-is-123</guid><link>http://e.example/x?utm_source=a&amp;amp;k=1'
        "</link><author>a@b.example (A B)</author><pubDate>Tue, 19 Nov 2024 08:00:00 +0300</pubDate></item>"
        "</channel></rss>"
    ).encode("utf-8")
    assert _accepted(body)
    for base_url in BASES:
        reference = _parse(body, fast=False, base_url=base_url, content_type=None)
        assert _parse(body, fast=True, base_url=base_url, content_type=None) == reference
