"""Safe YAML loading that remembers where every key and value came from (line and column)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.config.gc_pause import paused_gc
from monitor.config.problems import ConfigProblem
from monitor.config.yaml_errors import explain as explain_yaml_error
from monitor.config.yaml_events import ALIAS_ALLOWANCE, AliasBomb, MarkedProblems, UseNodes, YamlPath, build
from monitor.config.yaml_events import STANDARD_TAGS as _STANDARD_TAGS
from monitor.errors import ConfigurationError

_ALIAS_HINT = ("aliases (*name) may repeat as many values as the file writes out, and at least "
               f"{ALIAS_ALLOWANCE:,}: write the values out, or repeat fewer of them")


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader without extra behaviour: a separate class so nothing we add leaks into PyYAML's."""


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """Where one value sits: its key (for mapping values) and value node, 1-based, plus the scalar style."""

    key_line: int | None
    key_column: int | None
    line: int
    column: int
    end_line: int
    end_column: int
    style: str | None


class SourceMap:
    """Positions of every value of one YAML file, by path of keys and list indexes.

    Made from `text`, its lines and positions are found on first use: a valid file needs neither, and
    for a file of 100,000 actors they would take more memory than the configuration itself.
    """

    def __init__(self, file: Path, lines: list[str] | None = None, text: str | None = None) -> None:
        self.file = file
        self.text = text
        self._lines = lines
        self._nodes: dict[YamlPath, NodeInfo] | None = None if text is not None else {}

    @property
    def lines(self) -> list[str]:
        """The lines of the file, without their line breaks."""
        if self._lines is None:
            self._lines = (self.text or "").splitlines()
        return self._lines

    @property
    def nodes(self) -> dict[YamlPath, NodeInfo]:
        """The position of every value, by path."""
        if self._nodes is None:
            self._nodes = {}
            try:
                with paused_gc():
                    build(self.text or "", self._nodes, NodeInfo)
            except (UseNodes, AliasBomb, MarkedProblems):  # pragma: no cover - the same text loaded before
                pass  # then values are located at a parent, or not at all
        return self._nodes

    def _nearest(self, path: YamlPath) -> tuple[YamlPath, NodeInfo] | None:
        for cut in range(len(path), -1, -1):
            info = self.nodes.get(tuple(path[:cut]))
            if info is not None:
                return tuple(path[:cut]), info
        return None

    def locate(self, path: YamlPath) -> tuple[int | None, int | None]:
        """Position of the key naming `path` (or of the list item), else of the nearest existing parent."""
        found = self._nearest(path)
        if found is None:
            return None, None
        _, info = found
        if info.key_line is not None:
            return info.key_line, info.key_column
        return info.line, info.column

    def value_position(self, path: YamlPath) -> tuple[int | None, int | None]:
        """Position of the value at `path`, else of the nearest existing parent's value."""
        found = self._nearest(path)
        if found is None:
            return None, None
        return found[1].line, found[1].column

    def info(self, path: YamlPath) -> NodeInfo | None:
        """The recorded node at exactly `path`, if any."""
        return self.nodes.get(tuple(path))

    def line_text(self, line: int | None) -> str | None:
        """The source text of a 1-based line, without its newline."""
        if line is None or not 1 <= line <= len(self.lines):
            return None
        return self.lines[line - 1]

    def char_position(self, path: YamlPath, index: int) -> tuple[int, int] | None:
        """File (line, column) of the 0-based character `index` of the string scalar at `path`."""
        info = self.nodes.get(tuple(path))
        if info is None:
            return None
        positions = _char_positions(info, self.lines)
        if positions is None or not positions:
            return None
        return positions[min(max(index, 0), len(positions) - 1)]


def _problem(file: Path, lines: list[str], line: int | None, column: int | None, message: str,
             hint: str | None = None) -> ConfigProblem:
    source = lines[line - 1] if line is not None and 1 <= line <= len(lines) else None
    return ConfigProblem(file, line, column, None, message, hint, source, column)


def _yaml_error_problem(file: Path, lines: list[str], exc: yaml.YAMLError) -> ConfigProblem:
    mistake = explain_yaml_error(exc, lines)
    return _problem(file, lines, mistake.line, mistake.column, mistake.message, mistake.hint)


def _too_deep(file: Path, lines: list[str], loader: yaml.SafeLoader) -> ConfigProblem:
    """Nesting deep enough to exhaust Python's recursion (PyYAML composes and constructs recursively)."""
    mark = loader.get_mark()
    line = mark.line + 1 if mark.line < len(lines) else None
    # No source line: the line of a bracket bomb can be thousands of characters long.
    return ConfigProblem(file, line, mark.column + 1 if line else None, None, "the YAML is nested too deeply",
                         "configuration needs a few levels of indentation or brackets, never hundreds")


