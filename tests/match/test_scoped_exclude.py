"""Scoped exclusions (issue 20): an exclude that vetoes the occurrence it overlaps or sits next to, not the article."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.config.models import WatchlistConfig
from monitor.match import CompiledWatchlists, compile_adhoc
from monitor.match.check import check_watchlists
from monitor.model import Document

LIST = {
    "id": "w", "name": "w",
    "actors": [
        {"id": "mondaycom", "name": "monday.com", "aliases": ["Monday"],
         "exclude": '"Cyber Monday" OR "Monday morning"', "exclude_scope": "occurrence"},
        {"id": "sanchez", "name": "Pedro Sánchez", "aliases": ["Sánchez"],
         "exclude": "Tania", "exclude_scope": "occurrence"},
        {"id": "sanchez-far", "name": "Pedro Sánchez", "aliases": ["Sánchez"],
         "exclude": "Tania", "exclude_scope": "occurrence", "exclude_within": 2},
        {"id": "sanchez-article", "name": "Pedro Sánchez", "aliases": ["Sánchez"], "exclude": "Tania"},
        {"id": "turkey", "name": "Turkey", "exclude": "recipe OR roast"},
    ],
    "topics": [
        {"id": "shares", "name": "shares", "query": "@mondaycom NEAR/3 shares"},
        {"id": "title-only", "name": "title only", "query": "title:@mondaycom"},
    ],
}


@pytest.fixture(scope="module")
def compiled() -> CompiledWatchlists:
    return CompiledWatchlists.compile({"w": WatchlistConfig.model_validate(LIST)})


CASES = [
    # (text, entry, highlighted surface forms; () when silent)
    ("monday.com shares fell on Cyber Monday", "mondaycom", ("monday.com",)),
    ("monday.com shares fell on Cyber Monday", "shares", ("monday.com", "shares")),
    ("Deals on Cyber Monday", "mondaycom", ()),
    ("See you Monday morning", "mondaycom", ()),
    ("Cyber Monday, then Monday results", "mondaycom", ("Monday",)),
    ("Tania Sánchez, the singer, spoke", "sanchez", ()),
    ("Tania Sánchez was quoted; Pedro Sánchez replied", "sanchez", ("Pedro Sánchez",)),
    ("Tania Sánchez was quoted; Sánchez replied", "sanchez", ("Sánchez",)),
    ("Sánchez, Tania", "sanchez", ()),  # next to it, on either side
    ("Tania, her sister Sánchez", "sanchez", ("Sánchez",)),  # two words between: out of reach of 0
    ("Tania, her sister Sánchez", "sanchez-far", ()),  # within 2 words
    ("Tania Sánchez was quoted; Pedro Sánchez replied", "sanchez-far", ("Pedro Sánchez",)),
    ("Tania Sánchez was quoted; Pedro Sánchez replied", "sanchez-article", ()),  # the article-wide default
    ("Turkey with a roast", "turkey", ()),  # article-wide: a recipe, wherever the word stands
    ("A recipe from Ankara. Turkey said", "turkey", ()),
    ("Turkey said", "turkey", ("Turkey",)),
]


@pytest.mark.parametrize(("text", "entry", "surfaces"), CASES)
def test_scoped_exclusions(text: str, entry: str, surfaces: tuple[str, ...], compiled: CompiledWatchlists) -> None:
    found = {m.id: m for m in compiled.match(Document(body=text))}
    if not surfaces:
        assert entry not in found, found[entry].highlights
        return
    assert tuple(h.text for h in found[entry].highlights) == surfaces


def test_the_veto_stays_in_its_field(compiled: CompiledWatchlists) -> None:
    doc = Document(title="Monday results", body="Deals on Cyber Monday")
    found = {m.id: m for m in compiled.match(doc)}
    assert [(h.field, h.text) for h in found["mondaycom"].highlights] == [("title", "Monday")]
    assert "title-only" in found
    assert "title-only" not in {m.id for m in compiled.match(Document(title="Cyber Monday deals"))}


def test_references_from_adhoc_queries() -> None:
    lists = {"w": WatchlistConfig.model_validate(LIST)}
    query = compile_adhoc("@w/mondaycom", lists)
    assert query.match(Document(body="Cyber Monday deals")) is None
    match = query.match(Document(body="On Cyber Monday, shares of monday.com rose"))
    assert match is not None and [h.text for h in match.highlights] == ["monday.com"]


def test_occurrence_scope_needs_occurrences() -> None:
    body = {"id": "w", "name": "w", "actors": [
        {"id": "a", "name": "Turkey", "exclude": "recipe AND NOT war", "exclude_scope": "occurrence"}]}
    problems = check_watchlists({"w": WatchlistConfig.model_validate(body)})
    assert [(p.entry_id, p.field, p.column) for p in problems] == [("a", "exclude", 1)]
    assert "exclude_scope: occurrence" in problems[0].message and problems[0].hint


def test_within_needs_the_occurrence_scope() -> None:
    with pytest.raises(ValidationError, match="exclude_within applies only with exclude_scope: occurrence"):
        WatchlistConfig.model_validate({"id": "w", "name": "w", "actors": [
            {"id": "a", "name": "Turkey", "exclude": "recipe", "exclude_within": 2}]})
