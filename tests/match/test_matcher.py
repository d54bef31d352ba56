"""The compiled matcher: the §3.3 table, negatives, actors, the §1 story, check_watchlists, ad-hoc queries."""

from __future__ import annotations

import pytest

from monitor.config.models import WatchlistConfig
from monitor.errors import MonitorError, QuerySyntaxError, WatchlistCompileError
from monitor.match import CompiledWatchlists, check_watchlists, compile_adhoc
from monitor.model import Document
from tests.match.stories import BAR_STORY, MIT_STORY, STORY, STORY_TITLE


def matches(query: str, body: str = "", title: str = "", **doc: object) -> bool:
    return compile_adhoc(query).match(Document(title=title, body=body, **doc)) is not None  # type: ignore[arg-type]


# ------------------------------------------------------------------ every row of the §3.3 table


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("hostage", "a hostage was freed", True),
        ("hostage", "the hostages were freed", False),  # whole tokens only
        ("hostage", "HOSTAGE crisis", True),
        ('"prisoner exchange"', "talks on a prisoner exchange resumed", True),
        ('"prisoner exchange"', "an exchange of prisoner lists", False),  # order matters
        ('"prisoner exchange"', "prisoner, exchange", True),  # punctuation is not a token
        ('"prisoner exchange"', "prisoner and exchange", False),
        ("negotiat*", "negotiations resumed", True),
        ("negotiat*", "the negotiator left", True),
        ("negotiat*", "renegotiation", False),  # prefix of a token, not a substring
        ("a1 AND b1", "a1 b1", True),
        ("a1 AND b1", "a1 only", False),
        ("a1 b1", "b1 then a1", True),
        ("a1 OR b1", "only b1", True),
        ("a1 OR b1", "neither", False),
        ("NOT a1", "b1 here", True),
        ("NOT a1", "a1 here", False),
        ("a1 AND NOT b1", "a1 here", True),
        ("a1 AND NOT b1", "a1 and b1", False),
        ("(a1 OR b1) AND c1", "b1 c1", True),
        ("(a1 OR b1) AND c1", "a1 b1", False),
        ("a1 OR b1 AND c1", "a1", True),  # AND binds tighter than OR
        ("gaza NEAR/3 hostages", "Gaza and its hostages", True),
        ("gaza NEAR/3 hostages", "hostages held in Gaza", True),  # either order
        ("gaza NEAR/3 hostages", "gaza one two three hostages", True),  # exactly 3 between
        ("gaza NEAR/3 hostages", "gaza one two three four hostages", False),  # 4 between
        ("gaza NEAR/3 hostages", "hostages one two three four gaza", False),
        ("gaza ONEAR/3 hostages", "gaza and hostages", True),
        ("gaza ONEAR/3 hostages", "hostages in gaza", False),  # ordered
        ('"hostage deal" NEAR/2 qatar', "Qatar brokered the hostage deal", True),
        ("@ronen-bar", "Shin Bet chief Ronen Bar said", True),
        ("lang:ar", "anything", True),
    ],
)
def test_table(query: str, text: str, expected: bool, mena: dict[str, WatchlistConfig]) -> None:
    doc = Document(body=text, language="ar")
    assert (compile_adhoc(query, mena).match(doc) is not None) is expected


