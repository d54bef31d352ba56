"""The native scan of ASCII fields (monitor/match/_native.c) gives exactly what the pure-Python path gives.

Every test but the last compiles the same watchlists twice, with the native index and without it (as
on an install without a C compiler), and compares whole matches: ids, highlights and snippets.
"""

from __future__ import annotations

import os
import pickle
import random

import pytest

from monitor.config.models import WatchlistConfig
from monitor.match import CompiledWatchlists, tokenize
from monitor.match import native as native_module
from monitor.match.fold import ascii_folded
from monitor.model import Document

if os.environ.get("CI") == "true":  # CI builds it (`make test` installs with a C compiler): never skip there
    import monitor.match._native as native
else:
    native = pytest.importorskip("monitor.match._native", reason="the native scan is not built (pure-Python path only)")

WORDS = ["правительство", "gaza", "gazan", "gazette", "hamas", "talks", "cairo", "doha", "mediator", "mediation", "hostage",
         "hostages", "truce", "kalin", "bar", "cease", "fire", "ceasefire", "us", "prime", "minister", "office",
         "s", "netanyahu", "regierung", "regierungen", "verhandlungen", "waffenruhe"]
LONG = [w for w in WORDS if len(w) >= 5]
FILLER = ["the", "of", "and", "a", "in", "to",
          "regierungs", "verhandlung", "waffenruhen", "правительства", "правительством"]  # forms of WORDS


def _config(rng: random.Random) -> dict[str, WatchlistConfig]:
    def term() -> str:
        r = rng.random()
        if r < 0.2:
            return f'"{rng.choice(WORDS)} {rng.choice(WORDS)}"'
        if r < 0.28:
            return f'"{rng.choice(WORDS)} {rng.choice(LONG)[:3]}*"'  # checked whatever the second token
        if r < 0.36:
            return f'"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(WORDS)}"'
        if r < 0.5:
            return rng.choice(LONG)[: rng.randint(3, 5)] + "*"  # wildcards of several lengths
        if r < 0.55:
            return rng.choice(["cease-fire", "U.S.", "e-mail"])
        return rng.choice(WORDS)

    actors = [{"id": f"a{i}", "name": f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS).capitalize()}",
               "aliases": [rng.choice(WORDS), f"{rng.choice(WORDS)} {rng.choice(WORDS)}"]} for i in range(10)]
    actors[0]["exact_case"] = ["US", "Bar"]
    actors[1]["exclude"] = term()
    shapes = ["{0} AND {1}", "{0} OR {1} {2}", "({0} OR {1}) AND NOT {2}", "{0} NEAR/3 ({1} OR {2})",
              "{0} ONEAR/2 {1}", "title:{0} AND {1}", "@a{3} AND ({0} OR {1})", "@a0 NEAR/4 {1}", "{0}"]
    topics = [{"id": f"t{i}", "name": f"t{i}", "query": rng.choice(shapes).format(term(), term(), term(),
                                                                                   rng.randint(0, 9))}
              for i in range(40)]
    return {"w": WatchlistConfig.model_validate({"id": "w", "name": "w", "actors": actors, "topics": topics})}