def load_yaml_with_positions(path: Path) -> tuple[Any, SourceMap]:
    """Load one YAML file safely; raise ConfigurationError for syntax errors, tags and duplicate keys."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigurationError([ConfigProblem(path, None, None, None, f"not UTF-8 text: {exc.reason}")]) from None
    except OSError as exc:
        raise ConfigurationError([ConfigProblem(path, None, None, None, f"cannot read: {exc.strerror}")]) from None
    return load_yaml_text(text, path)


def load_yaml_text(text: str, path: Path) -> tuple[Any, SourceMap]:
    """Like load_yaml_with_positions, for text already read; `path` is used in problems."""
    with paused_gc():
        loaded = _load_from_events(text, path)
        if loaded is not None:
            return loaded
        return _load_from_nodes(text, path, text.splitlines())


def _load_from_events(text: str, path: Path) -> tuple[Any, SourceMap] | None:
    """The fast path (libyaml's events, see yaml_events); None when PyYAML's own path must load or word it."""
    try:
        data = build(text)
    except UseNodes:
        return None
    except AliasBomb as exc:
        lines = text.splitlines()
        raise ConfigurationError([_problem(path, lines, exc.line, exc.column, str(exc), _ALIAS_HINT)]) from None
    except MarkedProblems as exc:
        lines = text.splitlines()
        raise ConfigurationError([_problem(path, lines, *p) for p in exc.problems]) from None
    return data, SourceMap(path, text=text)


def _load_from_nodes(text: str, path: Path, lines: list[str]) -> tuple[Any, SourceMap]:
    """PyYAML's pure-Python composer and constructor, with the positions recorded as they are walked."""
    smap = SourceMap(path, lines)
    try:
        loader = _SafeLoader(text)  # the reader refuses control characters already here
    except yaml.YAMLError as exc:
        raise ConfigurationError([_yaml_error_problem(path, lines, exc)]) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise ConfigurationError([_yaml_error_problem(path, lines, exc)]) from None
        except RecursionError:
            raise ConfigurationError([_too_deep(path, lines, loader)]) from None
        except (ValueError, OverflowError):
            # The scanner's own plain errors, e.g. chr() on an escape beyond Unicode ("\U00110000").
            mark = loader.get_mark()
            raise ConfigurationError([_problem(
                path, lines, mark.line + 1, mark.column + 1, "an escape in a double-quoted value is not a character",
                r"a \U escape must be at most \U0010FFFF; to write a backslash, write it twice (\\) or use single quotes",
            )]) from None
        if root is None:  # an empty file (or only comments)
            return None, smap
        problems = sorted(_walk(root, (), None, smap, path, lines), key=lambda p: (p.line or 0, p.column or 0))
        if problems:
            raise ConfigurationError(problems)
        try:
            data = loader.construct_document(root)
        except yaml.YAMLError as exc:  # e.g. a bad !!timestamp or !!binary value
            raise ConfigurationError([_yaml_error_problem(path, lines, exc)]) from None
        except RecursionError:
            raise ConfigurationError([_too_deep(path, lines, loader)]) from None
        except (ValueError, KeyError, IndexError, AttributeError, TypeError, OverflowError) as exc:
            # PyYAML's constructors raise plain errors on malformed tagged scalars (!!int '', !!bool '').
            raise ConfigurationError([_problem(
                path, lines, None, None, f"a tagged value cannot be read ({type(exc).__name__}: {exc})",
                "remove the !!tag or give it a valid value",
            )]) from None
        return data, smap
    finally:
        loader.dispose()


def _walk(node: Node, path: YamlPath, key: Node | None, smap: SourceMap, file: Path,
          lines: list[str]) -> Iterator[ConfigProblem]:
    """Record positions depth-first and yield problems: unsafe tags, duplicate keys, alias bombs."""
    stack: list[tuple[Node, YamlPath, Node | None, frozenset[int]]] = [(node, path, key, frozenset())]
    # Composing expands aliases lazily, but walking them does not: what aliases repeat (nodes reached
    # again) is counted, so that a "billion laughs" file is refused instead of hanging the service;
    # the file's own values are not, however many (the same rule as yaml_events).
    walked: set[int] = set()
    repeated = 0
    early_limit = max(ALIAS_ALLOWANCE, sum(map(len, lines)))
    while stack:
        current, current_path, key_node, ancestors = stack.pop()
        if id(current) in walked:
            repeated += 1
            if repeated > early_limit:
                yield _alias_bomb(file, lines, early_limit)
                return
        else:
            walked.add(id(current))
        start, end = current.start_mark, current.end_mark
        smap.nodes.setdefault(current_path, NodeInfo(
            key_node.start_mark.line + 1 if key_node else None,
            key_node.start_mark.column + 1 if key_node else None,
            start.line + 1, start.column + 1, end.line + 1, end.column + 1,
            getattr(current, "style", None),
        ))
        if current.tag not in _STANDARD_TAGS:
            shown = current.tag.replace("tag:yaml.org,2002:", "!!")
            line, column = start.line + 1, start.column + 1
            yield _problem(file, lines, line, column, f"tag {shown!r} is not allowed",
                           "configuration is plain YAML: remove the tag")
            continue
        if id(current) in ancestors:  # a recursive alias
            yield _problem(file, lines, start.line + 1, start.column + 1, "recursive alias is not allowed")
            continue
        inner = ancestors | {id(current)}
        if isinstance(current, MappingNode):
            seen: dict[tuple[str, str], Node] = {}
            children = []
            for k, v in current.value:
                if k.tag == "tag:yaml.org,2002:merge":
                    children.append((v, current_path, None))  # merged keys belong to this mapping
                    continue
                if k.tag not in _STANDARD_TAGS:
                    shown = k.tag.replace("tag:yaml.org,2002:", "!!")
                    yield _problem(file, lines, k.start_mark.line + 1, k.start_mark.column + 1,
                                   f"tag {shown!r} is not allowed", "configuration is plain YAML: remove the tag")
                    continue
                if isinstance(k, ScalarNode):
                    ident = (k.tag, k.value)
                    if ident in seen:
                        first = seen[ident].start_mark.line + 1
                        yield _problem(file, lines, k.start_mark.line + 1, k.start_mark.column + 1,
                                       f"duplicate key {k.value!r}",
                                       f"first defined at line {first}; YAML keeps only one of them")
                    else:
                        seen[ident] = k
                    child_key: str | int = k.value
                else:
                    child_key = f"<{k.tag}>"
                children.append((v, current_path + (child_key,), k))
            for v, p, k in reversed(children):
                stack.append((v, p, k, inner))
        elif isinstance(current, SequenceNode):
            for index in range(len(current.value) - 1, -1, -1):
                stack.append((current.value[index], current_path + (index,), None, inner))
    if repeated > max(ALIAS_ALLOWANCE, len(walked)):
        yield _alias_bomb(file, lines, max(ALIAS_ALLOWANCE, len(walked)))


def _alias_bomb(file: Path, lines: list[str], allowed: int) -> ConfigProblem:
    return _problem(file, lines, None, None, str(AliasBomb(allowed)), _ALIAS_HINT)


def _char_positions(info: NodeInfo, lines: list[str]) -> list[tuple[int, int]] | None:
    """File position of each character of a string scalar, or None when it cannot be traced exactly."""
    style = info.style or ""
    if style in ("'", '"') and info.line == info.end_line:
        return _quoted_positions(info, lines[info.line - 1], style)
    if style in ("", None) and info.line == info.end_line:
        return [(info.line, info.column + i) for i in range(info.end_column - info.column)]
    result: list[tuple[int, int]] = []
    if style in ("", None):  # a plain scalar over several lines: lines trimmed, joined by a space
        for n in range(info.line, min(info.end_line, len(lines)) + 1):
            text = lines[n - 1]
            start = info.column - 1 if n == info.line else len(text) - len(text.lstrip(" "))
            end = info.end_column - 1 if n == info.end_line else len(text.rstrip())
            if start >= end:
                continue
            result.extend((n, i + 1) for i in range(start, end))
            result.append((n, end + 1))  # the space (or line break) that joins it to the next
        return result
    if style in ("|", ">"):
        # The block's indentation is its first non-empty line's; it ends before a line indented less
        # (its end mark may lie on the next key's line).
        body = [n for n in range(info.line + 1, min(info.end_line, len(lines)) + 1)]
        indents = [len(lines[n - 1]) - len(lines[n - 1].lstrip(" ")) for n in body if lines[n - 1].strip()]
        indent = indents[0] if indents else 0
        for k, n in enumerate(body):
            if lines[n - 1].strip() and len(lines[n - 1]) - len(lines[n - 1].lstrip(" ")) < indent:
                body = body[:k]
                break
        for k, n in enumerate(body):
            text = lines[n - 1]
            for i in range(indent, len(text)):
                result.append((n, i + 1))
            # Folding drops a line break that precedes a blank line (the blank line gives the break).
            folded_away = style == ">" and text.strip() and k + 1 < len(body) and not lines[body[k + 1] - 1].strip()
            if not folded_away:
                result.append((n, len(text) + 1))  # the newline, or the space it is folded to
        return result
    return None


def _quoted_positions(info: NodeInfo, text: str, quote: str) -> list[tuple[int, int]]:
    """Positions of the characters of a one-line quoted scalar, skipping quotes and escapes."""
    result: list[tuple[int, int]] = []
    i = info.column  # 0-based index just after the opening quote
    stop = info.end_column - 2  # 0-based index of the closing quote
    widths = {"x": 4, "u": 6, "U": 10}
    while i < stop:
        result.append((info.line, i + 1))
        if quote == "'" and text[i] == "'":
            i += 2  # '' is one quote
        elif quote == '"' and text[i] == "\\" and i + 1 < len(text):
            i += widths.get(text[i + 1], 2)
        else:
            i += 1
    return result
