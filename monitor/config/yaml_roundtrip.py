"""Write a configuration file the way its author wrote it: ruamel.yaml round-trip, atomic, never over a newer file.

The editor changes one entry of a watchlist; everything else in the file (comments, key order, blank
lines, quoting, flow-style alias lists) must come back byte for byte, so a reviewer's diff shows only
the change. ruamel.yaml's round-trip mode keeps those; this module adds what it does not do itself:
the file's own indentation (detected, not assumed), the quoting and flow style of a value that is
replaced, and the write (a temp file in the same directory, fsync, os.replace).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from monitor.errors import StaleFile

# (mapping, sequence, offset) layouts tried in order; the first that reproduces the file is kept.
_LAYOUTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0))


def sha256_of(data: bytes) -> str:
    """The hex SHA-256 of a file's bytes (what the editor's form carries to detect a concurrent edit)."""
    return hashlib.sha256(data).hexdigest()


def _yaml(layout: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long query onto a second line
    mapping, sequence, offset = layout
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


class RoundTrip:
    """One YAML document loaded for editing; `dump()` gives it back with only the edited values changed."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.layout = _LAYOUTS[0]
        self.data: Any = None
        for layout in _LAYOUTS:
            data = _yaml(layout).load(text)
            if _dump(_yaml(layout), data) == text:
                self.layout, self.data = layout, data
                break
        if self.data is None:  # no layout reproduces it exactly: keep the common one, comments still survive
            self.data = _yaml(self.layout).load(text)

    def dump(self) -> str:
        """The document as YAML text."""
        return _dump(_yaml(self.layout), self.data)


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def like(old: Any, new: Any) -> Any:
    """`new` written the way `old` was: the same quotes for a string, the same flow style for a list."""
    if isinstance(new, str):
        if isinstance(old, SingleQuotedScalarString) or (old is None and _needs_quotes(new)):
            return SingleQuotedScalarString(new)
        if isinstance(old, DoubleQuotedScalarString):
            return DoubleQuotedScalarString(new)
        return new
    if isinstance(new, list | tuple):
        seq = CommentedSeq()
        first = old[0] if isinstance(old, list) and old else None
        # An item that was there keeps its own spelling; a new one takes the first item's quotes.
        kept = {str(item): item for item in old} if isinstance(old, list) else {}
        seq.extend(kept.get(str(item)) or (like(first, item) if first is not None else _quoted_alias(item))
                   for item in new)
        if not isinstance(old, CommentedSeq) or old.fa.flow_style():
            seq.fa.set_flow_style()  # a new list is written like the demo's: [“a”, “b”] on one line
        return seq
    return new


def _plain(value: Any) -> Any:
    return [str(v) for v in value] if isinstance(value, list | tuple) else value


def _quoted_alias(value: Any) -> Any:
    return DoubleQuotedScalarString(value) if isinstance(value, str) else value


def _needs_quotes(value: str) -> bool:
    # Queries hold quotes, colons, '@' and '*': single quotes keep them literal and readable.
    return any(c in value for c in "\"':#@*&!|>{}[],%`") or value != value.strip()


def set_fields(item: CommentedMap, values: Mapping[str, Any], order: Sequence[str]) -> None:
    """Set, replace or remove (value None or empty) keys of a mapping, keeping comments and order.

    A new key goes after the last of the keys that precede it in `order`, so a new `exclude:` lands
    where a person would have written it.
    """
    for key, value in values.items():
        empty = value is None or value == "" or (isinstance(value, list | tuple) and not value)
        if empty:
            if key in item:
                _keep_trailing_lines(item, key)
                del item[key]
            continue
        if key in item:
            if _plain(item[key]) != _plain(value):  # an unchanged value keeps its exact spelling
                item[key] = like(item[key], value)
            continue
        position = len(item)
        if key in order:
            before = [k for k in order[: order.index(key)] if k in item]
            if before:
                position = list(item.keys()).index(before[-1]) + 1
        if position == len(item):
            _hand_on_trailing_blank_lines(item, key)
        item.insert(position, key, like(None, value))


def _hand_on_trailing_blank_lines(item: CommentedMap, key: str) -> None:
    """Before appending `key` to a mapping: the blank lines that end it (before the next item) move below `key`."""
    if not len(item):
        return
    slots = item.ca.items.get(list(item.keys())[-1])
    token = slots[2] if slots else None
    if token is None:
        return
    kept = token.value.rstrip("\n")
    newlines = len(token.value) - len(kept)
    if newlines < 2:
        return
    token.value = kept + "\n"  # its own end of line (and its comment lines) stay with it
    item.ca.items[key] = [None, None, CommentToken("\n" * newlines, CommentMark(0), None), None]


def _keep_trailing_lines(item: CommentedMap, key: str) -> None:
    """Before deleting `key`: hand the comment lines and blank lines after it to the key before it."""
    token = item.ca.items.get(key, [None] * 4)[2]
    keys = list(item.keys())
    if token is None or keys.index(key) == 0:
        return
    previous = keys[keys.index(key) - 1]
    slots = item.ca.items.setdefault(previous, [None, None, None, None])
    # The token's first line is the deleted key's own end of line (or its end-of-line comment).
    rest = token.value.split("\n", 1)[1] if "\n" in token.value else ""
    if slots[2] is None:
        slots[2] = CommentToken("\n" + rest, CommentMark(0), None)
    else:
        slots[2].value += rest


def append_item(seq: CommentedSeq, item: CommentedMap) -> None:
    """Append a mapping to a block list, followed by as many blank lines as the item it now follows."""
    last = seq[-1] if len(seq) and isinstance(seq[-1], CommentedMap) else None
    seq.append(item)
    if last is None or not len(last) or not len(item):
        return
    token = last.ca.items.get(list(last.keys())[-1], [None] * 4)[2]
    newlines = len(token.value) - len(token.value.rstrip("\n")) if token is not None else 0
    if newlines >= 2:
        item.ca.items[list(item.keys())[-1]] = [None, None, CommentToken("\n" * newlines, CommentMark(0), None), None]


def find_item(seq: Sequence[Any], item_id: str) -> int | None:
    """The index of the mapping whose `id` is `item_id` in a list, or None."""
    for index, item in enumerate(seq):
        if isinstance(item, Mapping) and str(item.get("id")) == item_id:
            return index
    return None


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: a temp file in the same directory, fsync, os.replace, fsync the directory.

    A reader (the service's reload) sees the old file or the new one, never half of one; if anything
    fails the old file is untouched and the temp file is removed. The temp name starts with a dot, which
    the service's change detection ignores.
    """
    directory = path.parent
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # not every file system lets a directory be fsynced
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def check_unchanged(path: Path, expected_sha256: str | None) -> bytes:
    """The file's current bytes; StaleFile when they are not those the editor opened (by SHA-256).

    `expected_sha256` None means the editor opened no file (a new one): then the file must not exist.
    """
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        if expected_sha256 is None:
            return b""
        raise StaleFile(f"{path.name} was removed since you opened it; nothing was written") from None
    if expected_sha256 is None or sha256_of(current) != expected_sha256:
        raise StaleFile(
            f"{path.name} changed on disk since you opened it (someone else saved, or it was edited by hand); "
            "nothing was written. Reload the editor to see the current file, then make your change again."
        )
    return current
