"""Documents from stored or given articles, and what the watchlists match in them.

The use case behind `monitor match` (feed files, pages, URLs or stdin, nothing stored) and the web's
article page (a stored article's Document, whose highlights the page marks). The Document itself is
built by `monitor.match.documents`, the one adapter every caller shares.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from monitor.config.models import Config, FeedConfig
from monitor.errors import MonitorError, ParseError
from monitor.fetch import Fetcher
from monitor.match import CompiledWatchlists
from monitor.match.documents import FeedLabel, FeedLabels, document_for, feed_label
from monitor.model import Article, Document, Match
from monitor.parse import parse_document, parse_feed
from monitor.store.archive import feed_title, feed_titles
from monitor.store.db import Database
from monitor.store.rows import ArticleRow


def stored_labels(config: Config, db: Database, *, every_feed: bool = False) -> FeedLabels:
    """Labels for stored articles, with the titles the feed rows hold (all read at once with `every_feed`)."""
    feeds = {feed.id: feed for feed in config.feeds}
    if every_feed:
        return FeedLabels(feeds, feed_titles(db).get)
    return FeedLabels(feeds, partial(feed_title, db))


def stored_document(config: Config, db: Database, article: ArticleRow) -> Document:
    """A stored article as the matcher saw it: its stored matches' highlights index this Document."""
    return document_for(article, stored_labels(config, db)(article.first_feed_id))


@dataclass(frozen=True, slots=True)
class Source:
    """The articles of one SOURCE and the feed label their Documents get."""

    articles: list[Article]
    label: FeedLabel


def configured_feed(source: str, config: Config) -> FeedConfig | None:
    """The configured feed that SOURCE is (its URL, or the same local file), if any."""
    if source.startswith(("http://", "https://")):
        return next((f for f in config.feeds if f.url == source), None)
    if source == "-":
        return None
    wanted = Path(source).resolve()
    for feed in config.feeds:
        if feed.is_local:
            parts = urlsplit(feed.url)
            path = Path(url2pathname(parts.path)) if parts.scheme.lower() == "file" else Path(feed.url)
            if path.resolve() == wanted:
                return feed
    return None


def load_source(source: str, config: Config) -> Source:
    """The articles in one SOURCE: a feed (each entry one article), a page or text (one), a URL, or '-'.

    A SOURCE that is a configured feed is parsed and labelled as `monitor run` would (its base URL,
    language hint, name and tags), so its Documents are those the service matches.
    """
    feed = configured_feed(source, config)
    if source == "-":
        body, url, content_type = sys.stdin.buffer.read(), "stdin:", None
    elif source.startswith(("http://", "https://")):
        body, url, content_type = asyncio.run(_fetch(source, config))
    else:
        path = Path(source)
        if not path.is_file():
            raise MonitorError(f"{source}: no such file (give a feed or HTML/text file, a URL, or - for stdin)")
        # A configured local feed is read by the service under its configured name (the base of relative links).
        try:
            body, url = path.read_bytes(), feed.url if feed else path.resolve().as_uri()
        except OSError as exc:
            raise MonitorError(f"{source}: cannot read it: {exc.strerror or exc}") from None
        content_type = "text/plain" if path.suffix.lower() in (".txt", ".text") else None
    if content_type != "text/plain":
        try:
            parsed = parse_feed(body, base_url=url, content_type=content_type,
                                language_hint=feed.language if feed else None)
        except ParseError:
            pass  # not a feed: treat it as one document
        else:
            label = feed_label(feed.id, feed, parsed.title) if feed else FeedLabel(parsed.title.strip() or source)
            return Source(list(parsed.articles), label)
    return Source([parse_document(body, url=url, content_type=content_type)], FeedLabel(source))


async def _fetch(url: str, config: Config) -> tuple[bytes, str, str | None]:
    async with Fetcher(config.settings.fetch, allow_local_feeds=config.settings.allow_local_feeds) as fetcher:
        result = await fetcher.fetch(url)
    return result.body or b"", result.final_url, result.content_type


@dataclass(frozen=True, slots=True)
class SourceMatches:
    """One SOURCE's articles with what each matched, or the error that kept it from being read."""

    source: str
    matched: list[tuple[Article, list[Match]]] = field(default_factory=list)
    error: MonitorError | None = None


def match_documents(
    config: Config, sources: Sequence[str], *, watchlists: Sequence[str] | None = None,
    matcher: CompiledWatchlists | None = None,
) -> Iterator[SourceMatches]:
    """Match every article of every source, one source at a time; a source that fails does not stop the rest.

    Raises MonitorError at once for an unknown watchlist. `matcher`: the watchlists already compiled
    (by `monitor.usecases.check`), else they are compiled here.
    """
    unknown = [w for w in watchlists or () if w not in config.watchlists]
    if unknown:
        raise MonitorError(f"unknown watchlist {unknown[0]!r}; known: {', '.join(sorted(config.watchlists))}")
    compiled = matcher if matcher is not None else CompiledWatchlists.compile(config.watchlists)
    return _matched(config, sources, watchlists, compiled)


def _matched(config: Config, sources: Sequence[str], watchlists: Sequence[str] | None,
             matcher: CompiledWatchlists) -> Iterator[SourceMatches]:
    for source in sources:
        try:
            loaded = load_source(source, config)
        except MonitorError as exc:
            yield SourceMatches(source, error=exc)
            continue
        # One source at a time: the caller prints a source's results before the next one is read or fetched.
        yield SourceMatches(source, [(a, matcher.match(document_for(a, loaded.label), watchlists))
                                     for a in loaded.articles])
