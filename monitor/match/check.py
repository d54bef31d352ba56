"""Validation for `monitor check`: every query parses and resolves, every watchlist test passes."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Literal

from monitor.match.compile import Compiler, QueryProblem
from monitor.match.fold import fold_tokens
from monitor.match.matcher import CompiledWatchlists
from monitor.model import Document

if TYPE_CHECKING:  # annotations only: a parse process matches without loading the configuration models
    from monitor.config.models import WatchlistConfig


def check_watchlists(watchlists: Mapping[str, WatchlistConfig], *, unloaded: Collection[str] = (),
                     dropped: Collection[tuple[str, str]] = (),
                     repaired: Collection[tuple[str, str]] = ()) -> list[QueryProblem]:
    """Every problem in the watchlists' queries, excludes and `tests:`, in configuration order."""
    return check_and_compile(watchlists, unloaded=unloaded, dropped=dropped, repaired=repaired)[0]


def check_and_compile(watchlists: Mapping[str, WatchlistConfig], *, unloaded: Collection[str] = (),
                      dropped: Collection[tuple[str, str]] = (),
                      repaired: Collection[tuple[str, str]] = ()) -> tuple[list[QueryProblem], CompiledWatchlists]:
    """Every problem in the watchlists' queries, excludes and `tests:`, and the watchlists compiled.

    With a partly loaded configuration (see `Compiler`), what depends on the parts that failed to load is
    left unchecked rather than reported twice: references into `unloaded` lists or to `dropped` entries,
    and test expectations about entries that were `repaired` (or refer to one). The compiled watchlists
    are what the caller matches with when there is no problem (compiling 100k entries twice costs seconds).
    """
    compiler = Compiler(watchlists, unloaded=unloaded, dropped=dropped, repaired=repaired)
    compiled = CompiledWatchlists.from_compiler(compiler)
    problems = list(compiler.problems) + compiler.warnings + _alias_warnings(watchlists)
    for wl_id, wl in watchlists.items():
        known = set(wl.entry_ids())
        for index, test in enumerate(wl.tests):
            matched = {m.id for m in compiled.match(Document(title=test.title, body=test.text), only=(wl_id,))}
            for entry_id, expected in [(i, True) for i in test.matches] + [(i, False) for i in test.not_matches]:
                if (wl_id, entry_id) in compiler.tainted or (wl_id, entry_id) in dropped:
                    continue  # changed or left out to check the rest: its own problem is reported
                if entry_id not in known:
                    problems.append(
                        QueryProblem(
                            wl_id, entry_id, "tests", None, f"test names unknown entry '{entry_id}'",
                            "use the id of an actor or topic of this watchlist", index,
                        )
                    )
                elif (wl_id, entry_id) in compiled.broken:
                    continue  # its query problem is already reported; the test cannot say more
                elif expected and entry_id not in matched:
                    problems.append(
                        QueryProblem(
                            wl_id, entry_id, "tests", None, "expected to match the test text, but it does not",
                            "check the aliases or query against the text of this test", index,
                        )
                    )
                elif not expected and entry_id in matched:
                    problems.append(
                        QueryProblem(
                            wl_id, entry_id, "tests", None, "expected not to match the test text, but it does",
                            "tighten the query or add an exclude", index,
                        )
                    )
    return problems, compiled


_WILDCARD = re.compile(r"\w[*?]|[*?]\w")


def _alias_warnings(watchlists: Mapping[str, WatchlistConfig]) -> list[QueryProblem]:
    """Aliases are names matched as written: a '*' or '?' in one is punctuation, not a wildcard."""
    warnings: list[QueryProblem] = []
    for wl_id, wl in watchlists.items():
        for actor in wl.actors:
            lists: tuple[tuple[Literal["aliases", "exact_case"], tuple[str, ...]], ...] = (
                ("aliases", actor.aliases), ("exact_case", actor.exact_case))
            for field, aliases in lists:
                for index, alias in enumerate(aliases):
                    # `in` first: this runs over every alias of lists that may hold 100k actors.
                    found = _WILDCARD.search(alias) if "*" in alias or "?" in alias else None
                    if found is None:
                        continue
                    char = "*" if "*" in found.group() else "?"
                    words = " ".join(fold_tokens(alias)) or alias
                    stem = alias.rstrip("*")
                    if alias.endswith("*") and "*" not in stem and "?" not in stem:
                        query = f'"{alias}"' if " " in alias.strip() else alias
                        fix = f"for a wildcard, make it a topic with query: {query}"
                    else:
                        fix = "list each spelling as an alias of its own"
                    warnings.append(QueryProblem(
                        wl_id, actor.id, field, None, f"'{alias}': '{char}' is not a wildcard in an alias",
                        f"aliases are names matched as written (this one as \"{words}\"); {fix}",
                        severity="warning", alias_index=index,
                    ))
    return warnings
