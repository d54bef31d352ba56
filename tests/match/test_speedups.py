"""The fast paths of the scanner agree with the plain ones: ASCII tokenising, offsets, presearch, caches."""

from __future__ import annotations

import random

import pytest

from monitor.config.models import WatchlistConfig
from monitor.match import CompiledWatchlists, tokenize
from monitor.match import scan as scan_module
from monitor.match.fieldtext import FieldText
from monitor.match.fold import ascii_folded, fold_token, split_words
from monitor.match.scan import PatternTable
from monitor.model import Document

TEXTS = [
    "Plain ASCII text, with punctuation; and_underscores, 12.5% and AT&T.",
    "Netanyahu’s “war cabinet” — met — in Doha… Hamas-run ministry\u00a0said\u2009today",
    "Kalin Kalin kalin KALIN, Kaliningrad and kalin's",
    "  leading and trailing spaces\n\tand tabs  ",
    "Türkiye’s İbrahim Kalın met Ronen Bar — Straße, ﬁnance",  # not ASCII: the general path
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_ascii_path_tokens_and_offsets_equal_the_regex_path(text: str) -> None:
    lower = ascii_folded(text)
    expected = tokenize(text)
    if lower is None:  # letters outside ASCII: the regex path (next test) handles the text
        assert not text.isascii()
        return
    folded = lower.split()
    assert folded == [fold_token(t) for t in split_words(text)[1::2]]
    ft = FieldText(text, None, folded, set(folded), lower, None)
    assert [(t, *ft.char_span(i, i + 1)) for i, t in enumerate(folded)] == expected
    for i in range(len(folded) - 1):  # spans of several tokens
        assert ft.char_span(i, i + 2) == (expected[i][1], expected[i + 1][2])


@pytest.mark.parametrize("text", TEXTS)
def test_regex_path_offsets(text: str) -> None:
    parts = split_words(text)
    folded = [fold_token(t) for t in parts[1::2]]
    ft = FieldText(text, None, folded, set(folded), None, parts)
    assert [(t, *ft.char_span(i, i + 1)) for i, t in enumerate(folded)] == tokenize(text)


def _random_config(rng: random.Random, words: list[str]) -> dict[str, WatchlistConfig]:
    def term() -> str:
        r = rng.random()
        if r < 0.2:
            return f'"{rng.choice(words)} {rng.choice(words)}"'
        if r < 0.3:
            return rng.choice(words)[:3] + "*"
        return rng.choice(words)

    actors = [{"id": f"a{i}", "name": f"{rng.choice(words)} {rng.choice(words)}",
               "aliases": [rng.choice(words)]} for i in range(8)]
    actors[0]["exclude"] = term()
    shapes = [
        "{0} AND {1}", "{0} OR {1} {2}", "({0} OR {1}) AND NOT {2}", "{0} NEAR/3 ({1} OR {2})",
        "{0} ONEAR/2 {1}", "NOT {0}", "title:{0} AND {1}", "@a{3} AND ({0} OR {1})", "@a0 NEAR/4 {1}",
        "({0} AND {1}) OR ({2} AND @a{3})", "lang:en AND {0}", "{0} {1} NOT ({2} OR {0})",
    ]
    topics = [{"id": f"t{i}", "name": f"t{i}",
               "query": rng.choice(shapes).format(term(), term(), term(), rng.randint(0, 7))}
              for i in range(30)]
    return {"w": WatchlistConfig.model_validate({"id": "w", "name": "w", "actors": actors, "topics": topics})}


def test_presearch_never_drops_a_match() -> None:
    # The presearch (indexing and required pattern sets) must only skip entries that cannot hold:
    # compare with evaluating every entry on every document.
    rng = random.Random(7)
    words = ["gaza", "hamas", "talks", "cairo", "doha", "mediator", "hostage", "truce", "kalin", "bar"]
    for _ in range(20):
        compiled = CompiledWatchlists.compile(_random_config(rng, words))
        for _ in range(15):
            body = " ".join(rng.choice(words + ["the", "and", "of"]) for _ in range(rng.randint(0, 25)))
            doc = Document(title=rng.choice(words), body=body, language="en")
            got = [m.id for m in compiled.match(doc)]
            sc = scan_module.scan(doc, compiled._table, compiled._fields)
            assert got == [e.id for e in compiled._entries if e.node.true(sc)], (body, got)


@pytest.mark.parametrize("query", ["negotiat* AND (mediat* OR talks)", "negot* AND (mediat* OR talks)",
                                   "negotiat* AND (med* OR talks)"])
def test_wildcards_of_one_or_several_lengths(query: str) -> None:
    wl = WatchlistConfig.model_validate({"id": "w", "name": "w", "topics": [{"id": "t", "name": "t", "query": query}]})
    compiled = CompiledWatchlists.compile({"w": wl})
    texts = ["negotiators in the mediation room", "one two three four five six negotiating mediator",
             "alpha beta gamma delta negotiation talks", "Negotiations and MEDIATORS again"]
    for _ in range(2):
        for text in texts:
            got = compiled.match(Document(body=text))
            assert [m.id for m in got] == ["t"], text
            assert all(text[h.start : h.end] == h.text for h in got[0].highlights)
        assert compiled.match(Document(body="negotiating nothing more")) == []
        assert compiled.match(Document(body="ne me mediation talks")) == []


def test_table_keys_single_words_by_themselves() -> None:
    table = PatternTable()
    word, phrase, wild = table.add(("gaza",)), table.add(("gaza", "city")), table.add(("gaz",), True)
    longer = table.add(("hostag",), True)
    table.freeze()
    assert table.keys[word] == "gaza" and table.keys[phrase] == phrase and table.keys[wild] == wild
    assert table.hits({"gaza", "the"}) == {"gaza", wild}
    assert table.hits({"hostages", "gazan", "ga"}) == {longer, wild}


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("Officials of the National Intelligence Organization (MİT) said", "National Intelligence Organization (MİT)"),
        ("the National Intelligence Organization (MIT", "National Intelligence Organization (MIT"),
        ("the National Intelligence Organization (MIT))", "National Intelligence Organization (MIT)"),
    ],
)
def test_highlight_keeps_bracket_pairs(body: str, text: str, mena: dict[str, WatchlistConfig]) -> None:
    mit = {m.id: m for m in CompiledWatchlists.compile(mena).match(Document(body=body))}["mit"]
    assert [h.text for h in mit.highlights] == [text]
    assert body[mit.highlights[0].start : mit.highlights[0].end] == text
    assert f"[[{text}]]" in mit.snippet