@pytest.mark.parametrize(
    ("query", "doc", "expected"),
    [
        ("title:hostage", Document(title="Hostage freed", body="nothing"), True),
        ("title:hostage", Document(title="Nothing", body="hostage freed"), False),
        ("body:hostage", Document(title="Hostage freed", body="nothing"), False),
        ("title:(a1 OR b1)", Document(title="b1", body="a1"), True),
        ("author:smith", Document(body="smith", author="Jane Smith"), True),
        ("author:smith", Document(body="smith", author="Jane Doe"), False),
        ("url:gaza", Document(url="https://example.org/news/gaza-talks"), True),
        ("source:reuters", Document(source="Reuters"), True),
        ("source:reuters", Document(body="Reuters reported"), False),
        ("hostage", Document(author="hostage"), False),  # unfielded means title and body
        ("lang:ar", Document(language="ar-EG"), True),
        ("lang:ar", Document(language="en"), False),
        ("lang:ar", Document(), False),
        ("tag:mena", Document(tags=frozenset({"MENA", "english"})), True),
        ("tag:mena", Document(tags=frozenset({"europe"})), False),
        ("tag:mena NOT hostage", Document(body="hostage", tags=frozenset({"mena"})), False),
    ],
)
def test_fields_language_tags(query: str, doc: Document, expected: bool) -> None:
    assert (compile_adhoc(query).match(doc) is not None) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("Türkiye", "TURKIYE and Turkiye", True),
        ("turkiye", "Türkiye’s president", True),
        ('"İbrahim Kalın"', "Ibrahim Kalin spoke", True),
        ('"ibrahim kalin"', "İBRAHİM KALIN spoke", True),
        ("Netanyahu", "Netanyahu’s cabinet", True),
        ("Netanyahu", "Netanyahu's cabinet", True),
        ("Hamas", "the Hamas-run ministry", True),
        ("Kalin", "Kaliningrad is a city", False),
        ("Kalin", "Kalın'ın açıklaması", True),
        ("Straße", "STRASSE", True),
        ("غزة", "قصف في غزة اليوم", True),
        ("בעזה", "החטופים בעזה", True),
        ("заложники", "Заложники в Газе", True),
        ('"όμηροι γάζα"', "Όμηροι Γάζα", True),
        ("東京", "東京 都", True),
        ("amp", "R&amp;D budget", False),  # entities never match
        ("href", '<a href="/x">link</a>', False),  # tags never match
        ("kalin", "Ka<b>lin</b> met", True),  # nor split a word
    ],
)
def test_folding_on_both_sides(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


# ------------------------------------------------------------------ actors


def watchlist(**body: object) -> dict[str, WatchlistConfig]:
    return {"w": WatchlistConfig.model_validate({"id": "w", "name": "W", **body})}


def actor_ids(compiled: CompiledWatchlists, text: str, title: str = "") -> list[str]:
    return [m.id for m in compiled.match(Document(title=title, body=text)) if m.kind == "actor"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Turkey's MIT said", ["mit"]),
        ("Turkey's MİT said", ["mit"]),
        ("she went mit ihm", []),  # German "mit"
        ("Mit freundlichen Grüßen", []),
        ("the National Intelligence Organization said", ["mit"]),
        ("MIT researchers in Cambridge", []),  # exclude vetoes
        ("MIT, the Massachusetts Institute of Technology", []),
    ],
)
def test_exact_case_and_exclude(text: str, expected: list[str], mena: dict[str, WatchlistConfig]) -> None:
    compiled = CompiledWatchlists.compile(mena)
    assert [i for i in actor_ids(compiled, text) if i == "mit"] == expected


def test_aliases_are_token_sequences() -> None:
    compiled = CompiledWatchlists.compile(
        watchlist(actors=[{"id": "rb", "name": "Ronen Bar", "aliases": ["Shin Bet chief"]}])
    )
    assert actor_ids(compiled, "Ronen Bar met") == ["rb"]
    assert actor_ids(compiled, "RONEN BAR met") == ["rb"]
    assert actor_ids(compiled, "the Shin Bet chief said") == ["rb"]
    assert actor_ids(compiled, "Ronen went to a bar") == []
    assert actor_ids(compiled, "Bar Ronen") == []
    assert actor_ids(compiled, "Ronen") == []


def test_actor_reference_across_lists() -> None:
    lists = {
        "people": WatchlistConfig.model_validate(
            {"id": "people", "name": "P", "actors": [{"id": "kalin", "name": "Ibrahim Kalin"}]}
        ),
        "topics": WatchlistConfig.model_validate(
            {"id": "topics", "name": "T", "topics": [{"id": "t", "name": "T", "query": "@people/kalin AND ankara"}]}
        ),
    }
    compiled = CompiledWatchlists.compile(lists)
    got = compiled.match(Document(body="İbrahim Kalın arrived in Ankara"))
    assert [(m.watchlist, m.id) for m in got] == [("people", "kalin"), ("topics", "t")]
    assert [m.id for m in compiled.match(Document(body="İbrahim Kalın arrived in Ankara"), only=["topics"])] == ["t"]


