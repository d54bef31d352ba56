"""Validation for `monitor check`: every query parses and resolves, every watchlist test passes."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from monitor.config.models import WatchlistConfig
from monitor.match.compile import Compiler, QueryProblem
from monitor.match.matcher import CompiledWatchlists, ordered_fields
from monitor.match.types import Document


def check_watchlists(watchlists: Mapping[str, WatchlistConfig], *, unloaded: Collection[str] = (),
                     dropped: Collection[tuple[str, str]] = (),
                     repaired: Collection[tuple[str, str]] = ()) -> list[QueryProblem]:
    """Every problem in the watchlists' queries, excludes and `tests:`, in configuration order.

    With a partly loaded configuration (see `Compiler`), what depends on the parts that failed to load is
    left unchecked rather than reported twice: references into `unloaded` lists or to `dropped` entries,
    and test expectations about entries that were `repaired` (or refer to one).
    """
    compiler = Compiler(watchlists, unloaded=unloaded, dropped=dropped, repaired=repaired)
    entries = compiler.compile_all()
    problems = list(compiler.problems)
    compiled = CompiledWatchlists(compiler.table, entries, ordered_fields(compiler.fields))
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
                elif (wl_id, entry_id) in compiler.broken:
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