def test_highlight_of_a_bracketed_word_is_the_word(mena: dict[str, WatchlistConfig]) -> None:
    mit = CompiledWatchlists.compile(mena).match(Document(body="Turkey's intelligence service (MİT) said"))
    assert [h.text for m in mit if m.id == "mit" for h in m.highlights] == ["MİT"]


def test_wildcard_automaton_agrees_with_cutting_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    # ASCII text finds wildcards with an automaton over the text (nested prefixes included) and their
    # tokens by searching the text; the general path cuts tokens and searches the set of tokens.
    rng = random.Random(11)
    words = ["gaza", "gazan", "gazette", "hostage", "hostages", "mediator", "mediation", "talks", "kalin", "bar"]
    queries = ["gaz*", "gaza*", "gazet*", "hostag* NEAR/3 medi*", "title:gaz* AND talks", "medi* AND NOT host*",
               '"hostage medi*"', "kal* OR bar"]
    wl = WatchlistConfig.model_validate({"id": "w", "name": "w", "topics": [
        {"id": f"t{i}", "name": f"t{i}", "query": q} for i, q in enumerate(queries)]})
    compiled = CompiledWatchlists.compile({"w": wl})
    docs = []
    for _ in range(60):
        body = ", ".join(rng.choice(words + ["the", "of"]).capitalize() for _ in range(rng.randint(0, 20)))
        docs.append(Document(title=rng.choice(words) + " talks", body=body + " — end", language="en"))

    def run() -> list[list[tuple[str, tuple[object, ...], str]]]:
        return [[(m.id, m.highlights, m.snippet) for m in compiled.match(d)] for d in docs]

    fast = run()
    assert compiled._table._prefix_automaton is not None
    monkeypatch.setattr(compiled._table, "_prefix_automaton", None)  # as without ahocorasick_rs
    assert run() == fast
    monkeypatch.setattr(scan_module, "ascii_folded", lambda text: None)  # every field the general path
    assert run() == fast
    assert any(fast)


def _reference_ascii_folded(text: str) -> str | None:
    from monitor.match.fold import _ASCII_FOLD, _SEPARATOR_RE

    text = _SEPARATOR_RE.sub(" ", text)
    return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii") if text.isascii() else None


def test_ascii_folded_through_windows_1252_equals_the_regex_way() -> None:
    # Text is encoded to ASCII or Windows-1252 to turn its common separators into spaces; the result
    # must be what replacing every separator by a space and requiring ASCII gives, for every character.
    for code in [*range(0x3000), 0xFEFF, 0xFFFD, 0x1F600]:
        for text in (f"Ab{chr(code)}cD 1", f"x’{chr(code)} y—z", f"{chr(code)}\u2009q", f"?’{chr(code)}?"):
            assert ascii_folded(text) == _reference_ascii_folded(text), hex(code)


@pytest.mark.parametrize("text", ["Why? It’s “fine”?", "?’?", "a\u00a0b…c ‘q’ — é?", "’’’日本", "’?\u2009", "–?"])
def test_ascii_folded_counts_question_marks_apart(text: str) -> None:
    # The fast path replaces every non-ASCII character by "?": the text's own "?" must not be taken
    # for separators it counted.
    assert ascii_folded(text) == _reference_ascii_folded(text)


def test_compiled_watchlists_pickle_with_their_wildcard_automaton() -> None:
    import pickle

    wl = WatchlistConfig.model_validate({"id": "w", "name": "w", "topics": [
        {"id": "t", "name": "t", "query": "negotiat* AND talks"}]})
    compiled = pickle.loads(pickle.dumps(CompiledWatchlists.compile({"w": wl})))
    assert [m.id for m in compiled.match(Document(body="Negotiations and talks"))] == ["t"]
