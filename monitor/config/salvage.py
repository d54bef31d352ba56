"""Keep what can be checked of a watchlist that failed validation, so `monitor check` reports every mistake.

A watchlist with an unknown key or a bad value is still invalid (its problems are reported as they are),
but its other entries' queries, `@references` and `tests:` can and should be checked in the same run.
This module removes the offending keys (or, failing that, the offending entries) from a copy of the
file's data until it validates, and says which entries it touched.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from monitor.config.models import WatchlistConfig
from monitor.config.problems import clean_loc

_PASSES = 4  # a repair can reveal another error underneath (a removed key, then a missing one)
_SECTIONS = ("actors", "topics")


@dataclass
class Salvaged:
    """A watchlist repaired for checking only: `repaired` entries were changed, `dropped` ones left out."""

    watchlist: WatchlistConfig
    repaired: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    # Where each kept entry and test sits in the file: indexes shift when an entry is left out.
    entry_paths: dict[str, tuple[str, int]] = field(default_factory=dict)
    test_paths: list[int] = field(default_factory=list)


def salvage_watchlist(raw: Mapping[str, Any], watchlist_id: str) -> Salvaged | None:
    """The checkable part of an invalid watchlist file's data, or None when nothing sensible remains."""
    data = copy.deepcopy(dict(raw))
    data["id"] = watchlist_id
    repaired: set[str] = set()
    dropped: set[str] = set()
    origins = {key: list(range(len(data[key]))) for key in (*_SECTIONS, "tests") if isinstance(data.get(key), list)}
    for _ in range(_PASSES):
        try:
            model = WatchlistConfig.model_validate(data)
        except ValidationError as exc:
            if not _repair(data, exc, watchlist_id, repaired, dropped, origins):
                return None
            continue
        paths = {entry.id: (section, origins[section][index])
                 for section in _SECTIONS for index, entry in enumerate(getattr(model, section))}
        return Salvaged(model, repaired - dropped, dropped, paths, origins.get("tests", []))
    return None


def _entry_id(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def _repair(data: dict[str, Any], exc: ValidationError, watchlist_id: str, repaired: set[str],
            dropped: set[str], origins: dict[str, list[int]]) -> bool:
    """Change `data` so that the errors of `exc` go away; False when an error cannot be repaired."""
    drop: dict[str, set[int]] = {}
    for error in exc.errors(include_url=False):
        loc = clean_loc(data, tuple(error["loc"]))
        if not loc:
            return False
        head = loc[0]
        if len(loc) == 1:  # a top-level key of the watchlist
            if head == "name" and error["type"] == "missing":
                data["name"] = watchlist_id
            elif head in data and head not in _SECTIONS and head != "tests":
                del data[head]  # an unknown key, or a bad description
            else:
                return False  # "actors:" is not a list: nothing of it can be checked
            continue
        index = loc[1]
        if head not in (*_SECTIONS, "tests") or not isinstance(index, int):
            return False
        items = data.get(head)
        if not isinstance(items, list) or not 0 <= index < len(items):
            return False
        item = items[index]
        entry_id = _entry_id(item)
        key = loc[2] if len(loc) > 2 else None
        if head == "tests" or not isinstance(item, dict) or not isinstance(key, str) or entry_id is None:
            drop.setdefault(head, set()).add(index)
        elif key == "name" and error["type"] == "missing":
            item["name"] = entry_id
            repaired.add(entry_id)
        elif key in ("id", "query"):  # without them the entry cannot be checked at all
            drop.setdefault(head, set()).add(index)
        elif key in item:
            del item[key]
            repaired.add(entry_id)
        else:
            drop.setdefault(head, set()).add(index)
    for section, indexes in drop.items():
        items = data[section]
        for index in sorted(indexes, reverse=True):
            entry_id = _entry_id(items[index])
            if section != "tests" and entry_id is not None:
                dropped.add(entry_id)
            del items[index]
            del origins[section][index]
    return True
