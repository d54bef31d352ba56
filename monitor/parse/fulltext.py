"""Full text (`full_text: true`): the main text of an entry's linked page, for feeds that only give a summary.

A deliberately simple extractor: the page's <article> (else <main>, else <body>) without page
furniture (nav, header, footer, aside, forms), through the same parse_document and nh3 sanitiser
as any other page. trafilatura would do better on cluttered pages but pulls in some fifteen
packages and did not import cleanly offline (see docs/feeds.md).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

from monitor.model import Article
from monitor.parse.document import _decode, parse_document

MIN_GAIN = 1.2
"""Use the page only when its text is at least this much longer than what the feed gave."""
MIN_CHARS = 200
"""A page text shorter than this is a paywall stub or an error page, not the article."""

_CONTAINERS = (
    re.compile(r"<article\b[^>]*>(.*)</article\s*>", re.IGNORECASE | re.DOTALL),
    re.compile(r"<main\b[^>]*>(.*)</main\s*>", re.IGNORECASE | re.DOTALL),
)


@dataclass(frozen=True, slots=True)
class PageText:
    """The main text of a page, as sanitised paragraphs and as plain text."""

    html: str
    text: str


def extract_main_text(body: bytes, *, url: str, content_type: str | None) -> PageText | None:
    """The page's main text, or None when the page has no usable text."""
    page = parse_document(body, url=url, content_type=content_type)
    decoded = _decode(body, content_type)
    for container in _CONTAINERS:
        # Greedy: from the first opening to the last closing tag, so nested articles stay inside.
        found = container.search(decoded)
        if found:
            inner = f"<html><body>{found.group(1)}</body></html>".encode()
            page = parse_document(inner, url=url, content_type="text/html; charset=utf-8")
            break
    text = page.content_text.strip()
    if len(text) < MIN_CHARS:
        return None
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
    return PageText(html=paragraphs, text=text)


def needs_full_text(article: Article) -> bool:
    """True when the entry links to a page and carries at most a summary."""
    return article.url.startswith(("http://", "https://")) and len(article.content_text) < MIN_CHARS * 5


def with_full_text(article: Article, page: PageText) -> Article:
    """The article with the page's text as its content, when that adds to what the feed gave."""
    if len(page.text) < len(article.body_text) * MIN_GAIN:
        return article
    # content_hash stays the feed's: a page that changes (ads, counters) must not re-match the entry.
    return replace(article, content_html=page.html, content_text=page.text)