def test_exclude_also_applies_to_references(mena: dict[str, WatchlistConfig]) -> None:
    q = compile_adhoc("@mena-security/mit", mena)
    assert q.match(Document(body="MIT officers")) is not None
    assert q.match(Document(body="MIT officers in Cambridge")) is None


# ------------------------------------------------------------------ the story of DESIGN §1


def test_story_of_2024_11_19(mena: dict[str, WatchlistConfig]) -> None:
    compiled = CompiledWatchlists.compile(mena)
    doc = Document(title=STORY_TITLE, body=STORY, language="en")
    got = {m.id: m for m in compiled.match(doc)}
    for entry in ("ibrahim-kalin", "ronen-bar", "shin-bet", "netanyahu", "david-barnea", "mossad", "qatar",
                  "turkey", "hostage-talks", "turkey-israel-intel"):
        assert entry in got, entry
    assert "mit" not in got
    kalin = got["ibrahim-kalin"]
    assert [h.to_json() for h in kalin.highlights] == [
        {"field": "body", "start": STORY.index("İbrahim"), "end": STORY.index("İbrahim") + 13, "text": "İbrahim Kalın"}
    ]
    assert "[[İbrahim Kalın]]" in kalin.snippet
    for m in got.values():  # every highlight points at the original text
        for h in m.highlights:
            assert (STORY if h.field == "body" else STORY_TITLE)[h.start : h.end] == h.text
    assert got["netanyahu"].highlights[0].text == "Netanyahu"
    intel = got["turkey-israel-intel"]
    assert {h.text for h in intel.highlights} == {"İbrahim Kalın", "Shin Bet", "Ronen Bar"}
    talks = got["hostage-talks"]
    assert {h.text for h in talks.highlights} >= {"captives", "mediate", "mediation", "negotiations"}
    assert len(talks.snippet) <= 240


@pytest.mark.parametrize("body", [BAR_STORY, MIT_STORY])
def test_story_negatives(body: str, mena: dict[str, WatchlistConfig]) -> None:
    got = {m.id for m in CompiledWatchlists.compile(mena).match(Document(body=body))}
    assert not got & {"ronen-bar", "mit", "turkey-israel-intel", "hostage-talks"}


def test_output_is_deterministic_and_in_configuration_order(mena: dict[str, WatchlistConfig]) -> None:
    compiled = CompiledWatchlists.compile(mena)
    doc = Document(title=STORY_TITLE, body=STORY)
    first = [m.to_json() for m in compiled.match(doc)]
    assert first == [m.to_json() for m in CompiledWatchlists.compile(mena).match(doc)]
    order = mena["mena-security"].entry_ids()
    ids = [m["id"] for m in first]
    assert ids == sorted(ids, key=order.index)


def test_highlights_only_from_positive_terms() -> None:
    m = compile_adhoc("hostages AND NOT ceasefire OR (talks AND NOT truce)").match(
        Document(body="hostages and talks, no truce")
    )
    assert m is not None
    assert [h.text for h in m.highlights] == ["hostages"]


def test_snippet_marks_and_clips() -> None:
    body = "word " * 100 + "the head of the Turkish intelligence service, Ibrahim Kalin, met with " + "x " * 200
    m = compile_adhoc('"Ibrahim Kalin"').match(Document(body=body))
    assert m is not None
    assert m.snippet.startswith("... ") and m.snippet.endswith(" ...")
    assert "service, [[Ibrahim Kalin]], met with" in m.snippet
    assert len(m.snippet) <= 240


def test_recompiling_builds_a_new_object(mena: dict[str, WatchlistConfig]) -> None:
    a = CompiledWatchlists.compile(mena)
    b = CompiledWatchlists.compile(mena)
    assert a is not b
    assert a.match(Document(body="Ronen Bar")) == b.match(Document(body="Ronen Bar"))


