"""Safe YAML loading with positions: tags refused, duplicate keys and syntax errors located."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.sourcemap import load_yaml_with_positions
from monitor.errors import ConfigurationError


def load(tmp_path: Path, text: str) -> tuple[object, object]:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return load_yaml_with_positions(path)


def problems(tmp_path: Path, text: str) -> list:
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, text)
    return info.value.problems


def test_positions_of_keys_and_values(tmp_path: Path) -> None:
    data, smap = load(tmp_path, "a:\n  b: [1, {c: 'x'}]\n  d: |\n    text\n")
    assert data == {"a": {"b": [1, {"c": "x"}], "d": "text\n"}}
    assert smap.locate(("a", "b")) == (2, 3)
    assert smap.value_position(("a", "b")) == (2, 6)
    assert smap.locate(("a", "b", 1, "c")) == (2, 11)
    assert smap.value_position(("a", "b", 1, "c")) == (2, 14)
    assert smap.locate(("a", "missing", 3)) == (1, 1)  # nearest existing parent: the key 'a'
    assert smap.value_position(("a", "b", 1, "c", "deeper")) == (2, 14)
    assert smap.line_text(3) == "  d: |"


def test_python_tags_are_refused(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, "feeds:\n  - url: !!python/object/apply:os.system ['touch /tmp/pwned']\n")
    assert (problem.line, problem.column) == (2, 10)
    assert problem.message == "tag '!!python/object/apply:os.system' is not allowed"


def test_python_tag_in_config_directory(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: !!python/object/new:builtins.list []\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_config(tmp_path, env={})
    assert "feeds.yaml:1:8: tag '!!python/object/new:builtins.list' is not allowed" in str(info.value)


def test_custom_tags_and_tagged_keys_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "a: !secret x\n!!python/name:os.system : 1\n")
    assert [p.message for p in found] == ["tag '!secret' is not allowed", "tag '!!python/name:os.system' is not allowed"]


def test_duplicate_keys(tmp_path: Path) -> None:
    found = problems(tmp_path, "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert [(p.line, p.column, p.message) for p in found] == [(4, 3, "duplicate key 'c'"), (5, 1, "duplicate key 'a'")]
    assert found[1].hint is not None and "first defined at line 1" in found[1].hint


def test_syntax_error_position_and_hint(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, "a:\n  b: 1\n c: 2\n")
    assert (problem.line, problem.column) == (3, 2)
    assert problem.message == "`c:` is indented 1 space; the keys of `a:` are at 2"
    [tab] = problems(tmp_path, "a:\n\tb: 1\n")
    assert tab.line == 2 and tab.hint == "YAML indents with spaces only: replace the tab with spaces"


def test_empty_file_and_alias_bomb(tmp_path: Path) -> None:
    assert load(tmp_path, "# only a comment\n")[0] is None
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 10)}]")
    [problem] = problems(tmp_path, "\n".join(lines) + "\n")
    assert "alias" in problem.message
    # Refused where the aliases cross the allowance, long before the 10**9 values they stand for.
    assert problem.message == "YAML aliases expand to more than 100,000 values (an alias bomb?)"
    assert problem.line is not None and problem.line <= len(lines)


def test_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: \xff\n")
    with pytest.raises(ConfigurationError, match="not UTF-8"):
        load_yaml_with_positions(path)
