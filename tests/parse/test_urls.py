"""canonical_url: one spelling per article link."""

from __future__ import annotations

import itertools

import pytest

from monitor.parse import canonical_url, urls


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTPS://WWW.Example.COM/Path/A", None, "https://www.example.com/Path/A"),
        ("http://example.com:80/a", None, "http://example.com/a"),
        ("https://example.com:443/a", None, "https://example.com/a"),
        ("https://example.com:8443/a", None, "https://example.com:8443/a"),
        ("https://example.com", None, "https://example.com/"),
        ("https://example.com/a#section-2", None, "https://example.com/a"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&UTM_Campaign=x",
            None,
            "https://example.com/a",
        ),
        ("https://example.com/a?id=7&utm_source=rss&page=2", None, "https://example.com/a?id=7&page=2"),
        ("https://example.com/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4", None, "https://example.com/a"),
        ("https://example.com/a?b=1&a=2", None, "https://example.com/a?b=1&a=2"),  # order kept: it may matter
        (
            "https://example.com/a?q=%C3%BC+x",
            None,
            "https://example.com/a?q=%C3%BC+x",
        ),  # untouched when clean
        ("/news/1?utm_source=x", "https://Example.com/feed/", "https://example.com/news/1"),
        ("2", "https://example.com/news/1", "https://example.com/news/2"),
        ("//cdn.example.com/x", "https://example.com/", "https://cdn.example.com/x"),
        ("  https://example.com/a  ", None, "https://example.com/a"),
        ("http://[::1]:8080/x", None, "http://[::1]:8080/x"),
        ("https://example.com./a", None, "https://example.com/a"),
        ("mailto:news@example.com", None, "mailto:news@example.com"),
        ("", "https://example.com/", ""),
        ("http://example.com:notaport/x", None, "http://example.com:notaport/x"),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTP://Example.com:80/a?utm_term=x&k=v#f")
    assert canonical_url(once) == once == "http://example.com/a?k=v"


# URLs built from pieces that sit on both sides of the as-written shortcut's edges: case, ports,
# user info, trailing dots, empty paths and queries, ';', '#', brackets, spaces, controls, non-ASCII.
# Every combination of pieces on both sides of the as-written shortcut's edges (urls.py): case,
# ports, user info, trailing dots, empty paths and queries, ';', '#', brackets, spaces, controls,
# non-ASCII, dot segments, tracking parameters, over-long links.
_SCHEMES = ("http://", "https://", "HTTP://", "", "//", "javascript:")
_HOSTS = ("a0-b.example", "Ab.example", "a.example.", "[::1]", "u@h", "\u00e9.fr", "", "a.example:80", "a:x")
_PATHS = ("", "/", "/a/b", "/a;p", "//a", "/%2F", "/a:b@c", "/\u00e9 b\t", "/a/../b", "/" + "x" * 5000)
_SUFFIXES = ("", "?", "?x=1", "#f", "?utm_source=a", " ")
_BASES = (None, "http://feeds.example/rss", "examples/f.xml", "http://[bad")


def test_the_as_written_shortcut_changes_no_result() -> None:
    taken = 0
    for base in _BASES:
        for url in map("".join, itertools.product(_SCHEMES, _HOSTS, _PATHS, _SUFFIXES)):
            slow = urls._canonical_url(url, base)
            assert canonical_url(url, base) == slow, (url, base)
            assert urls.article_link(url, base) == (slow if urls.http_link(slow) == slow and slow else ""), (url, base)
            taken += bool(urls._CANONICAL_AS_WRITTEN.match(url))
    assert taken > 50  # the shortcut is really exercised, not only the slow path
