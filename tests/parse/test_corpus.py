"""Every feed of feedparser's own test corpus parses without an unexpected exception and safely."""

from __future__ import annotations

import re

import pytest

from monitor.errors import ParseError
from monitor.parse import parse_feed
from tests.support.corpora import FEEDPARSER_TESTS

CORPUS = FEEDPARSER_TESTS
SANITIZE = CORPUS / "wellformed" / "sanitize"
BASE = "http://example.com/feed/"

# What must never reach an Article's HTML: executable or page-hijacking markup.
DANGEROUS = re.compile(
    r"<script|<form|<iframe|<object|<embed|<style|<meta[^>]*refresh|javascript:|\son[a-z]+\s*=",
    re.IGNORECASE,
)

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"feedparser test corpus not found at {CORPUS}")


@needs_corpus
def test_every_corpus_feed_parses_or_raises_parse_error() -> None:
    files = sorted(CORPUS.rglob("*.xml"))
    assert len(files) > 1000
    failures: list[str] = []
    parsed = 0
    for path in files:
        try:
            parse_feed(path.read_bytes(), base_url=BASE)
            parsed += 1
        except ParseError:
            pass
        except Exception as exc:  # noqa: BLE001 - collecting every failure is the point
            failures.append(f"{path.relative_to(CORPUS)}: {exc!r}")
    assert not failures, "\n".join(failures)
    assert parsed > len(files) * 0.9


@needs_corpus
def test_sanitize_corpus_leaves_nothing_dangerous() -> None:
    files = sorted(SANITIZE.glob("*.xml"))
    assert files, f"no sanitize fixtures under {SANITIZE}"
    failures: list[str] = []
    checked = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), base_url=BASE)
        except ParseError:
            continue
        for article in feed.articles:
            checked += 1
            for field in ("summary_html", "content_html"):
                value = getattr(article, field)
                if match := DANGEROUS.search(value):
                    failures.append(f"{path.name}: {field} contains {match.group(0)!r}: {value[:160]!r}")
            if "<script" in article.title.lower():
                failures.append(f"{path.name}: title contains <script: {article.title[:160]!r}")
    assert not failures, "\n".join(failures)
    assert checked > 100
