"""The query parser: precedence, every form of DESIGN §3.3, and errors with columns and hints."""

from __future__ import annotations

import pytest

from monitor.errors import QuerySyntaxError
from monitor.match import compile_adhoc, parse_query
from monitor.match.query import ActorRef, And, Lang, Near, Node, Not, Or, Tag, Term, parse_query_with_warnings
from monitor.model import Document


def t(*tokens: str, prefix: bool = False, field: str | None = None) -> tuple[tuple[str, ...], bool, str | None]:
    return (tokens, prefix, field)


def shape(node: Node) -> object:
    """The AST without columns and source text, for compact expectations."""
    if isinstance(node, Term):
        return (node.tokens, node.prefix, node.field)
    if isinstance(node, ActorRef):
        return ("@", node.watchlist, node.actor, node.field)
    if isinstance(node, Lang):
        return ("lang", node.code)
    if isinstance(node, Tag):
        return ("tag", node.name)
    if isinstance(node, And):
        return ("AND", *[shape(c) for c in node.children])
    if isinstance(node, Or):
        return ("OR", *[shape(c) for c in node.children])
    if isinstance(node, Not):
        return ("NOT", shape(node.child))
    assert isinstance(node, Near)
    return ("ONEAR" if node.ordered else "NEAR", node.distance, shape(node.left), shape(node.right))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hostage", t("hostage")),
        ('"prisoner exchange"', t("prisoner", "exchange")),
        ("“prisoner exchange”", t("prisoner", "exchange")),  # typographic quotes
        ("negotiat*", t("negotiat", prefix=True)),
        ('"hostage neg*"', t("hostage", "neg", prefix=True)),
        ("a AND b", ("AND", t("a"), t("b"))),
        ("a b", ("AND", t("a"), t("b"))),
        ("a OR b", ("OR", t("a"), t("b"))),
        ("NOT a", ("NOT", t("a"))),
        ("a AND NOT b", ("AND", t("a"), ("NOT", t("b")))),
        ("a NOT b", ("AND", t("a"), ("NOT", t("b")))),
        ("(a OR b) c", ("AND", ("OR", t("a"), t("b")), t("c"))),
        ("a NEAR/5 b", ("NEAR", 5, t("a"), t("b"))),
        ("a ONEAR/3 b", ("ONEAR", 3, t("a"), t("b"))),
        ("title:hostage", t("hostage", field="title")),
        ("title:(a OR b)", ("OR", t("a", field="title"), t("b", field="title"))),
        ('body:"prisoner exchange"', t("prisoner", "exchange", field="body")),
        ("author:Smith url:example.org source:reuters",
         ("AND", t("smith", field="author"), t("example", "org", field="url"), t("reuters", field="source"))),
        ("@ronen-bar", ("@", None, "ronen-bar", None)),
        ("@mena-security/ronen-bar", ("@", "mena-security", "ronen-bar", None)),
        ("title:@ronen-bar", ("@", None, "ronen-bar", "title")),
        ("lang:AR tag:MENA", ("AND", ("lang", "ar"), ("tag", "mena"))),
        ("Hamas-run", t("hamas", "run")),
        ("and or not", ("AND", t("and"), t("or"), t("not"))),  # operators are capitals only
        # -word, -"phrase", -(group), -field:term, -@actor, -lang: NOT, as in Google Alerts and Meltwater
        ("Hamas -ceasefire", ("AND", t("hamas"), ("NOT", t("ceasefire")))),
        ('Hamas -"cease fire"', ("AND", t("hamas"), ("NOT", t("cease", "fire")))),
        ("Hamas -(truce OR ceasefire)", ("AND", t("hamas"), ("NOT", ("OR", t("truce"), t("ceasefire"))))),
        ("Hamas -title:ceasefire", ("AND", t("hamas"), ("NOT", t("ceasefire", field="title")))),
        ("-@ronen-bar Shin", ("AND", ("NOT", ("@", None, "ronen-bar", None)), t("shin"))),
        ("(-lang:ar)", ("NOT", ("lang", "ar"))),
        ('"hostage deal"-Qatar', ("AND", t("hostage", "deal"), ("NOT", t("qatar")))),
        ("a OR -b", ("OR", t("a"), ("NOT", t("b")))),
        # ... but a hyphen inside a word is part of the word
        ("cease-fire al-Qassam", ("AND", t("cease", "fire"), t("al", "qassam"))),
        ("Hamas-run -x", ("AND", t("hamas", "run"), ("NOT", t("x")))),
        ("a NEAR/1000 b", ("NEAR", 1000, t("a"), t("b"))),  # the cap itself is allowed
    ],
)
def test_forms(query: str, expected: object) -> None:
    assert shape(parse_query(query)) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # NOT > NEAR > AND > OR
        ("a OR b AND c", ("OR", t("a"), ("AND", t("b"), t("c")))),
        ("a OR b c", ("OR", t("a"), ("AND", t("b"), t("c")))),
        ("a AND b OR c", ("OR", ("AND", t("a"), t("b")), t("c"))),
        ("a NEAR/2 b c", ("AND", ("NEAR", 2, t("a"), t("b")), t("c"))),
        ("a NEAR/2 b OR c", ("OR", ("NEAR", 2, t("a"), t("b")), t("c"))),
        ("NOT a OR b", ("OR", ("NOT", t("a")), t("b"))),
        ("NOT a b", ("AND", ("NOT", t("a")), t("b"))),
        ("a NEAR/2 b NEAR/3 c", ("NEAR", 3, ("NEAR", 2, t("a"), t("b")), t("c"))),
        ("(a OR b) NEAR/4 c", ("NEAR", 4, ("OR", t("a"), t("b")), t("c"))),
    ],
)
def test_precedence(query: str, expected: object) -> None:
    assert shape(parse_query(query)) == expected