def test_always_evaluated_queries() -> None:
    lists = watchlist(topics=[{"id": "not-sport", "name": "N", "query": "NOT football"},
                              {"id": "arabic", "name": "A", "query": "lang:ar"}])
    compiled = CompiledWatchlists.compile(lists)
    assert [m.id for m in compiled.match(Document(body="politics", language="ar"))] == ["not-sport", "arabic"]
    assert [m.id for m in compiled.match(Document(body="football", language="en"))] == []


# ------------------------------------------------------------------ errors and check_watchlists


def test_compile_raises_with_every_problem() -> None:
    lists = watchlist(
        actors=[{"id": "ronen-bar", "name": "Ronen Bar", "exclude": "(bar"}],
        topics=[{"id": "t1", "name": "T", "query": "@ronen-bahr AND talks"}, {"id": "t2", "name": "T", "query": "ok"}],
    )
    with pytest.raises(WatchlistCompileError) as info:
        CompiledWatchlists.compile(lists)
    assert isinstance(info.value, MonitorError)
    assert [(p.entry_id, p.field, p.column) for p in info.value.problems] == [
        ("ronen-bar", "exclude", 1), ("t1", "query", 1)
    ]
    assert info.value.problems[1].message == "unknown actor '@ronen-bahr' — did you mean '@ronen-bar'?"


def test_unknown_actor_names_the_nearest_ids_and_the_list_that_has_it() -> None:
    lists = {
        **watchlist(actors=[{"id": "ronen-bar", "name": "Ronen Bar"}, {"id": "ronen-barr", "name": "R"},
                            {"id": "ronan-bar", "name": "R"}, {"id": "kalin", "name": "Kalin"}],
                    topics=[{"id": "t1", "name": "T", "query": "@ronen-bah"}, {"id": "t2", "name": "T", "query": "@mit"}]),
        "intel": WatchlistConfig.model_validate({"id": "intel", "name": "I", "actors": [{"id": "mit", "name": "MIT"}]}),
    }
    with pytest.raises(WatchlistCompileError) as info:
        CompiledWatchlists.compile(lists)
    near, elsewhere = info.value.problems
    assert near.message == "unknown actor '@ronen-bah' — did you mean '@ronen-bar', '@ronen-barr' or '@ronan-bar'?"
    assert elsewhere.message == "unknown actor '@mit'"
    assert elsewhere.hint == "'mit' is an actor of watchlist 'intel': write @intel/mit"


def test_adhoc_errors() -> None:
    with pytest.raises(QuerySyntaxError, match="unknown actor '@nobody'"):
        compile_adhoc("@nobody")
    with pytest.raises(QuerySyntaxError, match="unknown watchlist 'mena'"):
        compile_adhoc("@mena/kalin")


def test_check_watchlists(mena: dict[str, WatchlistConfig]) -> None:
    assert check_watchlists(mena) == []
    body = mena["mena-security"].model_dump()
    body["topics"] = [*body["topics"], {"id": "broken", "name": "B", "query": '("prisoner exchange" OR hostages'}]
    body["tests"] = [
        {"title": STORY_TITLE, "text": STORY, "matches": ["ronen-bar", "hostage-talks", "mit"],
         "not_matches": ["turkey", "nobody"]},
        {"text": BAR_STORY, "not_matches": ["ronen-bar"], "matches": ["broken"]},
    ]
    problems = check_watchlists({"mena-security": WatchlistConfig.model_validate(body)})
    got = [(p.entry_id, p.field, p.column, p.test_index) for p in problems]
    assert got == [
        ("broken", "query", 1, None),
        ("mit", "tests", None, 0),
        ("turkey", "tests", None, 0),
        ("nobody", "tests", None, 0),
    ]
    assert problems[0].message == "unbalanced '('" and problems[0].hint == "close the parenthesis opened here"
    assert "unknown entry 'nobody'" in problems[3].message
