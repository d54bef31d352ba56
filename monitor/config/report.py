"""What one loading pass of a configuration directory produced, and finding positions in its files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from monitor.config.models import Config, WatchlistConfig
from monitor.config.problems import ConfigProblem
from monitor.config.salvage import Salvaged
from monitor.config.sourcemap import SourceMap, YamlPath


class _Located:
    """Positions in the files one loading pass read (shared by a valid and a partial result)."""

    sources: dict[Path, SourceMap]
    watchlist_files: dict[str, Path]

    def _map(self, file: Path) -> SourceMap | None:
        if file in self.sources:
            return self.sources[file]
        wanted = file.resolve()
        return next((m for p, m in self.sources.items() if p.resolve() == wanted), None)

    def locate(self, file: Path, path: YamlPath) -> tuple[int | None, int | None]:
        """Line and column of the key (or list item) at `path` in `file`, or its nearest parent."""
        smap = self._map(file)
        return smap.locate(path) if smap else (None, None)

    def value_position(self, file: Path, path: YamlPath) -> tuple[int | None, int | None]:
        """Line and column of the value at `path` in `file`, or of its nearest parent."""
        smap = self._map(file)
        return smap.value_position(path) if smap else (None, None)

    def source_line(self, file: Path, line: int | None) -> str | None:
        """The text of a 1-based line of a loaded file."""
        smap = self._map(file)
        return smap.line_text(line) if smap else None

    def watchlist_file(self, watchlist_id: str) -> Path:
        """The file a watchlist was read from."""
        return self.watchlist_files.get(watchlist_id, self._directory() / "watchlists" / f"{watchlist_id}.yaml")

    def entry_path(self, watchlist_id: str, entry_id: str) -> tuple[str, int] | None:
        """("actors", n) or ("topics", n): where an entry sits in its watchlist file."""
        watchlist = self._watchlists().get(watchlist_id)
        if watchlist is None:
            return None
        for section, ids in (("actors", [a.id for a in watchlist.actors]), ("topics", [t.id for t in watchlist.topics])):
            if entry_id in ids:
                return section, ids.index(entry_id)
        return None

    def test_path(self, watchlist_id: str, index: int) -> tuple[str, int]:
        """Where the `index`-th test of a watchlist sits in its file."""
        return "tests", index

    def _directory(self) -> Path:
        raise NotImplementedError

    def _watchlists(self) -> Mapping[str, WatchlistConfig]:
        raise NotImplementedError


@dataclass
class LoadedConfig(_Located):
    """A valid configuration and the source maps of the files it came from."""

    config: Config
    sources: dict[Path, SourceMap] = field(default_factory=dict)
    watchlist_files: dict[str, Path] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        """The configuration directory."""
        return self.config.directory

    @property
    def watchlists(self) -> Mapping[str, WatchlistConfig]:
        """The watchlists by id."""
        return self.config.watchlists

    def _directory(self) -> Path:
        return self.config.directory

    def _watchlists(self) -> Mapping[str, WatchlistConfig]:
        return self.config.watchlists


@dataclass
class ConfigReport(_Located):
    """One loading pass, whatever failed: its problems, and the watchlists that can still be checked.

    `watchlists` holds every valid watchlist plus, for a file that failed validation, what of it could be
    repaired for checking (`repaired`: entries changed to get there; `dropped`: entries left out).
    `unloaded` are the watchlists whose file could not be read at all (a YAML error).
    """

    directory: Path
    problems: list[ConfigProblem]
    loaded: LoadedConfig | None
    sources: dict[Path, SourceMap] = field(default_factory=dict)
    watchlist_files: dict[str, Path] = field(default_factory=dict)
    watchlists: dict[str, WatchlistConfig] = field(default_factory=dict)
    repaired: set[tuple[str, str]] = field(default_factory=set)
    dropped: set[tuple[str, str]] = field(default_factory=set)
    unloaded: set[str] = field(default_factory=set)
    salvaged: dict[str, Salvaged] = field(default_factory=dict)

    def _directory(self) -> Path:
        return self.directory

    def _watchlists(self) -> Mapping[str, WatchlistConfig]:
        return self.watchlists

    def entry_path(self, watchlist_id: str, entry_id: str) -> tuple[str, int] | None:
        """Where an entry sits in its file, also in a watchlist repaired for checking."""
        if watchlist_id in self.salvaged:
            return self.salvaged[watchlist_id].entry_paths.get(entry_id)
        return super().entry_path(watchlist_id, entry_id)

    def test_path(self, watchlist_id: str, index: int) -> tuple[str, int]:
        """Where a test sits in its file, also in a watchlist repaired for checking."""
        salvaged = self.salvaged.get(watchlist_id)
        if salvaged is not None and 0 <= index < len(salvaged.test_paths):
            return "tests", salvaged.test_paths[index]
        return "tests", index


def locate_query_problem(loaded: LoadedConfig | ConfigReport, watchlist_id: str, entry_id: str, field: str,
                         column: int, message: str, hint: str | None = None, *,
                         severity: Literal["error", "warning"] = "error") -> ConfigProblem:
    """A problem at character `column` (1-based) of a topic's `query` or an actor's `exclude`."""
    file = loaded.watchlist_file(watchlist_id)
    smap = loaded._map(file)
    path: YamlPath | None = None
    kind = "entry"
    where = loaded.entry_path(watchlist_id, entry_id)
    if where is not None:
        path, kind = (*where, field), where[0].removesuffix("s")
    if smap is None or path is None:
        return ConfigProblem(file, None, None, f"{kind} {entry_id!r}", message, hint, severity=severity)
    line: int | None
    col: int | None
    exact = smap.char_position(path, column - 1)
    if exact is not None:
        line, col = exact
    else:  # a scalar we cannot trace character by character (folded, escaped): point at the value
        line, col = smap.value_position(path)
    return ConfigProblem(file, line, col, f"{kind} {entry_id!r}", message, hint, smap.line_text(line), col, severity)


def problem_order(problem: ConfigProblem) -> tuple[int, str, int, int]:
    """Files in the order an operator reads them (DESIGN §3), then by position."""
    rank = {"monitor.yaml": 0, "feeds.yaml": 1, "subscribers.yaml": 2}.get(problem.file.name, 3)
    return rank, str(problem.file), problem.line or 0, problem.column or 0
