"""The configuration check: the loader's problems plus query syntax and watchlist tests, all in one list.

Used by `monitor check`, by every command that needs a valid configuration (`monitor run`, `match`,
`backtest`, ...), and by the service's reload. A configuration that passes comes back with its
watchlists compiled (`CheckedConfig.matcher`): the check compiled them, so nothing compiles them twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monitor.config import ConfigProblem, ConfigReport, LoadedConfig, load_config_report, locate_query_problem
from monitor.config.report import problem_order
from monitor.match import CompiledWatchlists, QueryProblem
from monitor.match.check import check_and_compile


@dataclass
class CheckedConfig(LoadedConfig):
    """A configuration without problems, and its watchlists compiled by the check."""

    matcher: CompiledWatchlists = field(kw_only=True)

    @classmethod
    def of(cls, loaded: LoadedConfig, matcher: CompiledWatchlists) -> CheckedConfig:
        """The loaded configuration with the watchlists the check compiled."""
        return cls(config=loaded.config, sources=loaded.sources, watchlist_files=loaded.watchlist_files, matcher=matcher)


@dataclass
class CheckResult:
    """A checked configuration: `loaded` when there is no problem; warnings never stop it loading."""

    loaded: CheckedConfig | None
    problems: list[ConfigProblem] = field(default_factory=list)
    warnings: list[ConfigProblem] = field(default_factory=list)


def check_configuration(
    directory: Path, env: Mapping[str, str], *, run_tests: bool = True
) -> tuple[CheckedConfig | None, list[ConfigProblem]]:
    """Load and validate a configuration directory; returns every problem found (empty when valid)."""
    result = check_configuration_with_warnings(directory, env, run_tests=run_tests)
    return result.loaded, result.problems


def check_configuration_with_warnings(directory: Path, env: Mapping[str, str], *,
                                      run_tests: bool = True) -> CheckResult:
    """Every problem and warning of a configuration directory, each located in its file.

    A file that fails to load does not stop the others: the queries, `@references` and `tests:` of
    every watchlist that loaded (or could be repaired for checking) are checked in the same run.
    """
    report = load_config_report(directory, env)
    problems = list(report.problems)
    warnings: list[ConfigProblem] = []
    query_problems, matcher = check_and_compile(report.watchlists, unloaded=report.unloaded, dropped=report.dropped,
                                                repaired=report.repaired)
    for query_problem in query_problems:
        if query_problem.field == "tests" and not run_tests:
            continue
        found = warnings if query_problem.severity == "warning" else problems
        if query_problem.field in ("query", "exclude") and query_problem.column is not None:
            found.append(
                locate_query_problem(
                    report, query_problem.watchlist, query_problem.entry_id, query_problem.field,
                    query_problem.column, query_problem.message, query_problem.hint, severity=query_problem.severity,
                )
            )
            continue
        found.append(_unlocated(report, query_problem))
    problems.sort(key=problem_order)
    warnings.sort(key=problem_order)
    # Compiled once: the caller matches with it instead of compiling again.
    loaded = CheckedConfig.of(report.loaded, matcher) if report.loaded is not None and not problems else None
    return CheckResult(loaded, problems, warnings)


def _unlocated(report: ConfigReport, problem: QueryProblem) -> ConfigProblem:
    """A problem without a column in a query (a failing test, an alias): point at the test, alias or entry."""
    file = report.watchlist_file(problem.watchlist)
    entry_path = report.entry_path(problem.watchlist, problem.entry_id)
    path: tuple[str | int, ...] = entry_path or ()
    entry = f"entry {problem.entry_id!r}"
    if problem.field == "tests" and problem.test_index is not None:
        path = report.test_path(problem.watchlist, problem.test_index)
        entry = f"test #{int(path[1]) + 1}"
    elif entry_path is not None and problem.alias_index is not None:
        path = (*entry_path, problem.field, problem.alias_index)
        entry = f"{entry_path[0].removesuffix('s')} {problem.entry_id!r}"
    line, col = report.value_position(file, path) if problem.alias_index is not None else report.locate(file, path)
    return ConfigProblem(file, line, col, entry, problem.message, problem.hint, report.source_line(file, line), col,
                         problem.severity)
