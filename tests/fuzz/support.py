"""Shared pieces of the fuzz tests: hypothesis settings, seed corpus, invariant checks.

Short bounded runs by default (derandomized, no example database: reproducible in CI). Set
MONITOR_FUZZ_EXAMPLES=N to run every fuzz test with N examples and a random seed (the long run; see
tests/fuzz/README.md).
"""

from __future__ import annotations

import os
import re
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

from tests.support.corpora import FEEDPARSER_TESTS

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("MONITOR_FUZZ_CORPUS", str(FEEDPARSER_TESTS)))
LONG_EXAMPLES = int(os.environ.get("MONITOR_FUZZ_EXAMPLES", "0") or 0)
# pytest-timeout per fuzz test: the bounded run takes seconds; the long run is bounded by its examples.
TEST_TIMEOUT = 240 if LONG_EXAMPLES <= 0 else 6 * 3600
# The memory cap of one parse, counted by tracemalloc (Python allocations: feedparser, html.parser,
# our code); a fixed allowance plus a multiple of the input, so billion-laughs shapes are caught.
MEMORY_BASE = 64 * 1024 * 1024
MEMORY_PER_BYTE = 64

F = TypeVar("F", bound=Callable[..., Any])


def fuzz_settings(examples: int) -> Callable[[F], F]:
    """Hypothesis settings for one fuzz test: `examples` in the normal suite, MONITOR_FUZZ_EXAMPLES when set."""
    long_run = LONG_EXAMPLES > 0
    return settings(
        max_examples=LONG_EXAMPLES if long_run else examples,
        deadline=timedelta(seconds=30),  # a hang guard only; pytest-timeout bounds the whole test
        derandomize=not long_run,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )


def seed_files() -> list[Path]:
    """Every file of the feedparser test corpus (read in place), or [] when it is absent."""
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".rdf", ".atom", ".html"))


def local_seeds() -> list[Path]:
    """Feeds and pages shipped with the project: always present."""
    files = sorted((ROOT / "examples").glob("*")) + sorted((ROOT / "tests" / "parse" / "fixtures").glob("*"))
    return [p for p in files if p.is_file()]


@contextmanager
def memory_cap(input_size: int) -> Iterator[None]:
    """Fail when the block's traced peak exceeds the cap for an input of `input_size` bytes."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cap = MEMORY_BASE + MEMORY_PER_BYTE * input_size
    assert peak <= cap, f"parse peaked at {peak / 2**20:.1f} MiB (cap {cap / 2**20:.1f} MiB) on {input_size} bytes"


# ------------------------------------------------------------------ sanitised HTML invariants

_URL_ATTRS = {"href", "src", "cite", "action", "formaction", "xlink:href", "data", "background", "poster",
              "srcset", "longdesc", "usemap", "dynsrc", "lowsrc"}
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_EVENT_ATTR = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
_FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "svg", "math", "base", "meta", "link", "form",
                   "frame", "frameset", "applet", "template", "noscript", "input", "button", "textarea"}


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> survived")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event attribute {name}= on <{tag}>")
            if name == "style":
                self.problems.append(f"style= on <{tag}>")
            if name in _URL_ATTRS and value is not None:
                squashed = _CONTROL.sub("", value).lower()
                if squashed.startswith(_BAD_SCHEMES):
                    self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def html_problems(fragment: str) -> list[str]:
    """What makes a sanitised HTML fragment unsafe: script, event handlers, javascript: URLs..."""
    problems = []
    if "<script" in fragment.lower():
        problems.append("'<script' in the text")
    if _EVENT_ATTR.search(fragment):
        problems.append("an on*= attribute in a tag")
    audit = _Audit()
    audit.feed(fragment)
    audit.close()
    return problems + audit.problems


TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")


_ESCAPED_LT = re.compile(rb"&lt|&#|&amp|cdata|%3c", re.IGNORECASE)


def markup_only_as_markup(body: bytes) -> bool:
    """True when `body` cannot spell a literal '<' in text (no &lt;, &#..;, &amp;, CDATA): then a title
    holding something tag-shaped can only be markup that was not stripped."""
    return not _ESCAPED_LT.search(body.replace(b"\x00", b""))


def check_article(article: Any, *, plain_title: bool = True) -> None:
    """The invariants of every Article, from a feed or a page; `plain_title`: the title must hold no tag."""
    for name in ("summary_html", "content_html"):
        value = getattr(article, name)
        assert isinstance(value, str)
        problems = html_problems(value)
        assert not problems, f"{name} unsafe: {problems}: {value[:500]!r}"
    assert isinstance(article.title, str)
    if plain_title:
        assert not TAG.search(article.title), f"title contains a tag: {article.title[:300]!r}"
    assert "\n" not in article.title
    assert isinstance(article.id, str) and re.fullmatch(r"[0-9a-f]{32}", article.id)
    assert article.published_at is None or article.published_at.tzinfo is not None
    assert article.language is None or re.fullmatch(r"[a-z]{2,3}", article.language)
