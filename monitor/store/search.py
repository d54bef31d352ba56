"""The full-text index of stored articles: its queue, its writes, and candidate selection for archive search.

The index holds terms computed by the caller (the product's folding and word forms, monitor/match/terms.py)
in `search_terms`: on SQLite indexed by the FTS5 table `search_fts`, on PostgreSQL a tsvector with a GIN
index (migration 0019). Triggers on `articles` queue every inserted or changed article in
`search_pending`; `index_pending` drains the queue; `candidates` answers an `IndexQuery` and adds every
queued article, so a search is exact even before the indexer has caught up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from sqlalchemy import ColumnElement, Integer, delete, exists, func, or_, select, text
from sqlalchemy.orm import Session

from monitor.model import IndexAll, IndexAny, IndexQuery, IndexWord
from monitor.store.db import Database
from monitor.store.rows import ArticleRow, Feed, SearchPending, SearchTerms, Sighting

INDEX_BATCH = 500


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What narrows a search besides its query: a feed that carried the article, its language, a publication window."""

    feed: str | None = None
    language: str | None = None  # a primary subtag: "ar" also selects "ar-EG"
    start: datetime | None = None  # published at or after
    end: datetime | None = None  # published before

    def where(self) -> list[ColumnElement[bool]]:
        """The filters as conditions on ArticleRow."""
        conditions: list[ColumnElement[bool]] = []
        if self.feed:
            conditions.append(exists().where(Sighting.article_id == ArticleRow.id, Sighting.feed_id == self.feed))
        if self.language:
            lang = func.lower(func.replace(ArticleRow.language, "_", "-"))
            code = self.language.lower()
            conditions.append(or_(lang == code, func.substr(lang, 1, len(code) + 1) == code + "-"))
        if self.start is not None:
            conditions.append(ArticleRow.published_at >= self.start)
        if self.end is not None:
            conditions.append(ArticleRow.published_at < self.end)
        return conditions


def fts5_query(query: IndexQuery) -> str:
    """An IndexQuery in FTS5's query syntax: each term a quoted string, `*` for a prefix."""
    match query:
        case IndexWord():
            quoted = '"' + query.text.replace('"', '""') + '"'
            return f"{quoted} *" if query.prefix else quoted
        case IndexAll():
            return "(" + " AND ".join(map(fts5_query, query.children)) + ")"
        case IndexAny():
            return "(" + " OR ".join(map(fts5_query, query.children)) + ")"
        case _:
            assert_never(query)


def tsquery(query: IndexQuery) -> str:
    """An IndexQuery as tsquery text: each lexeme quoted as written (no parser, no dictionary), `:*` for a prefix."""
    match query:
        case IndexWord():
            quoted = "'" + query.text.replace("\\", "\\\\").replace("'", "''") + "'"
            return f"{quoted}:*" if query.prefix else quoted
        case IndexAll():
            return "(" + " & ".join(map(tsquery, query.children)) + ")"
        case IndexAny():
            return "(" + " | ".join(map(tsquery, query.children)) + ")"
        case _:
            assert_never(query)


def index_pending(db: Database, terms_of: Callable[[ArticleRow], list[str]], limit: int = INDEX_BATCH) -> int:
    """Index up to `limit` queued articles in one transaction; returns how many queue entries it took.

    Only the queue entries read are deleted: an article changed meanwhile was queued again and is indexed
    again on the next call. On PostgreSQL, concurrent indexers skip each other's entries.
    """
    with db.transaction() as session:
        picked = select(SearchPending.seq, SearchPending.article_id).order_by(SearchPending.seq).limit(limit)
        if not db.is_sqlite:
            picked = picked.with_for_update(skip_locked=True)
        entries = session.execute(picked).all()
        if not entries:
            return 0
        ids = sorted({article_id for _, article_id in entries})
        rows = session.scalars(select(ArticleRow).where(ArticleRow.id.in_(ids)).order_by(ArticleRow.id)).all()
        _save_terms(session, db.is_sqlite, [(row.id, terms_of(row)) for row in rows])
        session.execute(delete(SearchPending).where(SearchPending.seq.in_([seq for seq, _ in entries])))
        return len(entries)


