"""Build configuration data straight from libyaml's event stream: fast, and without a node tree in memory.

PyYAML's loaders compose a tree of nodes (each with two marks) before constructing anything: for an
8 MB watchlist that tree alone takes ~320 MB, and the pure-Python scanner half a minute. Here each
event of libyaml's parser becomes its value at once, the checks of a configuration file (unsafe tags,
duplicate keys, alias bombs) are made on the way, and positions are recorded only when asked for,
which happens when a problem must be located. Whatever this path does not handle itself (merge keys,
a tagged value it cannot build, a syntax error, several documents) raises `UseNodes`, and the caller
takes PyYAML's pure-Python composer and constructor, with their own error messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

YamlPath = tuple[str | int, ...]
# key line, key column, line, column, end line, end column (1-based), scalar style
Position = tuple[int | None, int | None, int, int, int, int, str | None]

STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp", "binary")
)
# Aliases repeat a value without writing it out again: a few lines can stand for billions of values
# ("billion laughs"), which validation and compiling would then walk one by one. Aliases may repeat
# as many values as the file writes out itself, and at least this many: a file's honest size is never
# held against it, only what its aliases expand to.
ALIAS_ALLOWANCE = 100_000

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_UNSAFE_TAG_HINT = "configuration is plain YAML: remove the tag"
# Where libyaml accepts what PyYAML refuses (a tab as a separator, a BOM inside the text, characters
# PyYAML's reader does not take, "a? b" inside [...] or {...}), PyYAML's path decides, so that both
# paths accept the same files (tests/config/test_config_yaml_events.py compares them).
_PYYAML_STRICTER = re.compile(r"[\t\ufeff]|" + yaml.reader.Reader.NON_PRINTABLE.pattern)
_QUESTION = re.compile(r"\?(?:\s|\Z)")
_FLOW = re.compile(r"[\[{]")


class UseNodes(Exception):  # noqa: N818 - a signal, not an error
    """This document needs PyYAML's composer and constructor (or their error message)."""


class AliasBomb(Exception):  # noqa: N818 - the caller reports it as a configuration problem
    """Aliases expand to more values than allowed; `line` and `column` (1-based) are where that happened."""

    def __init__(self, allowed: int, line: int | None = None, column: int | None = None) -> None:
        super().__init__(f"YAML aliases expand to more than {allowed:,} values (an alias bomb?)")
        self.line = line
        self.column = column


