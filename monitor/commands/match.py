"""`monitor match`: match feed files, pages, URLs or stdin without storing anything."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from monitor.config.models import Config, FeedConfig
from monitor.errors import MonitorError, ParseError
from monitor.fetch import Fetcher
from monitor.match import CompiledWatchlists
from monitor.model import Article, Match
from monitor.parse import parse_document, parse_feed
from monitor.usecases.documents import FeedLabel, document_for, feed_label


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


@dataclass
class MatchRun:
    """What `monitor match` found: articles that matched, and sources that could not be read."""

    matched: int = 0
    errors: int = 0

    @property
    def exit_code(self) -> int:
        """As grep: 2 when a source failed, else 0 when an article matched, 1 when none did."""
        return 2 if self.errors else (0 if self.matched else 1)


def run_match(
    config: Config,
    sources: Sequence[str],
    *,
    watchlists: Sequence[str] | None,
    as_json: bool,
    out: Callable[[str], None],
    err: Callable[[str], None],
    matcher: CompiledWatchlists | None = None,
) -> MatchRun:
    """Match every article of every source; print the results; a source that fails is reported, the rest still run.

    `matcher`: the watchlists already compiled (by `monitor.usecases.check`), else they are compiled here.
    """
    unknown = [w for w in watchlists or () if w not in config.watchlists]
    if unknown:
        raise MonitorError(f"unknown watchlist {unknown[0]!r}; known: {', '.join(sorted(config.watchlists))}")
    matcher = matcher if matcher is not None else CompiledWatchlists.compile(config.watchlists)
    result = MatchRun()
    for source in sources:
        try:
            loaded = load_source(source, config)
        except MonitorError as exc:
            result.errors += 1
            err(f"monitor match: {source}: {exc}" if not str(exc).startswith(source) else f"monitor match: {exc}")
            continue
        for article in loaded.articles:
            matches = matcher.match(document_for(article, loaded.label), watchlists)
            result.matched += bool(matches)
            out(_json_line(article, matches) if as_json else _human(article, matches))
    return result


def _json_line(article: Article, matches: list[Match]) -> str:
    return json.dumps(
        {
            "article": {
                "id": article.id, "url": article.url, "title": article.title,
                "published_at": article.published_at.strftime("%Y-%m-%dT%H:%M:%SZ") if article.published_at else None,
                "language": article.language,
            },
            "matches": [m.to_json() for m in matches],
        },
        ensure_ascii=False,
    )


def _human(article: Article, matches: list[Match]) -> str:
    when = article.published_at.strftime("%Y-%m-%d %H:%M UTC") if article.published_at else "undated"
    lines = [f"{article.title or '(untitled)'}", f"  {article.url}  {when}"]
    if not matches:
        lines.append("  no match")
    for match in matches:
        lines.append(f"  ✓ {match.watchlist}/{match.id} ({match.kind}: {match.name})")
        lines.append(f"      {match.snippet}")
    return "\n".join(lines) + "\n"