def _save_terms(session: Session, sqlite: bool, items: Sequence[tuple[str, list[str]]]) -> None:
    if not items:
        return
    if sqlite:
        statement = ("INSERT INTO search_terms (article_id, terms) VALUES (:a, :t) "
                     "ON CONFLICT (article_id) DO UPDATE SET terms = excluded.terms")
        params: list[dict[str, Any]] = [{"a": a, "t": " ".join(terms)} for a, terms in items]
    else:
        # array_to_tsvector takes the terms as lexemes, untouched by PostgreSQL's parser and dictionaries.
        statement = ("INSERT INTO search_terms (article_id, terms) VALUES (:a, array_to_tsvector(CAST(:t AS text[]))) "
                     "ON CONFLICT (article_id) DO UPDATE SET terms = EXCLUDED.terms")
        params = [{"a": a, "t": terms} for a, terms in items]
    session.execute(text(statement), params)


def queue_all(db: Database) -> int:
    """Queue every stored article for the indexer (a rebuild); returns how many."""
    with db.transaction() as session:
        result = session.execute(text("INSERT INTO search_pending (article_id) SELECT id FROM articles"))
        return result.rowcount or 0  # type: ignore[attr-defined]


def pending_count(db: Database) -> int:
    """How many queue entries wait for the indexer."""
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(SearchPending)) or 0


def candidates(db: Database, query: IndexQuery, filters: SearchFilters,
               limit: int | None = None) -> list[tuple[str, datetime]]:
    """(id, published_at) of the articles the index finds for `query`, and of every queued one, newest first.

    With `limit`, only the newest `limit` of them (the database sorts; a first page rarely needs more).
    """
    newest_first = (ArticleRow.published_at.desc(), ArticleRow.id)
    with db.sessions() as session:
        found = select(ArticleRow.id, ArticleRow.published_at)
        if db.is_sqlite:
            fts = (text("SELECT rowid AS id FROM search_fts WHERE search_fts MATCH :q")
                   .bindparams(q=fts5_query(query)).columns(id=Integer).subquery("fts"))
            found = (found.join(SearchTerms, SearchTerms.article_id == ArticleRow.id)
                     .join(fts, fts.c.id == SearchTerms.id))
        else:
            # MATERIALIZED: the GIN index answers first. Left to itself, with ORDER BY ... LIMIT the planner
            # walks the articles newest first and tests each one, which reads them all for a rare word.
            hits = (select(SearchTerms.article_id)
                    .where(text("search_terms.terms @@ CAST(:q AS tsquery)").bindparams(q=tsquery(query)))
                    .cte("hits").prefix_with("MATERIALIZED"))
            found = found.join(hits, hits.c.article_id == ArticleRow.id)
        queued = (select(ArticleRow.id, ArticleRow.published_at)
                  .where(ArticleRow.id.in_(select(SearchPending.article_id))))
        rows: set[tuple[str, datetime]] = set()
        for statement in (found, queued):
            statement = statement.where(*filters.where())
            if limit is not None:
                statement = statement.order_by(*newest_first).limit(limit)
            rows.update((r[0], r[1]) for r in session.execute(statement))
    return sorted(rows, key=newest_key)[:limit]


def newest_key(row: tuple[str, datetime]) -> tuple[float, str]:
    """The sort key of newest first (then by id), as the store orders articles."""
    return -row[1].timestamp(), row[0]


def newest(db: Database, filters: SearchFilters, limit: int) -> tuple[list[tuple[str, datetime]], bool]:
    """The newest `limit` articles within the filters (a search with no indexable term), and whether there are more."""
    with db.sessions() as session:
        rows = session.execute(
            select(ArticleRow.id, ArticleRow.published_at).where(*filters.where())
            .order_by(ArticleRow.published_at.desc(), ArticleRow.id).limit(limit + 1)
        ).all()
    return [(r[0], r[1]) for r in rows[:limit]], len(rows) > limit


def articles_by_id(db: Database, ids: Sequence[str]) -> list[ArticleRow]:
    """The articles with these ids, in the order given (an id no longer stored is left out)."""
    if not ids:
        return []
    with db.sessions() as session:
        found = {row.id: row for row in session.scalars(select(ArticleRow).where(ArticleRow.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def feed_choices(db: Database) -> list[tuple[str, str]]:
    """(id, name to show) of every stored feed, for the search page's outlet filter."""
    with db.sessions() as session:
        rows = session.execute(select(Feed.id, func.coalesce(Feed.name, Feed.title, Feed.id)).order_by(Feed.id))
        return [(r[0], r[1]) for r in rows]