class MarkedProblems(Exception):  # noqa: N818 - the caller reports each one
    """Unsafe tags, duplicate keys, recursive aliases: (line, column, message, hint), 1-based, in file order."""

    def __init__(self, problems: list[tuple[int, int, str, str | None]]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


class _Loader(yaml.CSafeLoader):
    """libyaml's parser with PyYAML's safe constructors and resolver; a separate class so nothing leaks."""


_CONSTRUCTORS: dict[Any, Any] = _Loader.yaml_constructors
_UNDEFINED: Any = _Loader.yaml_constructors[None]
# PyYAML's Resolver.resolve for a plain scalar without a call per scalar: the implicit resolvers by
# first character ("" for the empty scalar); any other first character makes a string.
assert not _Loader.yaml_path_resolvers and None not in _Loader.yaml_implicit_resolvers
_RESOLVERS = dict(_Loader.yaml_implicit_resolvers)
_NO_KEY = object()


def build(text: str, positions: dict[YamlPath, Any] | None = None,
          make_position: Callable[..., Any] | None = None) -> Any:
    """The data of a one-document YAML text; raises UseNodes, AliasBomb or MarkedProblems.

    With `positions`, also where each value is: `make_position(key_line, key_column, line, column,
    end_line, end_column, style)` by path, as PyYAML's nodes give them.
    """
    if _PYYAML_STRICTER.search(text) or (_QUESTION.search(text) and _FLOW.search(text)):
        raise UseNodes
    loader = _Loader(text)
    try:
        return _Builder(loader, len(text), positions is not None).run(positions, make_position or _fields)
    except yaml.YAMLError:
        raise UseNodes from None
    finally:
        loader.dispose()


class _Open:
    """What a mapping or list being built needs when it ends (its hot state lives in locals of `run`)."""

    __slots__ = ("path", "key_mark", "start", "anchor", "own", "repeated", "first_record")

    def __init__(self, path: YamlPath, key_mark: Any, start: Any, anchor: str | None, own: int, repeated: int,
                 first_record: int) -> None:
        self.path = path  # where it sits, and the mark of its key (only when positions are recorded)
        self.key_mark = key_mark
        self.start = start
        self.anchor = anchor
        self.own = own  # the counters when it started, to size it if it is anchored
        self.repeated = repeated
        self.first_record = first_record


class _Builder:
    """One pass over the events of one document."""

    def __init__(self, loader: _Loader, text_length: int, record: bool) -> None:
        self.loader = loader
        self.record = record
        self.records: list[tuple[YamlPath, Position]] = []  # in document order, when recording
        # anchor -> (value, how many values it stands for, its text if a scalar, its positions below it)
        self.anchors: dict[str, tuple[Any, int, str | int, list[tuple[YamlPath, Position]]]] = {}
        self.open_anchors: set[str] = set()
        self.problems: list[tuple[int, int, str, str | None]] = []
        self.repeated = 0  # values repeated by aliases
        self.crossings: list[tuple[int, int, int]] = []  # (repeated so far, line, column) past the allowance
        # Checked on the way, so that a bomb stops at once: an honest file writes out fewer values than
        # it has characters, so this never refuses what the final check would accept.
        self.early_limit = max(ALIAS_ALLOWANCE, text_length)

    def run(self, positions: dict[YamlPath, Any] | None, make_position: Callable[..., Any]) -> Any:
        get = self.loader.get_event
        get()  # stream start
        if type(get()) is StreamEndEvent:  # empty, or only comments
            return None
        record = self.record
        records = self.records
        # The container being built, in locals (one event at a time, this loop is the hot path): its
        # value (None at the top), whether a mapping and then whether a key comes next, the pending key
        # (value, text, mark), the keys seen (-> mark, for the duplicate-key hint), whether it is under
        # a refused tag (then nothing more is reported from inside), and what it needs at its end.
        container: Any = None
        is_map = expect_key = quiet = False
        key: Any = None
        key_text: str | int = ""
        key_mark: Any = None
        seen: dict[Any, Any] = {}
        meta = _Open((), None, None, None, 0, 0, 0)
        stack: list[tuple[Any, ...]] = []
        root: Any = None
        own = 0  # values written out (not keys, as PyYAML's walk counts them)
        while True:
            event: Any = get()
            kind = type(event)
            is_key = expect_key
            if kind is ScalarEvent:
                raw = value = event.value
                own += not is_key
                tag = event.tag
                if tag is None or tag == "!":
                    # PyYAML's parser resolves a "!"-tagged scalar as if it were plain; libyaml does not.
                    plain = tag == "!" or event.implicit[0]
                    tag = _STR
                    if plain:
                        for resolved, pattern in _RESOLVERS.get(value[:1], ()):
                            if pattern.match(value):
                                tag = resolved
                                break
                    if tag != _STR and not quiet:
                        value = self.scalar(tag, event, is_key)
                elif tag not in STANDARD_TAGS:
                    if not quiet:
                        self.problem(event.start_mark, f"tag {_shown(tag)!r} is not allowed", _UNSAFE_TAG_HINT)
                elif tag != _STR and not quiet:
                    value = self.scalar(tag, event, is_key)
                if event.anchor is not None:
                    self.new_anchor(event.anchor)
                    here: list[tuple[YamlPath, Position]] = [
                        ((), _position(None, event.start_mark, event.end_mark, event.style or None))]
                    self.anchors[event.anchor] = (value, 1, raw, here if record else [])
                if record and not is_key:
                    path, mark = _child_path(meta.path, container, is_map, key_text, key_mark)
                    records.append((path, _position(mark, event.start_mark, event.end_mark, event.style or None)))
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if is_key:
                    raise UseNodes  # a mapping or list as a key: PyYAML's error
                own += 1
                new_is_map = kind is MappingStartEvent
                tag = event.tag
                new_quiet = quiet
                if tag is not None and tag != "!" and tag not in STANDARD_TAGS:
                    if not quiet:
                        self.problem(event.start_mark, f"tag {_shown(tag)!r} is not allowed", _UNSAFE_TAG_HINT)
                    new_quiet = True
                elif tag is not None and tag != "!" and tag != (_MAP if new_is_map else _SEQ):
                    raise UseNodes  # e.g. "!!str [a]": PyYAML's error
                if event.anchor is not None:
                    self.new_anchor(event.anchor)
                    self.open_anchors.add(event.anchor)
                path, mark = _child_path(meta.path, container, is_map, key_text, key_mark) if record else ((), None)
                stack.append((container, is_map, expect_key, key, key_text, key_mark, seen, quiet, meta))
                container, is_map, expect_key, quiet = ({} if new_is_map else []), new_is_map, new_is_map, new_quiet
                seen = {}
                meta = _Open(path, mark, event.start_mark, event.anchor, own - 1, self.repeated, len(records))
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                closed, value, raw = meta, container, ""
                container, is_map, expect_key, key, key_text, key_mark, seen, quiet, meta = stack.pop()
                is_key = False  # a mapping or list as a key took PyYAML's path when it started
                if record:
                    records.append((closed.path, _position(closed.key_mark, closed.start, event.end_mark, None)))
                if closed.anchor is not None:
                    self.open_anchors.discard(closed.anchor)
                    size = (own - closed.own) + (self.repeated - closed.repeated)
                    cut = len(closed.path)
                    below = [(p[cut:], i) for p, i in records[closed.first_record:]]
                    self.anchors[closed.anchor] = (value, size, raw, below)
            elif kind is AliasEvent:
                value, raw = self.alias(event, is_key, _child_path(meta.path, container, is_map, key_text, key_mark)
                                        if record and not is_key else None)
            elif kind is DocumentEndEvent:
                break
            else:  # pragma: no cover - libyaml emits nothing else inside a document
                raise UseNodes

            # The value is complete: put it in its place.
            if is_map:
                if is_key:
                    if isinstance(value, (dict, list)):
                        raise UseNodes  # an alias to a mapping or list as a key: PyYAML's error
                    key, key_text, key_mark, expect_key = value, raw, event.start_mark, False
                    continue
                if key not in seen:
                    seen[key] = key_mark
                elif not quiet:
                    self.problem(key_mark, f"duplicate key {key_text!r}",
                                 f"first defined at line {seen[key].line + 1}; YAML keeps only one of them")
                container[key] = value
                expect_key = True
            elif container is not None:
                container.append(value)
            else:
                root = value

        if type(get()) is not StreamEndEvent:
            raise UseNodes  # a second document: PyYAML's error
        allowed = max(ALIAS_ALLOWANCE, own)
        if self.repeated > allowed:
            _, line, column = next(c for c in self.crossings if c[0] > allowed)
            raise AliasBomb(allowed, line, column)
        if self.problems:
            raise MarkedProblems(sorted(self.problems, key=lambda p: (p[0], p[1])))
        if positions is not None:
            for path, info in records:
                if path not in positions:  # the first of duplicate keys, as PyYAML's walk finds it
                    positions[path] = make_position(*info)
        return root

    def problem(self, mark: Any, message: str, hint: str | None = None) -> None:
        self.problems.append((mark.line + 1, mark.column + 1, message, hint))

    def new_anchor(self, name: str) -> None:
        if name in self.anchors or name in self.open_anchors:
            raise UseNodes  # a duplicate anchor: PyYAML's error

    def scalar(self, tag: str, event: Any, is_key: bool) -> Any:
        """A value of another type than str (int, bool, null, float, timestamp, binary), by PyYAML's constructor."""
        if tag in (_MAP, _SEQ) or (tag == _MERGE and is_key):
            raise UseNodes  # a merge key (<<) follows PyYAML's own rules; "!!map x" is PyYAML's error
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        try:
            return _CONSTRUCTORS.get(tag, _UNDEFINED)(self.loader, node)
        except Exception:  # noqa: BLE001 - e.g. "!!int ''": PyYAML's path reports it in its own words
            raise UseNodes from None

    def alias(self, event: Any, is_key: bool, place: tuple[YamlPath, Any] | None) -> tuple[Any, str | int]:
        """The value an alias repeats (the same object, as PyYAML gives it), counted against the allowance.

        `place`: where the alias stands and the mark of its key, when positions are recorded.
        """
        name, mark = event.anchor, event.start_mark
        if name in self.open_anchors:
            self.problem(mark, "recursive alias is not allowed")
            return None, ""
        if name not in self.anchors:
            raise UseNodes  # an undefined alias: PyYAML's error
        value, size, raw, below = self.anchors[name]
        if is_key:  # a key is one hashable value, and not walked again
            return value, raw
        self.repeated += size
        if self.repeated > ALIAS_ALLOWANCE:
            self.crossings.append((self.repeated, mark.line + 1, mark.column + 1))
            if self.repeated > self.early_limit:
                raise AliasBomb(self.early_limit, mark.line + 1, mark.column + 1)
        if place is not None:
            path, key_mark = place
            for sub, info in below:
                if not sub:  # the value the alias stands for, under the alias's own key
                    info = _position(key_mark, mark, mark, None)[:2] + info[2:]
                self.records.append((path + sub, info))
        return value, raw


def _child_path(path: YamlPath, container: Any, is_map: bool, key_text: str | int,
                key_mark: Any) -> tuple[YamlPath, Any]:
    """The path of the value that comes next in a container, and the mark of its key."""
    if container is None:
        return (), None
    if is_map:
        return path + (key_text,), key_mark
    return path + (len(container),), None


def _position(key_mark: Any, start: Any, end: Any, style: str | None) -> Position:
    return (key_mark.line + 1 if key_mark is not None else None, key_mark.column + 1 if key_mark is not None else None,
            start.line + 1, start.column + 1, end.line + 1, end.column + 1, style)


def _fields(*fields: Any) -> tuple[Any, ...]:
    return fields


def _shown(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")
