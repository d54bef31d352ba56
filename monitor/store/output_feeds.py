"""The articles of an output feed (`/feeds/<token>.atom`): the newest matched in a scope, with their matches and outlet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select

from monitor.store.db import Database, database_errors
from monitor.store.rows import ArticleRow, Feed, MatchRow


@dataclass(frozen=True, slots=True)
class FeedMatch:
    """One entry an article matched, with its snippet ([[marked]] words)."""

    watchlist: str
    entry_id: str
    entry_kind: str
    entry_name: str
    snippet: str


@dataclass(frozen=True, slots=True)
class FeedArticle:
    """One item of an output feed."""

    id: str
    url: str
    title: str
    summary_text: str
    published_at: datetime  # aware UTC
    updated_at: datetime
    outlet: str
    language: str | None
    matches: tuple[FeedMatch, ...]


def scope_articles(
    db: Database, watchlists: Sequence[str], entries: Sequence[tuple[str, str]], muted: Sequence[tuple[str | None, str]] = (),
    *, limit: int = 50,
) -> list[FeedArticle]:
    """The newest `limit` articles matched by an entry of `watchlists` or one of `entries` ((watchlist, entry) pairs).

    `muted`: (watchlist or None for any, entry id) pairs left out. Only matches in the scope are listed with
    each article, so a feed never shows another watchlist's entries.
    """
    parts: list[ColumnElement[bool]] = [MatchRow.watchlist.in_(list(watchlists))] if watchlists else []
    parts += [and_(MatchRow.watchlist == w, MatchRow.entry_id == e) for w, e in entries]
    if not parts:
        return []
    scope = or_(*parts)
    for watchlist, entry_id in muted:
        scope = and_(scope, ~(and_(MatchRow.entry_id == entry_id, MatchRow.watchlist == watchlist)
                              if watchlist else MatchRow.entry_id == entry_id))
    with database_errors(), db.sessions() as session:
        newest = (
            select(ArticleRow.id, func.max(ArticleRow.published_at).label("at"))
            .join(MatchRow, MatchRow.article_id == ArticleRow.id)
            .where(scope)
            .group_by(ArticleRow.id)
            .order_by(func.max(ArticleRow.published_at).desc(), ArticleRow.id)
            .limit(limit)
        )
        ids = [row.id for row in session.execute(newest)]
        if not ids:
            return []
        articles = {a.id: a for a in session.scalars(select(ArticleRow).where(ArticleRow.id.in_(ids)))}
        matches: dict[str, list[FeedMatch]] = {}
        for m in session.scalars(select(MatchRow).where(MatchRow.article_id.in_(ids), scope).order_by(MatchRow.id)):
            matches.setdefault(m.article_id, []).append(
                FeedMatch(m.watchlist, m.entry_id, m.entry_kind, m.entry_name, m.snippet))
        feed_ids = {a.first_feed_id for a in articles.values() if a.first_feed_id}
        names = {f.id: f.name or f.title or f.id for f in session.scalars(select(Feed).where(Feed.id.in_(feed_ids)))}
        return [
            FeedArticle(
                id=a.id, url=a.url, title=a.title, summary_text=a.summary_text or a.content_text[:500],
                published_at=a.published_at, updated_at=a.updated_at,
                outlet=names.get(a.first_feed_id or "", a.first_feed_id or ""), language=a.language,
                matches=tuple(matches.get(a.id, ())),
            )
            for a in (articles[i] for i in ids)
        ]
