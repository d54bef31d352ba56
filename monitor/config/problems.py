"""One configuration problem, located in its file and printed the way DESIGN §3 shows."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else as given."""
    try:
        absolute = path if path.is_absolute() else Path.cwd() / path
        relative = os.path.relpath(absolute, Path.cwd())
    except ValueError:  # another drive on Windows
        return str(path)
    # Only shorten paths below the working directory: "../../etc/x" reads worse than the absolute path.
    return str(path) if relative.startswith("..") else relative


@dataclass(frozen=True)
class ConfigProblem:
    """A problem in a configuration file: where it is, which entry, what is wrong, and how to fix it."""

    file: Path
    line: int | None
    column: int | None
    entry: str | None
    message: str
    hint: str | None = None
    source_line: str | None = None
    caret_column: int | None = None
    severity: Literal["error", "warning"] = "error"  # a warning does not stop the configuration loading

    def location(self) -> str:
        """`path:line:col`, leaving out what is unknown."""
        text = display_path(self.file)
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text

    def format(self) -> str:
        """The problem as printed by `monitor check`: location line, source line, hint under a caret."""
        head = f"{self.location()}: "
        if self.entry:
            head += f"{self.entry}: "
        if self.severity == "warning":
            head += "warning: "
        lines = [head + self.message]
        if self.source_line is None:
            if self.hint:
                lines.append(f"  hint: {self.hint}")
            return "\n".join(lines)
        raw = self.source_line.rstrip("\r\n").expandtabs(8)
        source = raw.lstrip()
        # The line is shown dedented (as in DESIGN §3), so the caret moves left by the removed indentation.
        removed = len(raw) - len(source)
        lines.append("  " + source)
        column = self.caret_column if self.caret_column is not None else self.column
        if column is None:
            if self.hint:
                lines.append(f"  hint: {self.hint}")
            return "\n".join(lines)
        caret_index = 2 + max(column - 1 - removed, 0)  # 0-based position of '^' in the printed line
        if self.hint:
            text = f"hint: {self.hint} ^"
            pad = caret_index - (len(text) - 1)
            if pad >= 2:
                lines.append(" " * pad + text)
                return "\n".join(lines)
            lines.append(" " * caret_index + "^")
            lines.append(f"  hint: {self.hint}")
        else:
            lines.append(" " * caret_index + "^")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


# ---------------------------------------------------------------- pydantic errors in configuration words

_FRIENDLY = {
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "model_type": "expected a mapping of keys and values",
    "model_attributes_type": "expected a mapping of keys and values",
    "dict_type": "expected a mapping of keys and values",
    "string_type": "expected text",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
}


def did_you_mean(word: str, choices: list[str]) -> str | None:
    """'did you mean ...?' for the closest choice, if any is close."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def join_hints(*parts: str | None) -> str | None:
    """Non-empty hints joined with '; '."""
    text = ""
    for part in filter(None, parts):
        text += (" " if text.endswith("?") else "; ") + part if text else part
    return text or None


def _unwrap(tp: Any) -> Any:
    """The model or container inside Optional[...] / X | None."""
    if get_origin(tp) in (Union, UnionType):
        for arg in get_args(tp):
            if arg is not type(None):
                return arg
    return tp


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc`, following fields and list items."""
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, str):
            if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
                return None
            fields = {(info.alias or name): info for name, info in tp.model_fields.items()}
            info = fields.get(part) or tp.model_fields.get(part)
            if info is None:
                return None
            tp = info.annotation
        elif get_origin(tp) in (tuple, list):
            tp = get_args(tp)[0]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def clean_loc(raw: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop parts pydantic adds that are not in the YAML (validator and union names), keeping the last."""
    result: list[Any] = []
    current = raw
    for i, part in enumerate(loc):
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        elif i < len(loc) - 1:
            continue
        else:
            current = None
        result.append(part)
    return tuple(result)


def error_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message in the words of a configuration file."""
    kind, msg = error["type"], str(error["msg"])
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    if kind == "too_short":
        return "needs at least one entry"
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if msg.startswith("Input should be "):
        msg = "expected " + msg.removeprefix("Input should be ")
    return msg
