"""PyYAML's syntax errors in the words of the person who made the mistake.

PyYAML reports what its parser expected ("expected <block end>, but found '<block mapping start>'"),
which says little to an analyst editing a watchlist. For the mistakes people actually make (a key
indented one space off, an apostrophe inside a single-quoted query, a quote never closed, a tab, a query
starting with '@' or with a quoted phrase, a key without its ':') this module says what is wrong, where,
and how to fix it; anything else still gets a translated message and the place where parsing began.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

# Plural keys of the configuration files, so that "the keys of this actor" can name what is being edited.
_SINGULAR = {"actors": "actor", "topics": "topic", "tests": "test", "feeds": "feed", "subscribers": "subscriber"}
_JARGON = {
    "<block end>": "the end of the indented block",
    "'<block mapping start>'": "a key at a different indentation",
    "'<block sequence start>'": "a list item ('- ') at a different indentation",
    "'<block end>'": "the end of the indented block",
    "'<scalar>'": "more text",
    "'<stream end>'": "the end of the file",
    "<stream end>": "the end of the file",
    "'<document start>'": "'---'",
    "'?'": "a key",
}
_KEY = re.compile(r"([^\s#'\"{\[][^:#]*?):(?:\s|$)")


@dataclass(frozen=True)
class YamlMistake:
    """A YAML syntax error explained: 1-based position, message and hint."""

    line: int | None
    column: int | None
    message: str
    hint: str | None


@dataclass(frozen=True)
class _Shape:
    indent: int  # spaces before the first character
    key_column: int  # 0-based column where the key starts, after any "- " list markers
    item: bool  # the line starts a list item
    key: str | None  # the key on this line, if it has one


def _shape(text: str) -> _Shape | None:
    """The indentation and key of a line, or None for blank lines and comments."""
    stripped = text.lstrip(" ")
    if not stripped.strip() or stripped.startswith("#"):
        return None
    indent = len(text) - len(stripped)
    column, item = indent, False
    while text[column:column + 2] == "- " or text[column:].rstrip() == "-":
        item = True
        column += 1
        while column < len(text) and text[column] == " ":
            column += 1
    match = _KEY.match(text, column)
    return _Shape(indent, column, item, match.group(1).strip() if match else None)


def _quoted(value: str) -> str:
    """`value` as a YAML single-quoted scalar (or double-quoted, when that needs no escaping)."""
    if "'" in value and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return "'" + value.replace("'", "''") + "'"


def _spaces(n: int) -> str:
    return "1 space" if n == 1 else f"{n} spaces"


def _previous(lines: list[str], index: int) -> list[tuple[int, _Shape]]:
    """The significant lines above line `index` (0-based), nearest first."""
    found = []
    for i in range(min(index, len(lines)) - 1, -1, -1):
        shape = _shape(lines[i])
        if shape is not None:
            found.append((i, shape))
    return found


def _open_levels(lines: list[str], index: int) -> list[tuple[int, int]]:
    """(key column, line index) of the mappings still open above line `index`, innermost first."""
    levels: list[tuple[int, int]] = []
    bound = 1 << 30
    for i, shape in _previous(lines, index):
        if shape.key is not None and shape.key_column < bound:
            levels.append((shape.key_column, i))
            bound = shape.indent if shape.item else shape.key_column
        elif shape.item and shape.indent < bound:
            bound = shape.indent
        if bound == 0:
            break
    return levels


def _owner(lines: list[str], level: int, opened: int) -> str:
    """What the mapping whose keys sit at `level` describes: 'this actor', '`smtp:`', 'the top level'."""
    if level == 0:
        return "the top level"
    first = _shape(lines[opened])
    for i, shape in _previous(lines, opened + 1):
        if i != opened and shape.key_column == level and not shape.item:
            continue  # a sibling key further up
        if i == opened and first is not None and first.item and first.key_column == level:
            continue  # the item's own first key: look for the list it is in
        if shape.key_column < level and shape.key:
            singular = _SINGULAR.get(shape.key)
            return f"this {singular}" if singular else f"`{shape.key}:`"
    return "this mapping"


def _indentation(lines: list[str], line: int, column: int) -> YamlMistake | None:
    """A key or list item that does not line up with its siblings: say by how much."""
    shape = _shape(lines[line]) if line < len(lines) else None
    if shape is None:
        return None
    levels = _open_levels(lines, line)
    if not levels:
        return None
    what = shape.indent
    if shape.item:
        # A list item belongs to the list whose items start nearest to it.
        items = [(s.indent, i) for i, s in _previous(lines, line) if s.item]
        if not items:
            return None
        expected, _ = min(items, key=lambda x: (abs(x[0] - what), -x[1]))
        if expected == what:
            return None
        return YamlMistake(line + 1, what + 1, f"this list item is indented {_spaces(what)}; the items above are at "
                           f"{expected}", "line the '-' up with the other items of the list")
    expected, opened = min(levels, key=lambda x: (abs(x[0] - what), -x[0]))
    if expected == what:
        return None
    name = f"`{shape.key}:`" if shape.key else "this line"
    if expected == 0:
        return YamlMistake(line + 1, what + 1, f"{name} is indented {_spaces(what)}; the top-level keys are not "
                           "indented", "remove the spaces before it")
    owner = _owner(lines, expected, opened)
    return YamlMistake(line + 1, what + 1, f"{name} is indented {_spaces(what)}; the keys of {owner} are at "
                       f"{expected}", f"indent it by {expected} spaces, like the keys above it")


def _opening_quote(text: str, before: int) -> int | None:
    """Index of the quote that opened the value ending at `before` (0-based), if the value starts with one."""
    for match in re.finditer(r"(?:^|[:\-\[,{]\s*|\s)(['\"])", text[:before]):
        return match.start(1)
    return None


def _closed_too_early(lines: list[str], line: int, at: int, *, in_flow: bool = False) -> YamlMistake | None:
    """Text after a closing quote (0-based `at`): an apostrophe in 'single quotes', or a query opening with a "phrase"."""
    if line >= len(lines):
        return None
    text = lines[line]
    closing = at - 1
    while closing >= 0 and text[closing] == " ":
        closing -= 1
    if closing <= 0 or text[closing] not in "'\"":
        return None
    opening = _opening_quote(text, closing)
    if opening is None or text[opening] != text[closing]:
        return None
    key = text[:opening].strip()
    value_end = len(text.rstrip())
    if text[closing] == "'" and closing == at - 1:
        end = text.rstrip().rfind("'")
        inner = text[opening + 1:end] if end > closing else text[opening + 1:value_end]
        doubled = "'" + inner.replace("'", "''") + "'"
        hint = f"write it twice: {doubled}" + ("" if '"' in inner else ", or use double quotes")
        return YamlMistake(line + 1, closing + 1, "this apostrophe ends the single-quoted value", hint)
    if in_flow:
        return None  # ["a" "b"]: a missing comma, said by the caller
    value = text[opening:value_end]
    quoted = _quoted(value)
    fix = f"{key} {quoted}" if key.endswith(":") else quoted
    return YamlMistake(line + 1, closing + 1, "the value ends at this closing quote, but more text follows",
                       f"a value that starts with a quote must end with it; put all of it in single quotes: {fix}")


def _translate(text: str) -> str:
    for jargon, words in _JARGON.items():
        text = text.replace(jargon, words)
    return text


def explain(exc: yaml.YAMLError, lines: list[str]) -> YamlMistake:
    """What a PyYAML syntax error means, for the mistakes people make; a translated message otherwise."""
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    context = str(getattr(exc, "context", None) or "")
    context_mark = getattr(exc, "context_mark", None)
    line = mark.line if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    text = lines[line] if line is not None and line < len(lines) else ""

    if "'\\t'" in problem and line is not None:
        assert column is not None
        if not text[:column - 1].strip(" \t"):
            above = _previous(lines, line)
            shown = above[0][1].key_column if above else 0
            at = f" (the key on the line above is indented {_spaces(shown)})" if shown else ""
            return YamlMistake(line + 1, column, "a tab in the indentation",
                               f"YAML indents with spaces only: replace the tab with spaces{at}")
        return YamlMistake(line + 1, column, "a tab inside a value",
                           "replace it with a space, or put the value in quotes")
    if "cannot start any token" in problem and line is not None and column is not None:
        char = text[column - 1] if column - 1 < len(text) else "?"
        key = text[:column - 1].strip()
        value = text[column - 1:].rstrip()
        return YamlMistake(line + 1, column, f"a value cannot start with {char!r} in YAML",
                           f"put it in quotes: {key} {_quoted(value)}" if key.endswith(":") else
                           "put the value in quotes")
    if ("an alias" in context or "an anchor" in context) and context_mark is not None:
        at = context_mark.line
        char = lines[at][context_mark.column] if at < len(lines) and context_mark.column < len(lines[at]) else "*"
        return YamlMistake(at + 1, context_mark.column + 1, f"a value cannot start with {char!r} in YAML",
                           "put the value in quotes (in YAML '*' and '&' start aliases and anchors)")
    if problem.startswith("found undefined alias") and line is not None:
        name = re.match(r"[*&]?[^\s,\[\]{}]*", text[(column or 1) - 1:])
        return YamlMistake(line + 1, column, f"{name.group() if name else '*'!r} is read as a YAML alias",
                           "put the value in quotes: in YAML a value starting with '*' names an anchor")
    if "single document" in context and line is not None:
        return YamlMistake(line + 1, column, "a second YAML document ('---') in this file",
                           "a configuration file holds one document: remove the '---' line, or move what follows "
                           "into a file of its own")
    if "quoted scalar" in context and context_mark is not None:
        quote = lines[context_mark.line][context_mark.column] if context_mark.line < len(lines) else '"'
        if "escape" in problem and line is not None:
            backslash = column - 1 if column and column > 1 else column  # PyYAML points after it
            return YamlMistake(line + 1, backslash, f"{problem.removeprefix('found ')} in a double-quoted value",
                               "in double quotes a backslash starts an escape: write \\\\ for a backslash, "
                               "or use single quotes")
        return YamlMistake(context_mark.line + 1, context_mark.column + 1, "this quote is never closed",
                           f"end the value with a matching {quote}")
    if "simple key" in context and context_mark is not None and context_mark.line < len(lines):
        start = lines[context_mark.line][context_mark.column:].rstrip()
        word, _, rest = start.partition(" ")
        return YamlMistake(context_mark.line + 1, context_mark.column + 1, "a key without ':'",
                           f"write {word}: {rest}" if rest else f"write {word}: followed by its value")
    if line is None or mark is None:
        return YamlMistake(None, None, f"invalid YAML: {_translate(problem)}", None)

    if "flow" in context and context_mark is not None and problem.startswith("expected ','"):
        closer = "]" if "sequence" in context else "}"
        early = _closed_too_early(lines, line, mark.column, in_flow=True)
        if early is not None:
            return early
        if context_mark.line != line:
            return YamlMistake(context_mark.line + 1, context_mark.column + 1,
                               f"the {'list' if closer == ']' else 'mapping'} opened here is never closed",
                               f"close it with '{closer}'")
        return YamlMistake(line + 1, column, f"a ',' is missing before this item, or a '{closer}' to close",
                           f"separate the items with ', ' and close with '{closer}'")
    if problem.startswith("expected <block end>"):
        found = problem.partition("but found ")[2]
        if found == "'<scalar>'":
            early = _closed_too_early(lines, line, mark.column)
            if early is not None:
                return early
        mistake = _indentation(lines, line, column or 1)
        if mistake is not None:
            return mistake
    if problem == "mapping values are not allowed here":
        shape = _shape(text)
        assert column is not None
        if shape is not None and shape.key and text.find(":", shape.key_column) == column - 1:
            mistake = _indentation(lines, line, column)
            if mistake is not None:
                return mistake
        key = text[:text.find(":") + 1] if ":" in text else ""
        value = text[len(key):].strip()
        return YamlMistake(line + 1, column, "a ': ' inside a value that is not in quotes",
                           f"put the value in quotes: {key.strip()} {_quoted(value)}" if key and value
                           else "put the value in quotes")
    hint = None
    if context and context_mark is not None:
        hint = re.sub(r"^while (parsing|scanning) an? ", "in the ", _translate(context)) + (
            f" that starts at line {context_mark.line + 1}, column {context_mark.column + 1}")
        hint = hint.replace("block mapping", "indented mapping").replace("block collection", "indented list")
    return YamlMistake(line + 1, column, f"invalid YAML: {_translate(problem)}", hint)
