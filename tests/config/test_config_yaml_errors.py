"""YAML syntax errors an analyst can act on: each common mistake located (file:line:col) with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigProblem, load_config
from monitor.config.sourcemap import load_yaml_with_positions
from monitor.errors import ConfigurationError

ACTOR = "name: MENA\nactors:\n  - id: qatar\n    name: Qatar\n"
TOPIC = "name: MENA\ntopics:\n  - id: doha-talks\n    name: Doha talks\n"

# (case, file text, line, column, message, hint)
MISTAKES = [
    ("key one space short", ACTOR + '   aliases: ["Doha"]\n', 5, 4,
     "`aliases:` is indented 3 spaces; the keys of this actor are at 4", "indent it by 4 spaces, like the keys above it"),
    ("key one space too far", ACTOR + '     aliases: ["Doha"]\n', 5, 6,
     "`aliases:` is indented 5 spaces; the keys of this actor are at 4", "indent it by 4 spaces, like the keys above it"),
    ("key too far after a list", ACTOR + '    aliases: ["Doha"]\n     kind: place\n', 6, 6,
     "`kind:` is indented 5 spaces; the keys of this actor are at 4", "indent it by 4 spaces, like the keys above it"),
    ("top-level key indented", "name: MENA\n topics: []\n", 2, 2,
     "`topics:` is indented 1 space; the top-level keys are not indented", "remove the spaces before it"),
    ("nested mapping key", "email:\n  transport: smtp\n   from: a@example.org\n", 3, 4,
     "`from:` is indented 3 spaces; the keys of `email:` are at 2", "indent it by 2 spaces, like the keys above it"),
    ("list item off by one", ACTOR + "   - id: iran\n     name: Iran\n", 5, 4,
     "this list item is indented 3 spaces; the items above are at 2", "line the '-' up with the other items of the list"),
    ("apostrophe in single quotes", TOPIC + "    query: 'Qatar's role'\n", 5, 18,
     "this apostrophe ends the single-quoted value", "write it twice: 'Qatar''s role', or use double quotes"),
    ("apostrophe in a query with phrases", TOPIC + """    query: '"Qatar's role" AND talks'\n""", 5, 19,
     "this apostrophe ends the single-quoted value", """write it twice: '"Qatar''s role" AND talks'"""),
    ("apostrophe in a flow list", ACTOR + "    aliases: ['Qatar's emir']\n", 5, 21,
     "this apostrophe ends the single-quoted value", "write it twice: 'Qatar''s emir', or use double quotes"),
    ("double quote never closed", TOPIC + '    query: "Hamas AND ceasefire\n  - id: other\n    name: Other\n', 5, 12,
     "this quote is never closed", 'end the value with a matching "'),
    ("single quote never closed", TOPIC + "    query: 'Hamas AND ceasefire\n  - id: other\n", 5, 12,
     "this quote is never closed", "end the value with a matching '"),
    ("list never closed", ACTOR + "    aliases: [Doha, Al Udeid\n  - id: iran\n", 5, 14,
     "the list opened here is never closed", "close it with ']'"),
    ("comma missing in a list", ACTOR + '    aliases: ["Doha" "Al Udeid"]\n', 5, 22,
     "a ',' is missing before this item, or a ']' to close", "separate the items with ', ' and close with ']'"),
    ("tab in the indentation", ACTOR + "\taliases: [Doha]\n", 5, 1, "a tab in the indentation",
     "YAML indents with spaces only: replace the tab with spaces (the key on the line above is indented 4 spaces)"),
    ("tab inside a value", "name: MENA\tsecurity\n", 1, 11, "a tab inside a value",
     "replace it with a space, or put the value in quotes"),
    ("query starting with @", TOPIC + "    query: @kalin AND talks\n", 5, 12,
     "a value cannot start with '@' in YAML", "put it in quotes: query: '@kalin AND talks'"),
    ("query starting with a phrase", TOPIC + '    query: "prisoner exchange" OR hostages\n', 5, 30,
     "the value ends at this closing quote, but more text follows",
     """a value that starts with a quote must end with it; put all of it in single quotes: """
     """query: '"prisoner exchange" OR hostages'"""),
    ("colon and space in a plain value", TOPIC + "    query: Gaza: ceasefire\n", 5, 16,
     "a ': ' inside a value that is not in quotes", "put the value in quotes: query: 'Gaza: ceasefire'"),
    ("key without a colon", ACTOR + "    kind place\n    aliases: [Doha]\n", 5, 5, "a key without ':'", "write kind: place"),
    ("unknown escape in double quotes", TOPIC + '    query: "C:\\dir"\n', 5, 15,
     "unknown escape character 'd' in a double-quoted value",
     "in double quotes a backslash starts an escape: write \\\\ for a backslash, or use single quotes"),
    ("escape beyond Unicode", TOPIC + '    query: "\\U00110000"\n', 5, 15,
     "an escape in a double-quoted value is not a character",
     "a \\U escape must be at most \\U0010FFFF; to write a backslash, write it twice (\\\\) or use single quotes"),
]


def load_text(tmp_path: Path, text: str) -> ConfigProblem:
    path = tmp_path / "mena.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_yaml_with_positions(path)
    [problem] = info.value.problems
    return problem


@pytest.mark.parametrize("case,text,line,column,message,hint", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_is_explained(tmp_path: Path, case: str, text: str, line: int, column: int, message: str,
                              hint: str) -> None:
    problem = load_text(tmp_path, text)
    assert (problem.line, problem.column, problem.message, problem.hint) == (line, column, message, hint)
    assert "<block" not in problem.format() and "<scalar>" not in problem.format()


def test_every_message_names_its_place(tmp_path: Path) -> None:
    """The caret of the printed problem sits under the character it names."""
    problem = load_text(tmp_path, TOPIC + "    query: 'Qatar's role'\n")
    _, source, caret = problem.format().splitlines()[:3]
    assert source[caret.index("^")] == "'" and source[caret.index("^") + 1] == "s"


@pytest.mark.parametrize("text", [
    "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "".join("  " * i + f"k{i}:\n" for i in range(3000)),
    "a: " + "{b: " * 3000 + "c" + "}" * 3000 + "\n",
], ids=["brackets", "indentation", "flow mappings"])
def test_deep_nesting_is_a_problem_not_a_traceback(tmp_path: Path, text: str) -> None:
    problem = load_text(tmp_path, text)
    assert problem.message == "the YAML is nested too deeply"
    assert problem.line is not None and problem.hint
    assert len(problem.format()) < 300  # the thousands of brackets are not echoed


def test_deep_nesting_in_a_configuration_directory(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "deep.yaml").write_text("name: " + "[" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_config(tmp_path, env={})
    assert "deep.yaml:1:" in str(info.value) and "nested too deeply" in str(info.value)
