"""The fast path yields exactly feedparser's ParsedFeed wherever it does not decline, on either XML parser."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse import fastpath, parse_feed
from monitor.parse.fastpath_common import _AS_WRITTEN, _Walker
from monitor.parse.feedparser_internals import urljoin
from monitor.parse.formats import syndication
from monitor.parse.prolog import neutralise_prolog
from tests.support.corpora import FEEDPARSER_TESTS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = ROOT / "examples"
BASES = ("http://example.com/feed/", "examples/levant-wire.xml", "")
CONTENT_TYPES = (None, "text/xml", "application/rss+xml; charset=iso-8859-1")
BACKENDS = ("expat", "lxml")

sys.path.insert(0, str(ROOT / "benchmarks"))
from ingest_bench import _feed as ingest_feed  # noqa: E402
from workers_bench import make_feed  # noqa: E402


def _parse(
    body: bytes, *, fast: bool, base_url: str, content_type: str | None, backend: str = "expat"
) -> ParsedFeed | tuple[str, str]:
    saved = syndication.USE_FASTPATH, fastpath.XML_BACKEND
    syndication.USE_FASTPATH, fastpath.XML_BACKEND = fast, backend
    try:
        return parse_feed(body, base_url=base_url, content_type=content_type)
    except ParseError as exc:
        return (exc.kind, exc.message)
    finally:
        syndication.USE_FASTPATH, fastpath.XML_BACKEND = saved


def _accepted(
    body: bytes, base_url: str = BASES[0], content_type: str | None = None, backend: str = "expat"
) -> bool:
    prolog = neutralise_prolog(body, base_url=base_url, content_type=content_type)
    if prolog.root not in ("rss", "feed"):
        return False
    saved = fastpath.XML_BACKEND
    fastpath.XML_BACKEND = backend
    try:
        return fastpath.extract(prolog.body, base_url=base_url) is not None
    finally:
        fastpath.XML_BACKEND = saved


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
    accepted = dict.fromkeys(BACKENDS, 0)
    mismatches: list[str] = []
    for name, body in _documents():
        backends = [backend for backend in BACKENDS if _accepted(body, backend=backend)]
        for backend in backends:
            accepted[backend] += 1
        for base_url in BASES if backends else ():
            for content_type in CONTENT_TYPES:
                reference = _parse(body, fast=False, base_url=base_url, content_type=content_type)
                for backend in backends:
                    fast = _parse(body, fast=True, base_url=base_url, content_type=content_type, backend=backend)
                    if fast != reference:
                        mismatches.append(f"{name} {backend} base={base_url!r} type={content_type!r}")
    assert not mismatches, "\n".join(mismatches[:40])
    # 645 of 2,116 documents on both parsers when written; a drop means a shape stopped being recognised.
    assert accepted["expat"] >= 600 and accepted["lxml"] >= 600, accepted


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
        # An unknown namespace declared below the root, unused.
        b'<rss version="2.0"><channel><item xmlns:x="http://x.example/"><title>t</title></item></channel></rss>',
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_path_declines_what_it_does_not_fully_understand(body: bytes, backend: str) -> None:
    assert not _accepted(body, backend=backend)


def _billion_laughs() -> bytes:
    entities = b"".join(
        b'<!ENTITY l%d "%s">' % (i, (b"&l%d;" % (i - 1)) * 10 if i else b"lol") for i in range(10)
    )
    return b"<!DOCTYPE r [" + entities + b']><rss version="2.0"><channel><title>&l9;</title></channel></rss>'


@pytest.mark.parametrize(
    "body",
    [
        _billion_laughs(),
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><title>&x;'
        b"</title></channel></rss>",
        b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><rss version="2.0"><channel><title>t</title></channel></rss>',
        b'<rss version="2.0"><channel>' + b"<item>" * 5000 + b"</item>" * 5000 + b"</channel></rss>",
    ],
    ids=["billion-laughs", "external-entity", "external-dtd", "deep-nesting"],
)
def test_lxml_never_expands_fetches_or_accepts_hostile_documents(body: bytes) -> None:
    # Straight to the parser, without the prolog scrubber in front: libxml2 itself refuses or keeps
    # the reference unexpanded (an entity node, which the walks decline as markup inside text).
    tree = fastpath._lxml_tree(body)
    if tree is not None:
        assert all(len(element.text or "") < 10 for element in tree[0].iter())
    assert fastpath.extract(body, base_url=BASES[0]) is None
    # Through parse_feed the prolog scrubber drops the DOCTYPE first; nothing is ever expanded.
    parsed = _parse(body, fast=True, base_url=BASES[0], content_type=None, backend="lxml")
    assert not isinstance(parsed, ParsedFeed) or len(parsed.title) < 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_path_matches_feedparser_on_tricky_but_accepted_details(backend: str) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom"><channel><title> T\u00c3\u00a9st </title>'
        '<atom:link rel="self" href="/self.xml"/><link>/home?a=1&amp;b=2</link><managingEditor>ed@x.example (Ed)'
        "</managingEditor><ttl> 45 </ttl><item><guid>rel/guid-as-link</guid><title>\u0093quoted\u0094</title>"
        "<dc:date>2024-11-19T08:00:00+03:00</dc:date><description>plain &amp; simple</description></item>"
        '<item><guid isPermaLink="false">keep-me-as-is-123</guid><link>http://e.example/x?utm_source=a&amp;amp;k=1'
        "</link><author>a@b.example (A B)</author><pubDate>Tue, 19 Nov 2024 08:00:00 +0300</pubDate></item>"
        '</channel><!-- a comment --></rss>'
    ).encode("utf-8")
    # A namespace declared below the root, as well as on it.
    body = body.replace(b"<item>", b'<item xmlns:slash="http://purl.org/rss/1.0/modules/slash/">', 1)
    assert _accepted(body, backend=backend)
    for base_url in BASES:
        reference = _parse(body, fast=False, base_url=base_url, content_type=None)
        assert _parse(body, fast=True, base_url=base_url, content_type=None, backend=backend) == reference


# Every combination of pieces on both sides of the as-written shortcut's edges (fastpath_common.py):
# case, ports, user info, trailing dots, empty paths, parameters and queries, '#', brackets, spaces,
# controls, non-ASCII, dot segments.
_SCHEMES = ("http://", "https://", "HTTP://", "http:///", "", "//", "urn:", "urn://")
_HOSTS = ("a0-b.example", "Ab.example.", "[::1]", "[x", "u@h", "\u00e9.fr", "", "a.example:80", "a:x")
_PATHS = ("", "/", "/a/b", "/a;p", "/a;", "//a", "/%2F", "/a:b@c", "/\u00e9 b\t", "/a/../b")
_SUFFIXES = ("", "?", "?x=1;y", "#", "?x#f", "??", " ")
_JOIN_BASES = ("", "http://e.example/feed/", "examples/f.xml", "http://[x")


def test_uris_taken_as_written_are_what_feedparser_joins_them_to() -> None:
    taken = 0
    for base in _JOIN_BASES:
        walker = _Walker(base)
        for uri in map("".join, itertools.product(_SCHEMES, _HOSTS, _PATHS, _SUFFIXES)):
            assert walker.resolve(uri) == urljoin(base, uri), (base, uri)
            taken += bool(_AS_WRITTEN.match(uri))
    assert taken > 1000  # the shortcut is really exercised, not only the slow join
