"""`monitor match`: match feed files, pages, URLs or stdin without storing anything (printing only)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.config.models import Config
from monitor.match import CompiledWatchlists
from monitor.model import Article, Match
from monitor.usecases.match_documents import match_documents


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
    result = MatchRun()
    for found in match_documents(config, sources, watchlists=watchlists, matcher=matcher):
        if found.error is not None:
            result.errors += 1
            source, exc = found.source, found.error
            err(f"monitor match: {source}: {exc}" if not str(exc).startswith(source) else f"monitor match: {exc}")
            continue
        for article, matches in found.matched:
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
