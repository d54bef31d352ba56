"""Fuzz the query language: parse_query and compile_adhoc end in a result or a QuerySyntaxError with a
column inside the text; matching any Document never raises; highlights are slices of the field text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config.models import WatchlistConfig
from monitor.errors import QuerySyntaxError
from monitor.match import compile_adhoc, parse_query
from monitor.match.matcher import AdhocQuery
from monitor.model import Document
from tests.fuzz.support import TEST_TIMEOUT, fuzz_settings

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

WATCHLISTS = {
    "mena": WatchlistConfig.model_validate({
        "id": "mena", "name": "MENA",
        "actors": [
            {"id": "kalin", "name": "Ibrahim Kalin", "aliases": ["İbrahim Kalın"]},
            {"id": "mit", "name": "National Intelligence Organization", "exact_case": ["MIT"],
             "exclude": '"Massachusetts Institute" OR Cambridge'},
        ],
        "topics": [{"id": "talks", "name": "Talks", "query": "(hostage* OR captives) AND (talks OR negotiat*)"}],
    }),
    "energy": WatchlistConfig.model_validate({
        "id": "energy", "name": "Energy", "actors": [{"id": "kalin", "name": "Kalin Energy"}],
    }),
}

WORDS = ["hostage", "hostages", "talks", "Kalin", "Kalın", "İbrahim", "MIT", "mit", "négociation", "ISTANBUL",
         "Netanyahu’s", "Hamas-run", "l'état", "straße", "ﬁnal", "العربية", "עברית", "Cambridge", "x", "ab", "a_b",
         "123", "2024", "🙂", "e\u0301t\u0301", "\u0301", "I", "ı", "Ǆ"]
QUERY_PIECES = WORDS + [
    "AND", "OR", "NOT", "and", "or", "NEAR/3", "ONEAR/1", "NEAR/0", "NEAR/", "NEAR", "NEAR/x", "NEAR/²",
    "NEAR/99999999999", "(", ")", '"', "“", "”", "„", "«", "»", "*", "hostag*", "ne*", "ab *", "négo*", "Ka*lin",
    "title:", "body:", "author:", "url:", "source:", "lang:", "lang:ar", "tag:mena", "tag:", "foo:", "TITLE:",
    "@kalin", "@mena/kalin", "@energy/kalin", "@nobody", "@", "@Kalin", "@mena/", ":", "-", "'", "_", "\t", "\n",
]


@st.composite
def queries(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.sampled_from(QUERY_PIECES) | st.text(max_size=6), min_size=0, max_size=14))
    seps = draw(st.lists(st.sampled_from([" ", " ", "", "  "]), min_size=len(pieces), max_size=len(pieces)))
    return "".join(p + s for p, s in zip(pieces, seps, strict=True))


QUERY_TEXT = queries() | st.text(max_size=60)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    def field() -> str:
        parts = draw(st.lists(st.sampled_from(WORDS) | st.text(max_size=8)
                              | st.sampled_from(["<b>", "</b>", "<p>", "&amp;", "&nbsp;", "&#x4b;", "&lt;", "<!-- c -->",
                                                 "Ka<b>lin</b>", "&eacute;", "&bogus;", "<", "&"]),
                              max_size=30))
        return draw(st.sampled_from([" ", "", "\n"])).join(parts)

    return Document(title=field(), body=field(), author=field(), url=field(), source=field(),
                    language=draw(st.sampled_from([None, "ar", "en", "tr", ""])),
                    tags=frozenset(draw(st.lists(st.sampled_from(["mena", "MENA", "gulf", ""]), max_size=3))))


def check_error(exc: QuerySyntaxError, text: str) -> None:
    assert isinstance(exc.column, int) and 1 <= exc.column <= len(text) + 1, (exc.column, len(text), str(exc))
    assert exc.message


def compiled(text: str) -> AdhocQuery | None:
    try:
        parse_query(text)
    except QuerySyntaxError as exc:
        check_error(exc, text)
    try:
        return compile_adhoc(text, WATCHLISTS)
    except QuerySyntaxError as exc:
        check_error(exc, text)
        return None


def check_match(query: AdhocQuery, doc: Document) -> None:
    match = query.match(doc)
    if match is None:
        return
    assert isinstance(match.snippet, str)
    for h in match.highlights:
        value = getattr(doc, h.field)
        assert 0 <= h.start <= h.end <= len(value), (h, len(value))
        assert h.text == value[h.start : h.end], (h, value)


@fuzz_settings(600)
@given(QUERY_TEXT)
def test_parse_query_ends_in_ast_or_located_error(text: str) -> None:
    compiled(text)


@fuzz_settings(300)
@given(queries(), documents())
def test_matching_never_raises_and_highlights_are_slices(text: str, doc: Document) -> None:
    query = compiled(text)
    if query is not None:
        check_match(query, doc)


@fuzz_settings(200)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4), documents())
def test_highlights_of_matching_queries(words: list[str], doc: Document) -> None:
    """Queries built from words the document holds, so matches (and highlights) are frequent."""
    doc = Document(title=doc.title, body=doc.body + " " + " ".join(words), author=doc.author)
    for text in (" OR ".join(words), f'"{" ".join(words)}"', f"{words[0]} NEAR/2 {words[-1]}",
                 f"{words[0][:4]}*", f"title:({' OR '.join(words)}) OR body:{words[-1]}", "@kalin OR @mena/mit"):
        query = compiled(text)
        if query is not None:
            check_match(query, doc)
