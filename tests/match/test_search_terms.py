"""Index terms of an article and the terms a query needs (monitor/match/terms.py): pure, no database."""

from __future__ import annotations

from monitor.match.query import parse_query
from monitor.match.terms import KEY, MAX_TERM_CHARS, candidate_query, index_terms
from monitor.model import IndexAll, IndexAny, IndexWord


def test_articles_are_indexed_by_folded_tokens_and_form_keys() -> None:
    assert index_terms("İbrahim Kalın's <b>talks</b>", "Türkiye", "en") == ["ibrahim", "kalin", "s", "talks", "turkiye"]
    ru = index_terms("Путина встретили", "", "ru")
    assert "путина" in ru and KEY + "путин" in ru
    he = index_terms("וחמאס", "", "he")
    assert "וחמאס" in he and KEY + "חמאס" in he and KEY + "חמאס" not in index_terms("וחמאס", "", None)
    ar = index_terms("للموساد", "", "ar")
    assert KEY + "موساد" in ar
    assert index_terms("x" * 100, "", None) == ["x" * MAX_TERM_CHARS]


def test_queries_need_what_every_match_contains() -> None:
    assert candidate_query(parse_query("negotiat*")) == IndexWord("negotiat", prefix=True)
    needed = candidate_query(parse_query('"hostage deal" -Hamas lang:en'))
    assert isinstance(needed, IndexAll) and len(needed.children) == 2  # the phrase's words; NOT and lang: need nothing
    assert candidate_query(parse_query("Putin OR NOT Hamas")) is None
    assert candidate_query(parse_query("author:desk")) is None
    путин = candidate_query(parse_query("Путин"))
    assert isinstance(путин, IndexAny) and IndexWord(KEY + "путин") in путин.children
    long = candidate_query(parse_query("y" * 70))
    assert isinstance(long, IndexAny) and IndexWord("y" * MAX_TERM_CHARS, prefix=True) in long.children
    assert candidate_query(parse_query("𞤀𞤣𞤤𞤢𞤥")) is None, "characters SQLite's FTS5 does not know: scanned"
