"""A sitemap feed's refresh step: follow a sitemap index to its children, then fetch the new URLs' pages.

The sitemap format (monitor/parse/formats/sitemap.py) parses a `<urlset>` into entries with a URL,
and a title, date and language where the news sitemap gives them, but no text; a `<sitemapindex>`
into its child sitemaps. Here, between parse and store (the poller calls it, as it calls full text):

1. an index's children are fetched and parsed, breadth first, at most MAX_CHILD_SITEMAPS per poll
   and MAX_INDEX_DEPTH levels below the feed, each URL once (an index that lists itself or its
   parent ends there);
2. of all URLs, those on another host than the sitemap's are dropped (the sitemaps protocol's own
   rule), then the MAX_SITEMAP_URLS newest are kept, and those already stored are dropped (a
   sitemap says nothing new about them; re-storing them without text would blank them);
3. the newest MAX_SITEMAP_PAGES new URLs have their page fetched, if the host's robots.txt allows
   (monitor/fetch/robots.py), with the same Fetcher as the feed (deadline, size cap, redirects,
   address policy, per-host concurrency); the page's main text (monitor/parse/fulltext.py) becomes
   the article's content, and the page fills what the sitemap did not give (title, date, language,
   author, description). A page that fails or is disallowed keeps the sitemap's fields when they
   have a title, and is dropped otherwise. New URLs beyond MAX_SITEMAP_PAGES wait for a later poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from monitor.errors import FetchError, ParseError
from monitor.fetch import Fetcher
from monitor.fetch.robots import RobotsCache
from monitor.model import Article, ParsedFeed
from monitor.parse import parse_feed
from monitor.parse.build import content_fingerprint
from monitor.parse.document import parse_document
from monitor.parse.formats.sitemap import INDEX_FORMAT, MAX_SITEMAP_URLS, SITEMAP_FORMAT
from monitor.parse.fulltext import PageText, extract_main_text
from monitor.parse.language import detect_language
from monitor.refresh.parse_pool import Prepared
from monitor.store.articles import stored_content_hashes
from monitor.store.db import Database

__all__ = ["MAX_CHILD_SITEMAPS", "MAX_INDEX_DEPTH", "MAX_SITEMAP_PAGES", "SITEMAP_KINDS", "expand_sitemap"]

log = logging.getLogger("monitor.pipeline")

MAX_INDEX_DEPTH = 2
"""Levels of sitemap indexes followed below the feed's own document (index -> index -> urlset)."""
MAX_CHILD_SITEMAPS = 50
"""Child sitemaps fetched per poll at most, over all levels (the newest by lastmod first)."""
MAX_SITEMAP_PAGES = 25
"""Article pages fetched per sitemap poll at most (the newest new URLs first); the rest wait."""
SITEMAP_KINDS = frozenset({SITEMAP_FORMAT, INDEX_FORMAT})
"""The parsed formats this step handles."""


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


async def expand_sitemap(
    db: Database, fetcher: Fetcher, prepared: Prepared, *, sitemap_url: str, robots: RobotsCache, user_agent: str,
    language: str | None = None,
) -> Prepared:
    """The sitemap feed with only its new URLs, each with its page's text (see the module docstring)."""
    parsed = prepared.feed
    host = _host(sitemap_url)
    articles = list(parsed.articles)
    if parsed.format == INDEX_FORMAT:
        articles = await _children(fetcher, parsed.articles, sitemap_url, host, language)
    same_host = [a for a in articles if _host(a.url) == host]
    if len(same_host) < len(articles):
        log.info("sitemap_other_hosts url=%s dropped=%d", sitemap_url, len(articles) - len(same_host))
    unique = list({a.id: a for a in same_host}.values())
    unique.sort(key=lambda a: a.published_at.timestamp() if a.published_at else float("-inf"), reverse=True)
    unique = unique[:MAX_SITEMAP_URLS]
    stored = await asyncio.to_thread(stored_content_hashes, db, [a.id for a in unique])
    new = [a for a in unique if a.id not in stored][:MAX_SITEMAP_PAGES]

    async def page(article: Article) -> Article | None:
        return await _with_page(fetcher, article, robots, user_agent)

    filled = [a for a in await asyncio.gather(*(page(a) for a in new)) if a is not None]
    # Fingerprints are computed when stored: these articles' text was not known when the body was parsed.
    return Prepared(replace(parsed, articles=tuple(filled), format=SITEMAP_FORMAT), {})