def test_design_queries_parse() -> None:
    q = parse_query('("prisoner exchange" OR "hostage deal" OR captives OR hostages) AND (negotiat* OR mediat* OR talks)')
    assert isinstance(q, And) and len(q.children) == 2
    q = parse_query("@ibrahim-kalin NEAR/25 (@shin-bet OR @ronen-bar)")
    assert isinstance(q, Near) and q.distance == 25 and not q.ordered


@pytest.mark.parametrize(
    ("query", "message", "column", "hint"),
    [
        ('("prisoner exchange" OR hostages AND negotiat*', "unbalanced '('", 1, "close the parenthesis opened here"),
        ("a OR (b AND (c OR d)", "unbalanced '('", 6, "close the parenthesis opened here"),
        ("a OR b)", "unbalanced ')'", 7, None),
        ("", "empty query", 1, None),
        ("   ", "empty query", 1, None),
        ("ne*", "a wildcard needs at least 3 characters before '*'", 1, None),
        ("hostage ab*", "a wildcard needs at least 3 characters before '*'", 9, None),
        ("neg*otiate", "'*' is allowed only at the end of a word", 1, None),
        ("a NEAR b", "NEAR needs a distance", 3, "write NEAR/5 for 'within 5 words'"),
        ("a NEAR/x b", "NEAR needs a distance", 3, None),
        ("a NEAR/10000 b", "NEAR distance 10000 is above the cap of 1000 words", 3,
         "write NEAR/1000 at most, or AND for 'anywhere in the article'"),
        ("a ONEAR/1001 b", "ONEAR distance 1001 is above the cap of 1000 words", 3, None),
        ("a ONEAR/0 b", "ONEAR needs a distance", 3, None),
        ("a AND", "'AND' needs a word, phrase or group after it", 3, None),
        ("OR a", "'OR' needs a word, phrase or group before it", 1, None),
        ("a OR OR b", "'OR' needs a word, phrase or group after it", 3, None),
        ("NOT", "'NOT' needs a word, phrase or group after it", 1, None),
        ('"unclosed phrase', "unterminated phrase", 1, None),
        # The phrase left open, not the quote at the end that the parser would otherwise pair wrongly.
        ('"prisoner exchange OR "hostage deal" AND talks', "unterminated phrase", 1,
         'close the phrase with a matching " (the quote at column 23 opens another)'),
        ('talks AND ("hostage deal" OR "prisoner exchange)', "unterminated phrase", 30, None),
        ("()", "empty parentheses", 1, None),
        ("foo:bar", "unknown field 'foo': 'word:' is field syntax", 1, None),
        ("Gaza: ceasefire", "unknown field 'Gaza': 'word:' is field syntax", 1,
         'to match the text, quote it: "Gaza: ceasefire" (or drop the colon); '
         "the fields are title, body, author, url, source, lang:, tag:"),
        ("title:", "'title:' needs a word, phrase or group", 1, None),
        ("lang:", "'lang:' needs a value", 1, None),
        ("title:lang:ar", "lang: cannot be used inside title:", 7, None),
        ("@Bad_Id!", "invalid actor reference '@Bad_Id!'", 1, None),
        ("a AND NOT b NEAR/3 c", "NEAR needs a word, phrase, @actor or OR-group on each side", 13, None),
        ("(a AND b) NEAR/3 c", "NEAR needs a word, phrase, @actor or OR-group on each side", 11, None),
        ("!!!", "term '!!!' has no letters or digits", 1, None),
    ],
)
def test_errors(query: str, message: str, column: int, hint: str | None) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.message == message
    assert info.value.column == column
    if hint is not None:
        assert info.value.hint == hint
    assert info.value.hint  # every error gives the analyst a hint


