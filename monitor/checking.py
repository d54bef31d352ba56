"""`monitor check`: the loader's problems plus query syntax and watchlist tests, all in one list."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from monitor.config import ConfigProblem, LoadedConfig, load_config, locate_query_problem
from monitor.errors import ConfigurationError
from monitor.match import CompiledWatchlists, check_watchlists


def check_configuration(
    directory: Path, env: Mapping[str, str], *, run_tests: bool = True
) -> tuple[LoadedConfig | None, list[ConfigProblem]]:
    """Load and validate a configuration directory; returns every problem found (empty when valid)."""
    try:
        loaded = load_config(directory, env)
    except ConfigurationError as exc:
        return None, list(exc.problems)
    problems: list[ConfigProblem] = []
    # Compiled once: the caller matches with it (loaded.matcher) instead of compiling the watchlists again.
    matcher = CompiledWatchlists.compile(loaded.config.watchlists, strict=False)
    for query_problem in check_watchlists(loaded.config.watchlists, matcher):
        if query_problem.field == "tests" and not run_tests:
            continue
        if query_problem.field in ("query", "exclude") and query_problem.column is not None:
            problems.append(
                locate_query_problem(
                    loaded, query_problem.watchlist, query_problem.entry_id, query_problem.field,
                    query_problem.column, query_problem.message, query_problem.hint,
                )
            )
            continue
        problems.append(_unlocated(loaded, query_problem))
    loaded.matcher = matcher if not problems else None
    return (loaded if not problems else None), problems


def _unlocated(loaded: LoadedConfig, problem: object) -> ConfigProblem:
    """A query problem without a column (e.g. a failing watchlist test): point at the entry or test."""
    watchlist: str = getattr(problem, "watchlist")  # noqa: B009
    file = loaded.watchlist_files.get(watchlist, loaded.config.directory / "watchlists" / f"{watchlist}.yaml")
    test_index = getattr(problem, "test_index", None)
    entry_id = getattr(problem, "entry_id", "")
    if getattr(problem, "field", "") == "tests" and test_index is not None:
        path: tuple[str | int, ...] = ("tests", test_index)
        entry = f"test #{test_index + 1}"
    else:
        path = _entry_path(loaded, watchlist, entry_id)
        entry = f"entry {entry_id!r}"
    line, col = loaded.locate(file, path)
    return ConfigProblem(
        file, line, col, entry, getattr(problem, "message", ""), getattr(problem, "hint", None),
        loaded.source_line(file, line), col,
    )


def _entry_path(loaded: LoadedConfig, watchlist: str, entry_id: str) -> tuple[str | int, ...]:
    config = loaded.config.watchlists.get(watchlist)
    if config is None:
        return ()
    for section, ids in (("actors", [a.id for a in config.actors]), ("topics", [t.id for t in config.topics])):
        if entry_id in ids:
            return (section, ids.index(entry_id))
    return ()
