"""YAML from libyaml's events (the fast path) against PyYAML's own path, and the alias-expansion guard."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config.sourcemap import NodeInfo, _load_from_nodes, load_yaml_text
from monitor.config.yaml_events import ALIAS_ALLOWANCE, AliasBomb, MarkedProblems, UseNodes, build
from monitor.errors import ConfigurationError
from tests.fuzz.test_fuzz_config import yaml_text

FILE = Path("x.yaml")


def fast(text: str) -> tuple[str, Any, Any]:
    """("ok", data, positions) or ("problems", [(line, column, message)], None), by the event path."""
    positions: dict[Any, NodeInfo] = {}
    try:
        return "ok", build(text, positions, NodeInfo), positions
    except MarkedProblems as exc:
        return "problems", [p[:3] for p in exc.problems], None
    except AliasBomb:
        return "bomb", None, None


def slow(text: str) -> tuple[str, Any, Any]:
    """The same by PyYAML's composer, constructor and walk."""
    try:
        data, smap = _load_from_nodes(text, FILE, text.splitlines())
    except ConfigurationError as exc:
        if any("alias bomb" in p.message for p in exc.problems):
            return "bomb", None, None
        return "problems", [(p.line, p.column, p.message) for p in exc.problems], None
    return "ok", data, smap.nodes


def same_positions(found: dict[Any, NodeInfo], expected: dict[Any, NodeInfo], text: str) -> None:
    assert found.keys() == expected.keys()
    # libyaml ends an unterminated last line itself, so a value closing there ends a line later; and
    # it places an empty scalar (a missing value) a column apart from PyYAML: neither is ever shown.
    last = len(text.splitlines())
    for path, info in found.items():
        other = expected[path]
        if all(i.end_line <= last and (i.line, i.column) != (i.end_line, i.end_column) for i in (info, other)):
            assert info == other, path


@settings(max_examples=400, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(st.one_of(yaml_text(["feeds", "defaults"]), yaml_text(["name", "actors", "topics", "tests"]),
                 yaml_text(["subscribers"])))
def test_events_and_pyyaml_read_the_same(text: str) -> None:
    """Whatever the event path accepts or refuses, PyYAML's path does alike, with the same data and positions."""
    try:
        kind, data, positions = fast(text)
    except UseNodes:
        return  # PyYAML's path is the one taken
    expected = slow(text)
    assert kind == expected[0], (text, kind, expected)
    if kind == "ok":
        assert repr(data) == repr(expected[1])  # repr: True == 1, but a watchlist tells them apart
        same_positions(positions, expected[2], text)
    elif kind == "problems":
        assert data == expected[1]


def test_positions_are_found_when_asked_for() -> None:
    text = "actors:\n  - &kalin {id: kalin, name: Ibrahim Kalin}\n  - id: x\n    aliases: *kalin\n    name: 'X'\n"
    data, smap = load_yaml_text(text, FILE)
    assert data["actors"][1]["aliases"] is data["actors"][0]  # an alias is the same object, as PyYAML gives it
    assert smap.locate(("actors", 1, "name")) == (5, 5)
    assert smap.value_position(("actors", 1, "name")) == (5, 11)
    assert smap.char_position(("actors", 1, "name"), 0) == (5, 12)  # inside the quotes
    assert smap.locate(("actors", 1, "aliases", "name")) == (2, 24)  # the anchored mapping, seen through the alias
    assert smap.locate(("actors", 1, "aliases")) == (4, 5)  # its key is the alias's own
    assert smap.line_text(3) == "  - id: x"


def test_merge_keys_take_pyyaml_path_and_work() -> None:
    text = "base: &base {kind: person, name: B}\nactor:\n  <<: *base\n  name: A\n"
    with pytest.raises(UseNodes):
        build(text)
    data, smap = load_yaml_text(text, FILE)
    assert data["actor"] == {"kind": "person", "name": "A"}
    assert smap.locate(("actor",)) == (2, 1)


def bomb(levels: int, width: int, merge: bool = False) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    if merge:
        lines.append("m: {<<: {a: 1}}")
    return "\n".join(lines) + f"\nlast: *l{levels}\n"


@pytest.mark.parametrize("levels,width,merge", [(9, 10, False), (30, 2, False), (2, 2000, False), (9, 10, True)],
                         ids=["billion-laughs", "deep", "wide", "pyyaml-path"])
def test_alias_bombs_are_refused_at_once_in_bounded_memory(levels: int, width: int, merge: bool) -> None:
    text = bomb(levels, width, merge)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigurationError) as info:
            load_yaml_text(text, FILE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    [problem] = info.value.problems
    assert problem.message == f"YAML aliases expand to more than {ALIAS_ALLOWANCE:,} values (an alias bomb?)"
    assert problem.hint and "write the values out" in problem.hint
    if not merge:  # the event path knows which alias crossed the line
        assert problem.line is not None and problem.source_line is not None and "*l" in problem.source_line
    assert peak < 32 * 2**20, f"{peak / 2**20:.0f} MB traced"


def test_aliases_may_repeat_as_many_values_as_the_file_writes_out() -> None:
    """The guard measures what aliases expand to against the file's own size, never the size alone."""
    repeats = 11_000  # each repeats the 10 values (plus the list) of `common`: 132,000 > the allowance
    head = "common: &common [" + ", ".join(f"v{i}" for i in range(11)) + "]\nuses:\n" + "  - *common\n" * repeats
    with pytest.raises(ConfigurationError, match="alias bomb"):
        load_yaml_text(head, FILE)
    own = "own:\n" + "".join(f"  - w{i}\n" for i in range(repeats * 12))  # more values than the aliases repeat
    data, _ = load_yaml_text(head + own, FILE)
    assert len(data["uses"]) == repeats and len(data["own"]) == repeats * 12


def test_unsafe_tags_duplicate_keys_and_recursion_on_the_event_path() -> None:
    with pytest.raises(MarkedProblems) as info:
        build("a: !secret x\nb: 1\nb: 2\nc: &c [*c]\n")
    assert [p[:3] for p in info.value.problems] == [
        (1, 4, "tag '!secret' is not allowed"), (3, 1, "duplicate key 'b'"), (4, 8, "recursive alias is not allowed")]
