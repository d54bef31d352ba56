"""Exact-case query terms (issue 20 point 6): `raw:WHO` finds the organisation, not the pronoun."""

from __future__ import annotations

import pytest

from monitor.config.models import WatchlistConfig
from monitor.errors import QuerySyntaxError
from monitor.match import compile_adhoc
from monitor.match.check import check_watchlists
from monitor.match.query import Term, parse_query
from monitor.model import Document


@pytest.mark.parametrize(("query", "text", "surfaces"), [
    ("raw:WHO", "the WHO said", ("WHO",)),
    ("raw:WHO", "who said", ()),
    ("raw:WHO", "Who said", ()),
    ("WHO", "who said", ("who",)),  # without raw: any case, as before
    ('raw:"World Health"', "the World Health body", ("World Health",)),
    ('raw:"World Health"', "the world health body", ()),
    ("raw:MİT", "MİT said", ("MİT",)),  # diacritics still fold, case does not
    ("raw:MIT", "MİT said", ("MİT",)),
    ("raw:MIT", "mit ihm", ()),
    ("raw:US AND Iran", "US and iran", ("US", "iran")),
    ("raw:US", "the U.S. said", ()),  # exact case compares tokens as written
    ("raw:Путин", "Путина видели", ()),  # exact case never inflects
    ("title:raw:WHO", "WHO", ()),  # the field applies: the body does not count
])
def test_raw(query: str, text: str, surfaces: tuple[str, ...]) -> None:
    match = compile_adhoc(query).match(Document(body=text, language="ru"))
    if not surfaces:
        assert match is None, match.highlights
        return
    assert match is not None
    assert tuple(h.text for h in match.highlights) == surfaces


def test_raw_in_a_field_and_in_near() -> None:
    assert compile_adhoc("title:raw:WHO").match(Document(title="WHO chief", body="x")) is not None
    near = compile_adhoc("raw:WHO NEAR/2 vaccine").match(Document(body="WHO backs the vaccine; who knows"))
    assert near is not None and [h.text for h in near.highlights] == ["WHO", "vaccine"]


def test_the_parsed_term() -> None:
    node = parse_query('raw:"World Health"')
    assert isinstance(node, Term)
    assert (node.tokens, node.exact, node.text, node.column) == (
        ("world", "health"), ("World", "Health"), 'raw:"World Health"', 1)


@pytest.mark.parametrize(("query", "column", "message"), [
    ("raw:(WHO OR UN)", 1, "'raw:' needs a word or a phrase right after it"),
    ("a raw:", 3, "'raw:' needs a word or a phrase right after it"),
    ("raw:WHO*", 5, "'raw:' cannot take a wildcard"),
])
def test_raw_errors(query: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert (caught.value.column, caught.value.message) == (column, message)
    assert caught.value.hint


def test_capitals_matched_in_any_case_are_a_located_warning() -> None:
    assert [(w.column, w.message) for w in compile_adhoc("vaccine AND WHO").warnings] == [
        (13, "'WHO' is matched in any case, so also as 'who' and 'Who'")]
    assert "raw:WHO" in compile_adhoc("WHO").warnings[0].hint
    for quiet in ("raw:WHO", "LNG", "HAMAS", "Who", "A", "WHO*", '"WHO"', "NEAR"):
        assert compile_adhoc(quiet if quiet != "NEAR" else "a NEAR/2 b").warnings == (), quiet
    body = {"id": "w", "name": "w", "topics": [{"id": "t", "name": "t", "query": "vaccine (US OR raw:EU)"}]}
    problems = check_watchlists({"w": WatchlistConfig.model_validate(body)})
    assert [(p.entry_id, p.field, p.column, p.severity) for p in problems] == [("t", "query", 10, "warning")]