async def _children(
    fetcher: Fetcher, entries: Sequence[Article], index_url: str, host: str, language: str | None
) -> list[Article]:
    """The URLs of an index's child sitemaps, followed breadth first within the depth and count bounds."""
    seen = {index_url}
    level = [e.url for e in entries]
    found: list[Article] = []
    budget = MAX_CHILD_SITEMAPS
    for _depth in range(MAX_INDEX_DEPTH):
        wanted = []
        for url in level:
            if url in seen or _host(url) != host:
                continue
            seen.add(url)
            wanted.append(url)
        wanted = wanted[:budget]
        budget -= len(wanted)
        if not wanted:
            break
        results = await asyncio.gather(*(_child(fetcher, url, language) for url in wanted))
        level = []
        for child in results:
            if child is None:
                continue
            if child.format == INDEX_FORMAT:
                level.extend(a.url for a in child.articles)
            elif child.format == SITEMAP_FORMAT:
                found.extend(child.articles)
    return found


async def _child(fetcher: Fetcher, url: str, language: str | None) -> ParsedFeed | None:
    """One child sitemap, parsed; None (logged) when it fails or is not a sitemap."""
    try:
        fetched = await fetcher.fetch(url)
        if fetched.body is None:
            return None
        child = await asyncio.to_thread(
            parse_feed, fetched.body, base_url=fetched.final_url, content_type=fetched.content_type,
            language_hint=language,
        )
    except (FetchError, ParseError) as exc:
        log.info("sitemap_child_failed url=%s error_kind=%s message=%r", url, exc.kind, exc.message)
        return None
    if child.format not in SITEMAP_KINDS:
        log.info("sitemap_child_failed url=%s error_kind=not_a_feed message='not a sitemap'", url)
        return None
    return child


async def _with_page(fetcher: Fetcher, article: Article, robots: RobotsCache, user_agent: str) -> Article | None:
    """The article with its page's text and what the page adds; the sitemap's fields alone when the page fails."""
    fallback = article if article.title else None
    if not await robots.allowed(fetcher, article.url, user_agent):
        log.info("sitemap_page_disallowed url=%s", article.url)
        return fallback
    try:
        fetched = await fetcher.fetch(article.url)
    except FetchError as exc:
        log.info("sitemap_page_failed url=%s error_kind=%s message=%r", article.url, exc.kind, exc.message)
        return fallback
    if fetched.body is None:
        return fallback
    page, main = await asyncio.to_thread(_read_page, fetched.body, fetched.final_url, fetched.content_type)
    text = main.text if main else page.content_text
    html = main.html if main else page.content_html
    title = article.title or page.title
    if not title and not text:
        return None
    summary_text = page.summary_text if page.summary_text != text else ""
    return replace(
        article,
        title=title,
        summary_html=page.summary_html if summary_text else "",
        summary_text=summary_text,
        content_html=html,
        content_text=text,
        author=article.author or page.author,
        published_at=article.published_at or page.published_at,
        language=page.language or article.language or detect_language(f"{title}\n{text}"),
        content_hash=content_fingerprint(title, summary_text, text, article.url),
    )


def _read_page(body: bytes, url: str, content_type: str | None) -> tuple[Article, PageText | None]:
    """The page as a document (title, language, dates) and its main text."""
    return parse_document(body, url=url, content_type=content_type), extract_main_text(
        body, url=url, content_type=content_type
    )
