"""`monitor check`: the loader's problems plus query syntax and watchlist tests, all in one list."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from monitor.config import ConfigProblem, ConfigReport, LoadedConfig, load_config_report, locate_query_problem
from monitor.config.loader import problem_order
from monitor.match import QueryProblem, check_watchlists


def check_configuration(
    directory: Path, env: Mapping[str, str], *, run_tests: bool = True
) -> tuple[LoadedConfig | None, list[ConfigProblem]]:
    """Load and validate a configuration directory; returns every problem found (empty when valid).

    A file that fails to load does not stop the others: the queries, `@references` and `tests:` of
    every watchlist that loaded (or could be repaired for checking) are checked in the same run.
    """
    report = load_config_report(directory, env)
    problems = list(report.problems)
    for query_problem in check_watchlists(report.watchlists, unloaded=report.unloaded, dropped=report.dropped,
                                          repaired=report.repaired):
        if query_problem.field == "tests" and not run_tests:
            continue
        if query_problem.field in ("query", "exclude") and query_problem.column is not None:
            problems.append(
                locate_query_problem(
                    report, query_problem.watchlist, query_problem.entry_id, query_problem.field,
                    query_problem.column, query_problem.message, query_problem.hint,
                )
            )
            continue
        problems.append(_unlocated(report, query_problem))
    problems.sort(key=problem_order)
    return (report.loaded if not problems else None), problems


def _unlocated(report: ConfigReport, problem: QueryProblem) -> ConfigProblem:
    """A query problem without a column (e.g. a failing watchlist test): point at the entry or test."""
    file = report.watchlist_file(problem.watchlist)
    path: tuple[str | int, ...] = ()
    if problem.field == "tests" and problem.test_index is not None:
        path = report.test_path(problem.watchlist, problem.test_index)
        entry = f"test #{int(path[1]) + 1}"
    else:
        path = report.entry_path(problem.watchlist, problem.entry_id) or ()
        entry = f"entry {problem.entry_id!r}"
    line, col = report.locate(file, path)
    return ConfigProblem(file, line, col, entry, problem.message, problem.hint, report.source_line(file, line), col)