def _text(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        w = rng.choice(WORDS + FILLER)
        if rng.random() < 0.3:
            w = w.capitalize() if rng.random() < 0.7 else w.upper()
        r = rng.random()
        if r < 0.06:
            w += "'s"
        elif r < 0.1:
            w += "’s"
        elif r < 0.14:
            w += "-" + rng.choice(WORDS)
        elif r < 0.18:
            w += rng.choice([",", ".", ";", ")", "—"])
        elif r < 0.2:
            w = f"<b>{w}</b>"
        out.append(w)
    return "".join(w + rng.choice([" ", " ", " ", "  ", "\n", "\t", " \u00a0"]) for w in out)


def _both(config: dict[str, WatchlistConfig], docs: list[Document],
          monkeypatch: pytest.MonkeyPatch) -> tuple[list[list[dict[str, object]]], list[list[dict[str, object]]]]:
    """The matches of `docs` with the native extension, and without it (compiled and matched without)."""
    fast = CompiledWatchlists.compile(config)
    got = _run(fast, docs)
    with monkeypatch.context() as m:
        m.setattr(native_module, "extension", None)
        plain = CompiledWatchlists.compile(config)
        expected = _run(plain, docs)  # word forms' analyzers are made on the first document: here too
    assert fast._table.native is not None and plain._table.native is None
    assert all(isinstance(a._plain, set) for a in plain._table._analyzers.values())
    assert not any(isinstance(a._plain, set) for a in fast._table._analyzers.values())
    return got, expected


def _run(compiled: CompiledWatchlists, docs: list[Document]) -> list[list[dict[str, object]]]:
    return [[m.to_json() for m in compiled.match(d)] for d in docs]


@pytest.mark.parametrize("seed", range(6))
def test_native_scan_matches_like_the_python_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    docs = [Document(title=_text(rng, rng.randint(0, 8)), body=_text(rng, rng.randint(0, 120)),
                     language=rng.choice(["en", "de", None])) for _ in range(60)]
    docs += [Document(title="Kalın", body="Türkiye: " + _text(rng, 30), language="tr")]  # not ASCII: no native scan
    docs += [Document(body="Правительство и правительства " + _text(rng, 20), language="ru")]
    got, expected = _both(_config(rng), docs, monkeypatch)
    assert got == expected
    assert sum(map(len, expected)) > 20  # the workload matches something
    assert any(d.language == "de" for d in docs)  # word forms (German, Russian) on both paths


def test_sequences_at_the_end_and_around_possessives(monkeypatch: pytest.MonkeyPatch) -> None:
    wl = WatchlistConfig.model_validate({"id": "w", "name": "w", "topics": [
        {"id": "office", "name": "o", "query": '"prime minister office"'},
        {"id": "talks", "name": "t", "query": '"hamas talks"'},
        {"id": "loose", "name": "l", "query": '"gaza medi*"'},
        {"id": "end", "name": "e", "query": '"truce"'}]})
    docs = [Document(body=b) for b in ("Prime Minister's office said", "Hamas’s talks", "in Gaza mediation",
                                       "Gaza", "talks of the prime minister", "hamas", "the truce", "Gaza medi")]
    got, expected = _both({"w": wl}, docs, monkeypatch)
    assert got == expected
    assert [sorted(m["id"] for m in ms) for ms in expected] == [  # type: ignore[type-var]
        ["office"], ["talks"], ["loose"], [], [], [], ["end"], ["loose"]]


def test_index_offsets_and_starts() -> None:
    index = native.Index(["gaza", "truce"], ["prime", "gaza"], {"hos": (7,), "hostag": (8, 9)}, [],
                         [("prime", "minister")])
    text = "Gaza\tHOSTAGES in gaza, prime minister; prime time (hos) prime"
    lower = ascii_folded(text)
    assert lower is not None
    found: set[str | int] = set()
    starts, offsets, tokens = index.scan(lower, found)
    assert found == {"gaza", 7, 8, 9}
    assert tokens == lower.split()
    assert [tokens[i] for i in starts] == ["prime"]  # gaza: no pair begins there; the last prime: no next token
    assert [(tokens[i], s, s + len(tokens[i])) for i, s in enumerate(memoryview(offsets).cast("I"))] == tokenize(text)
    with pytest.raises(ValueError, match="attach"):
        index.scan(lower, set(), set())
    index.attach({"gaza": (3, 4), "truce": (5,), 7: (6,), 9: (1,), 99: (2,)})
    cands: set[int] = set()
    index.scan(lower, set(), cands)
    assert cands == {3, 4, 6, 1}  # gaza, and the wildcards 7 (hos*) and 9 (hostag*)
    assert index.scan("", set()) == ([], b"", [])
    assert index.scan(" a\tb\n\x1fc  ", set())[2] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="ASCII"):
        index.scan("gaza é", set())
    with pytest.raises(ValueError, match="ASCII"):
        native.Index(["é"], [], {}, [], [])


def test_a_pickled_matcher_rebuilds_its_native_index(mena: dict[str, WatchlistConfig]) -> None:
    compiled = CompiledWatchlists.compile(mena)
    again = pickle.loads(pickle.dumps(compiled))
    assert again._table.native is not None and again._table.native is not compiled._table.native
    doc = Document(body="Ibrahim Kalin met Ronen Bar; Hamas-run negotiators and hostages")
    assert _run(again, [doc]) == _run(compiled, [doc]) != [[]]


def test_memo_is_a_set_of_str() -> None:
    memo = native.Memo()
    words = ["gaza", "çé", "日本", "x" * 40, "x" * 39, "", "\U0001f600", "regierung"]
    memo.add(words[:4])
    memo.add(["gaza"])  # again: no duplicate
    assert len(memo) == 4 and "çé" in memo and "ce" not in memo and 5 not in memo
    assert memo.unknown(words) == {"x" * 39, "", "\U0001f600", "regierung"}
    memo.add(f"w{i}" for i in range(5_000))  # grows
    assert len(memo) == 5_004 and memo.unknown(["w0", "w4999", "w5000"]) == {"w5000"}
    memo.clear()
    assert len(memo) == 0 and memo.unknown({"gaza"}) == {"gaza"}
    with pytest.raises(TypeError):
        memo.add([1])


def test_folder_is_ascii_folded() -> None:
    from monitor.match.fold import _SEPARATORS, ascii_folded_python

    folder = native.Folder(_SEPARATORS)
    for code in [*range(0x3000), 0xFEFF, 0xFFFD, 0x1F600]:
        for text in (f"Ab{chr(code)}cD 1", f"x’{chr(code)} y—z", f"{chr(code)}\u2009q", f"?’{chr(code)}?", chr(code),
                     f"é{chr(code)}", f"\U0001f600{chr(code)}"):
            assert folder(text) == ascii_folded_python(text), hex(code)
    assert folder("") == ""
