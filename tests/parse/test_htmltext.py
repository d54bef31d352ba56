"""sanitize_html and html_to_text."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.text import html_to_text, htmltext, sanitize_html


def test_blocks_never_join_words() -> None:
    assert html_to_text("<p>Kalin</p><p>met</p>").split() == ["Kalin", "met"]
    assert html_to_text("<li>a</li><li>b</li>").split() == ["a", "b"]
    assert html_to_text("one<br>two<br/>three").split() == ["one", "two", "three"]
    assert html_to_text("<td>x</td><td>y</td>").split() == ["x", "y"]
    assert html_to_text("<b>Kal</b>in") == "Kalin"  # inline elements do not split a word


def test_entities_decoded_and_whitespace_normalised() -> None:
    assert (
        html_to_text("Netanyahu&#8217;s &amp; Bar&nbsp;&nbsp;met &lt;x&gt;")
        == "Netanyahu\u2019s & Bar met <x>"
    )
    assert html_to_text("  a \n\n\n b  ") == "a\nb"


def test_invisible_content_dropped() -> None:
    text = html_to_text("<style>p{}</style><p>seen</p><script>var x = 1;</script><noscript>n</noscript>")
    assert text == "seen"


def test_image_alt_text_kept() -> None:
    assert html_to_text('see <img src="x.png" alt="Ibrahim Kalin"> here').split() == [
        "see",
        "Ibrahim",
        "Kalin",
        "here",
    ]


@pytest.mark.parametrize(
    ("dirty", "forbidden"),
    [
        ("<script>alert(1)</script>ok", "alert"),
        ('<p onclick="x()">ok</p>', "onclick"),
        ('<a href="javascript:alert(1)">ok</a>', "javascript"),
        ('<a href="JaVaScRiPt:alert(1)">ok</a>', "alert"),
        ('<img src="data:image/png;base64,AAAA">', "data:"),
        ('<iframe src="https://evil.example/"></iframe>ok', "iframe"),
        ("<form action='/x'><input name=q></form>ok", "form"),
        ('<object data="x.swf"></object><embed src="x.swf">ok', "swf"),
        ("<style>body{display:none}</style>ok", "display"),
        ('<meta http-equiv="refresh" content="0;url=http://evil">ok', "refresh"),
        ('<div style="background:url(javascript:x)">ok</div>', "style"),
        ("<svg><script>alert(1)</script></svg>ok", "alert"),
    ],
)
def test_sanitize_removes(dirty: str, forbidden: str) -> None:
    assert forbidden not in sanitize_html(dirty).lower()


def test_sanitize_keeps_safe_subset() -> None:
    html = (
        "<h2>T</h2><p><em>e</em> <strong>s</strong> <code>c</code></p><ul><li>i</li></ul><ol><li>j</li></ol>"
        "<blockquote>q</blockquote><pre>p</pre><table><tr><td>d</td></tr></table>"
    )
    clean = sanitize_html(html)
    for tag in (
        "<h2>",
        "<em>",
        "<strong>",
        "<code>",
        "<ul>",
        "<ol>",
        "<li>",
        "<blockquote>",
        "<pre>",
        "<td>",
    ):
        assert tag in clean


def test_links_made_absolute_and_safe() -> None:
    clean = sanitize_html(
        '<a href="/x" target="_blank">l</a><img src="i.png" alt="a">', "https://e.org/news/"
    )
    assert clean == (
        '<a href="https://e.org/x" rel="noopener noreferrer nofollow">l</a>'
        '<img src="https://e.org/news/i.png" alt="a">'
    )


def test_empty_href_does_not_become_the_base() -> None:
    assert "href" not in sanitize_html('<a href="">x</a>', "https://e.org/")


# Pieces on both sides of the bare-markup shortcut's edges: block, inline, void, skipped and unknown
# tags, upper case, attributes, spaces and slashes in tags, entities, stray '<' and '>', CR/LF and
# the other line breaks, no-break and wide spaces, non-ASCII.
_HTML_PIECES = (
    "<p>", "</p>", "<br>", "</br>", "<b>", "</b>", "<div>", "<li>", "<title>", "</title>", "<script>",
    "</script>", "<img>", "<body>", "<head>", "<x1>", "<p/>", "<P>", "<p >", '<a href="x">', "</a>",
    "text", " two  words ", "\r\n", "\n\n", "\r", "\u2028", "\x0b", "\u00a0", "a&amp;b", "&", "x<y", ">",
    "\t", "\u00e9",
)  # fmt: skip


def test_bare_markup_is_reduced_as_html_parser_would() -> None:
    shortcut = 0
    samples = ["".join(parts) for parts in itertools.product(_HTML_PIECES[:24], repeat=3)]
    rng = random.Random(21)
    samples += ["".join(rng.choices(_HTML_PIECES, k=rng.randint(4, 12))) for _ in range(2000)]
    for html in samples:
        if "<" not in html and "&" not in html:
            continue  # text without markup or entities never reached html.parser
        assert html_to_text(html) == htmltext._parsed_text(html, frozenset()), repr(html)
        shortcut += htmltext._bare_markup_text(html) is not None
    assert shortcut > 1000  # the shortcut is really exercised, not only html.parser


_SANITIZED = [
    '<p>a <a href="/x">x</a> <img src="i.png" alt="i"> <a href=" ">e</a></p><script>s()</script>',
    '<a href="javascript:alert(1)">j</a><q cite="q">q</q><!-- c --><blockquote cite="//h/c">b</blockquote>',
    '<a href="http://[bad">v</a><table><tr><td colspan="2" onclick="x">t</td></tr></table>',
]


@pytest.mark.parametrize("html", _SANITIZED)
def test_the_cleaner_built_once_per_base_sanitises_as_nh3_clean_per_call(
    html: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alternating bases: a cleaner built for one base URL never resolves another's links.
    results = {base: sanitize_html(html, base) for base in ("http://a.example/f/", "https://b.example/", None, "")}
    assert [sanitize_html(html, base) for base in results] == list(results.values())
    assert 'href="http://a.example/x"' in sanitize_html('<a href="/x">x</a>', "http://a.example/f/")
    assert 'href="https://b.example/x"' in sanitize_html('<a href="/x">x</a>', "https://b.example/")
    htmltext._cleaner.cache_clear()
    monkeypatch.delattr(htmltext.nh3, "Cleaner")  # nh3 < 0.2.18: nh3.clean with the same options
    try:
        assert {base: sanitize_html(html, base) for base in results} == results
    finally:
        htmltext._cleaner.cache_clear()


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab. \t\f\v\r\u00a0\u200b\u3000\u2002\u202f\u205f\u2028é")), max_size=30))
def test_fold_spaces_is_the_regex_substitution(line: str) -> None:
    assert htmltext._fold_spaces(line) == htmltext._SPACES.sub(" ", line)
