"""Validation for `monitor check`: every query parses and resolves, every watchlist test passes."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.config.models import WatchlistConfig
from monitor.match.compile import QueryProblem
from monitor.match.matcher import CompiledWatchlists
from monitor.match.types import Document


def check_watchlists(watchlists: Mapping[str, WatchlistConfig],
                     compiled: CompiledWatchlists | None = None) -> list[QueryProblem]:
    """Every problem in the watchlists' queries, excludes and `tests:`, in configuration order.

    `compiled`: the watchlists compiled with `strict=False`, when the caller keeps them for matching.
    """
    compiled = compiled if compiled is not None else CompiledWatchlists.compile(watchlists, strict=False)
    problems = list(compiled.problems)
    for wl_id, wl in watchlists.items():
        known = set(wl.entry_ids())
        for index, test in enumerate(wl.tests):
            matched = {m.id for m in compiled.match(Document(title=test.title, body=test.text), only=(wl_id,))}
            for entry_id, expected in [(i, True) for i in test.matches] + [(i, False) for i in test.not_matches]:
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
    return problems
