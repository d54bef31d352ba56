"""English compounds written apart in an article (issue 20 point 5): `cease fire` matches `ceasefire`."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.models import WatchlistConfig
from monitor.match import CompiledWatchlists
from monitor.match.compounds import COMPOUND_TAILS, is_tail
from monitor.model import Document
from tests.match.surfaces import highlighted

# (query, text, highlighted surface forms)
POSITIVES = [
    ("ceasefire", "a cease fire now", ("cease fire",)),
    ("ceasefire", "Cease Fire holds", ("Cease Fire",)),
    ("ceasefire", "a cease\u00a0fire now", ("cease\u00a0fire",)),  # a no-break space
    ("ceasefire", "(cease fire)", ("cease fire",)),
    ("ceasefire", "Hamas\u2019s cease fire \u00e9", ("cease fire",)),  # not ASCII: the general path
    ("ceasefire", "<p>a <b>cease</b> fire</p>", ("cease</b> fire",)),  # inline markup does not separate
    ("ceasefire", "\u00e9 cease\u00a0fire", ("cease\u00a0fire",)),
    ("ceasefires", "two cease fires", ("cease fires",)),  # a plural ending
    ("ceasefire*", "two cease fires", ("cease fires",)),
    ("ceasefir*", "the cease fires", ("cease fires",)),
    ("ceasefir*", "the cease fire", ("cease fire",)),
    ("airstrike", "an air strike", ("air strike",)),  # a first word of 3 letters
    ("airstrikes", "AIR STRIKES", ("AIR STRIKES",)),
    ("healthcare", "health care reform", ("health care",)),
    ("peacekeeping", "peace keeping troops", ("peace keeping",)),
    ("crackdown", "a crack down on", ("crack down",)),
    ("takeover", "to take over the port", ("take over",)),
    ("cybersecurity", "cyber security", ("cyber security",)),
    ("whistleblower", "a whistle blower", ("whistle blower",)),
    ("warzone", "a war zone", ("war zone",)),
    ("headquarters", "its head quarters", ("head quarters",)),
    ("ceasefire", "cease fire, cease-fire and ceasefire", ("cease fire", "cease-fire", "ceasefire")),
    ("ceasefire NEAR/1 talks", "cease fire talks", ("cease fire", "talks")),
    ('"ceasefire talks"', "cease fire talks", ()),  # a phrase's words stay tokens: write it "cease fire talks"
    ('"cease fire"', "a ceasefire", ("ceasefire",)),  # the reverse, as before
    ("cease-fire", "a cease fire", ("cease fire",)),
]

# Two words side by side that spell a listed word but are not that word (or are too uncertain to be).
NEGATIVES = [
    ("iran", "I ran home"),  # a first word of 1 letter, and `ran` is no compound ending
    ("warsaw", "the war saw"),
    ("therapist", "the rapist"),
    ("goodyear", "a good year"),  # endings that mostly make names are not on the list
    ("greenland", "green land"),
    ("newsweek", "news week"),
    ("facebook", "face book"),
    ("blackwater", "black water"),
    ("newman", "a new man"),
    ("newport", "a new port"),
    ("newtown", "a new town"),
    ("overtime", "prices rose over time"),
    ("email", "e mail"),  # a first word under 3 letters
    ("ceasefire", "a cease, fire"),  # punctuation between
    ("ceasefire", "a cease. Fire"),
    ("ceasefire", "a cease\nfire"),  # a line break between
    ("ceasefire", "a cease  fire"),  # more than one space
    ("ceasefire", "cease's fire"),
    ("ceasefire", "cease fires"),  # the plural is another word, as `ceasefires` is
    ("ceasefire", "a cease fireworks"),
    ("ceasefire", "a decease fire"),
    ("ceasef*", "the cease fire"),  # a wildcard's prefix must hold 3 letters of the ending
    ("raw:Ceasefire", "Cease fire"),  # exact case: as written
    ("ceasefire", "cease fire2"),
]


@pytest.mark.parametrize(("query", "text", "surfaces"), POSITIVES)
def test_compound_written_apart(query: str, text: str, surfaces: tuple[str, ...]) -> None:
    assert highlighted(query, text) == (surfaces or None)


@pytest.mark.parametrize(("query", "text"), NEGATIVES)
def test_look_alikes_stay_silent(query: str, text: str) -> None:
    assert highlighted(query, text) is None


def test_actors_topics_fields_and_pinned_words() -> None:
    body = {"id": "w", "name": "w",
            "actors": [{"id": "hq", "name": "Central Command", "aliases": ["Headquarters"]},
                       {"id": "wiki", "name": "WikiLeaks", "forms": "exact"}],
            "topics": [{"id": "cf", "name": "cf", "query": "title:ceasefire"},
                       {"id": "strikes", "name": "strikes", "query": "airstrike AND body:crackdown", "forms": "exact"}]}
    compiled = CompiledWatchlists.compile({"w": WatchlistConfig.model_validate(body)})

    def found(doc: Document) -> list[tuple[str, list[tuple[str, str]]]]:
        return [(m.id, [(h.field, h.text) for h in m.highlights]) for m in compiled.match(doc)]

    assert found(Document(title="Cease fire agreed", body="the head quarters said")) == [
        ("hq", [("body", "head quarters")]), ("cf", [("title", "Cease fire")])]
    assert found(Document(title="x", body="a cease fire")) == []  # title: only
    assert found(Document(title="Air strike", body="a crack down, Wiki Leaks said", language="de")) == [
        ("wiki", [("body", "Wiki Leaks")]), ("strikes", [("title", "Air strike"), ("body", "crack down")])]


def test_the_ending_list() -> None:
    assert all(t.isalpha() and t == t.lower() and len(t) >= 3 for t in COMPOUND_TAILS)
    assert is_tail("fire") and is_tail("fires") and not is_tail("year") and not is_tail("s")


def test_the_docs_list_the_endings() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "query-language.md").read_text(encoding="utf-8")
    listed = docs.split("**Compounds written apart in the article.**")[1].split("So `ceasefire`")[0]
    assert {w for line in listed.splitlines() if line.startswith("> ") for w in line[2:].split()} == COMPOUND_TAILS
