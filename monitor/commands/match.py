"""`monitor match`: match feed files, pages, URLs or stdin without storing anything."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.commands.documents import document_from_article
from monitor.config.models import Config
from monitor.errors import MonitorError, ParseError
from monitor.fetch import Fetcher
from monitor.match import CompiledWatchlists
from monitor.match.types import Match
from monitor.parse import parse_document, parse_feed
from monitor.parse.article import Article


def load_source(source: str, config: Config) -> list[Article]:
    """The articles in one SOURCE: a feed (each entry one article), a page or text (one), a URL, or '-'."""
    if source == "-":
        body, url, content_type = sys.stdin.buffer.read(), "stdin:", None
    elif source.startswith(("http://", "https://")):
        body, url, content_type = asyncio.run(_fetch(source, config))
    else:
        path = Path(source)
        if not path.is_file():
            raise MonitorError(f"{source}: no such file (give a feed or HTML/text file, a URL, or - for stdin)")
        body, url = path.read_bytes(), path.resolve().as_uri()
        content_type = "text/plain" if path.suffix.lower() in (".txt", ".text") else None
    if content_type != "text/plain":
        try:
            return list(parse_feed(body, base_url=url, content_type=content_type).articles)
        except ParseError:
            pass  # not a feed: treat it as one document
    return [parse_document(body, url=url, content_type=content_type)]


async def _fetch(url: str, config: Config) -> tuple[bytes, str, str | None]:
    async with Fetcher(config.settings.fetch, allow_local_feeds=config.settings.allow_local_feeds) as fetcher:
        result = await fetcher.fetch(url)
    return result.body or b"", result.final_url, result.content_type


def run_match(
    config: Config,
    sources: Sequence[str],
    *,
    watchlists: Sequence[str] | None,
    as_json: bool,
    out: Callable[[str], None],
    matcher: CompiledWatchlists | None = None,
) -> int:
    """Match every article of every source; print the results; return how many articles matched.

    `matcher`: the watchlists already compiled (by `monitor.checking`), else they are compiled here.
    """
    unknown = [w for w in watchlists or () if w not in config.watchlists]
    if unknown:
        raise MonitorError(f"unknown watchlist {unknown[0]!r}; known: {', '.join(sorted(config.watchlists))}")
    matcher = matcher if matcher is not None else CompiledWatchlists.compile(config.watchlists)
    matched = 0
    for source in sources:
        for article in load_source(source, config):
            matches = matcher.match(document_from_article(article, source=source), watchlists)
            matched += bool(matches)
            out(_json_line(article, matches) if as_json else _human(article, matches))
    return matched


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