# Syntax of other tools that would silently mean something else here: refused with our equivalent.
@pytest.mark.parametrize(
    ("query", "message", "column", "hint"),
    [
        ("Hamas or Hezbollah", "'or' between two terms is matched as a word, so the query needs both terms and the"
         ' word "or"', 7, 'operators are capitals: write OR; to match the word itself, quote it: "or"'),
        ("Hamas not ceasefire", "'not' between two terms is matched as a word, so the query needs the word \"not\" and"
         " the term after it: the opposite of NOT", 7, None),
        ('(Hamas) Or "Islamic Jihad"', None, 9, "operators are capitals: write OR; to match the word itself, quote it:"
         ' "Or"'),
        ("Hamas w/5 ceasefire", "'w/5' is proximity syntax of other tools", 7, "here write NEAR/5 (either order)"),
        ("Hamas W/10 ceasefire", "'W/10' is proximity syntax of other tools", 7, "here write NEAR/10 (either order)"),
        ("Hamas pre/3 ceasefire", "'pre/3' is proximity syntax of other tools", 7,
         "here write ONEAR/3 (the left side first)"),
        ("Hamas w/s ceasefire", "'w/s' (same sentence or paragraph) is proximity syntax of other tools", 7,
         "here distances are in words: write NEAR/15 for a sentence, NEAR/50 for a paragraph"),
        ("Hamas near/5 ceasefire", "'near/5': operators are written in capitals", 7, "write NEAR/5"),
        ('"Hamas ceasefire"~5', "'~5' after a phrase is proximity syntax of other tools", 18,
         "here write Hamas NEAR/5 ceasefire"),
        ("Hamas ~5 ceasefire", "'~5' is proximity syntax of other tools", 7,
         "here write a NEAR/5 b for 'a within 5 words of b'"),
        ("ceasefire~", "'ceasefire~': '~' (fuzzy matching) is not supported", 10,
         "list the spellings with OR, e.g. (ceasefire OR ...)"),
        ("wom?n", "'wom?n': '?' is not a wildcard here", 4,
         "write wom* for any ending or list the spellings: (woman OR women)"),
        ("Hamas?", "'Hamas?': '?' is not a wildcard here", 6, "write Hamas* for any ending"),
    ],
)
def test_habits_of_other_tools(query: str, message: str | None, column: int, hint: str | None) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    if message is not None:
        assert info.value.message == message
    assert info.value.column == column
    if hint is not None:
        assert info.value.hint == hint


@pytest.mark.parametrize(
    ("query", "columns"),
    [
        ("Hamas and Fatah", [7]),
        ("(Hamas AND Fatah) and -ceasefire", [19]),
        ("Hamas AND Fatah", []),
        ("and", []),  # a word on its own: nothing to join
        ('"Hamas and Fatah"', []),  # inside a phrase it is a word of the phrase
        ("Hamas and", []),
        ("Hamas or", []),  # not between two terms: a word, as before
        ("and or not", []),
    ],
)
def test_lower_case_and_between_terms_is_a_warning(query: str, columns: list[int]) -> None:
    _, warnings = parse_query_with_warnings(query)
    assert [w.column for w in warnings] == columns
    for warning in warnings:
        assert warning.message == f"'{query[warning.column - 1:warning.column + 2]}' is matched as a word: the article" \
                                  ' must also contain "and"'
        assert warning.hint.startswith("write AND")


def test_minus_excludes_when_matching() -> None:
    query = compile_adhoc('Hamas -ceasefire -"prisoner exchange"')
    assert query.match(Document(title="Hamas rejects the plan")) is not None
    assert query.match(Document(title="Hamas agrees to a ceasefire")) is None
    assert query.match(Document(body="Hamas and the prisoner exchange")) is None
    hyphenated = compile_adhoc("Hamas cease-fire")
    assert hyphenated.match(Document(title="Hamas agrees to a cease-fire")) is not None


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(QuerySyntaxError, match="nested too deeply"):
        parse_query("(" * 500 + "a" + ")" * 500)
