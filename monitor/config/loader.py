"""Load and check a configuration directory (DESIGN §3), reporting every problem with file, line and column."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from monitor.config.env import apply_env_overrides
from monitor.config.gc_pause import paused_gc
from monitor.config.models import (
    Config,
    FeedsFile,
    Settings,
    SubscribersFile,
    WatchlistConfig,
    check_id,
    feed_id_from_url,
)
from monitor.config.paths import resolve_feeds, resolve_settings
from monitor.config.problems import (
    ConfigProblem,
    clean_loc,
    did_you_mean,
    error_message,
    join_hints,
    model_at,
)
from monitor.config.report import ConfigReport, LoadedConfig, problem_order
from monitor.config.salvage import Salvaged, salvage_watchlist
from monitor.config.sourcemap import SourceMap, YamlPath, load_yaml_with_positions
from monitor.errors import ConfigurationError

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRET_MESSAGE = "secrets are never written in YAML; name the environment variable that holds it"

EntryNamer = Callable[[tuple[Any, ...]], "str | None"]


def load_config(directory: Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load a configuration directory; raise ConfigurationError listing every problem found."""
    report = load_config_report(directory, env)
    if report.loaded is None:
        raise ConfigurationError(report.problems)
    return report.loaded


def load_config_report(directory: Path, env: Mapping[str, str] | None = None) -> ConfigReport:
    """Load a configuration directory without raising: every problem, and what can still be checked."""
    with paused_gc():  # a big watchlist: millions of objects, no cycles (see monitor.config.gc_pause)
        return _Run(Path(directory), os.environ if env is None else env).run()


def _entry_name(raw: Any, loc: tuple[Any, ...], section: str, singular: str) -> str | None:
    """ "feed 'example-news'" for a loc inside the `section` list, naming it by id (or url), else by number."""
    if len(loc) < 2 or loc[0] != section or not isinstance(loc[1], int):
        return None
    items = raw.get(section) if isinstance(raw, dict) else None
    item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
    if isinstance(item, dict):
        for key in ("id", "url"):
            if isinstance(item.get(key), str) and item[key]:
                return f"{singular} {item[key]!r}"
    return f"{singular} #{loc[1] + 1}"


class _Run:
    """One loading pass: collects problems from every file before giving up."""

    def __init__(self, directory: Path, env: Mapping[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.problems: list[ConfigProblem] = []
        self.sources: dict[Path, SourceMap] = {}
        self.checkable: dict[str, Salvaged] = {}
        self.repaired: set[tuple[str, str]] = set()
        self.dropped: set[tuple[str, str]] = set()
        self.unloaded: set[str] = set()

    def problem(self, file: Path, smap: SourceMap | None, pos: tuple[int | None, int | None], entry: str | None,
                message: str, hint: str | None = None, *, show_source: bool = True) -> None:
        line, column = pos
        source = smap.line_text(line) if smap is not None and show_source else None
        self.problems.append(ConfigProblem(file, line, column, entry, message, hint, source, column))

    def read(self, name: str, required: bool = False) -> tuple[dict[str, Any], SourceMap] | None:
        """The top-level mapping of a file (empty if the file is empty), or None if it is unusable."""
        file = self.directory / name
        if not file.exists():
            if required:
                self.problem(file, None, (None, None), None, f"no {name}",
                             f"create {name} listing the feeds to poll (see DESIGN §3.1); it may be 'feeds: []'")
            return None
        try:
            data, smap = load_yaml_with_positions(file)
        except ConfigurationError as exc:
            # The YAML loader raises it with ConfigProblems only.
            self.problems.extend(cast(list[ConfigProblem], exc.problems))
            return None
        self.sources[file] = smap
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem(file, smap, smap.value_position(()), None, "expected a mapping of keys and values at the top")
            return None
        # An empty section ("feeds:" with nothing under it) means "none", not an error.
        return {k: v for k, v in data.items() if v is not None}, smap

    def validate(self, model: type[BaseModel], data: dict[str, Any], file: Path, smap: SourceMap | None,
                 entry: EntryNamer, origins: Mapping[tuple[Any, ...], str] | None = None) -> Any:
        """The validated model, or None after reporting each validation error at its position."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.report(error, model, data, file, smap, entry, origins or {})
            return None

    def report(self, error: Mapping[str, Any], model: type[BaseModel], data: dict[str, Any], file: Path,
               smap: SourceMap | None, entry: EntryNamer, origins: Mapping[tuple[Any, ...], str]) -> None:
        loc = clean_loc(data, tuple(error["loc"]))
        name = entry(loc)
        if loc in origins:  # the value came from the environment, not from the file
            self.problem(file, None, (None, None), name, f"environment {origins[loc]}: {error_message(error)}")
            return
        at: Callable[[YamlPath], tuple[int | None, int | None]] = smap.value_position if smap else (
            lambda _: (None, None))
        if error["type"] == "extra_forbidden" and loc:
            parent = model_at(model, loc[:-1])
            allowed = sorted((i.alias or n) for n, i in parent.model_fields.items()) if parent else []
            hint = join_hints(did_you_mean(str(loc[-1]), allowed), "allowed keys: " + ", ".join(allowed))
            pos = smap.locate(loc) if smap else (None, None)
            self.problem(file, smap, pos, name, f"unknown key {loc[-1]!r}", hint)
        elif error["type"] == "missing" and loc:
            self.problem(file, smap, at(loc[:-1]), name, f"missing required field {loc[-1]!r}")
        else:
            self.problem(file, smap, at(loc), name, error_message(error))

    def run(self) -> ConfigReport:
        if not self.directory.is_dir():
            problem = ConfigProblem(self.directory, None, None, None, "configuration directory not found",
                                    "pass --config DIR or set MONITOR_CONFIG")
            return ConfigReport(self.directory, [problem], None)
        settings, raw_settings = self.load_settings()
        allow_local = settings.allow_local_feeds if settings else raw_settings.get("allow_local_feeds") is True
        feeds = self.load_feeds(allow_local)
        watchlists, files, raw_lists = self.load_watchlists()
        subscribers = self.load_subscribers(files, raw_lists)
        loaded = None
        if not self.problems:
            assert settings and feeds and subscribers is not None  # no problems means every file validated
            config = Config(directory=self.directory, settings=resolve_settings(settings, self.directory),
                            feed_defaults=feeds.defaults, feeds=resolve_feeds(feeds.feeds, self.directory),
                            subscribers=subscribers.subscribers, watchlists=watchlists)
            loaded = LoadedConfig(config, self.sources, files)
        return ConfigReport(self.directory, sorted(self.problems, key=problem_order), loaded, self.sources, files,
                            {**watchlists, **{k: v.watchlist for k, v in self.checkable.items()}},
                            self.repaired, self.dropped, self.unloaded, self.checkable)

    def load_settings(self) -> tuple[Settings | None, dict[str, Any]]:
        file = self.directory / "monitor.yaml"
        read = self.read("monitor.yaml")
        if read is None and file.exists():
            return None, {}
        raw, smap = read if read else ({}, None)
        data, origins = apply_env_overrides(raw, self.env)
        settings = self.validate(Settings, data, file, smap, lambda loc: "settings", origins)
        smtp = data.get("email", {}).get("smtp") if isinstance(data.get("email"), dict) else None
        secret = smtp.get("password_env") if isinstance(smtp, dict) else None
        if isinstance(secret, str) and not _ENV_NAME.match(secret):
            where = ("email", "smtp", "password_env")
            if where in origins:
                self.problem(file, None, (None, None), "settings", f"environment {origins[where]}: {_SECRET_MESSAGE}")
            else:
                pos = smap.value_position(where) if smap else (None, None)
                self.problem(file, smap, pos, "settings", _SECRET_MESSAGE,
                             "e.g. password_env: MONITOR_SMTP_PASSWORD", show_source=False)
                settings = None
        return settings, data

    def load_feeds(self, allow_local: bool) -> FeedsFile | None:
        file = self.directory / "feeds.yaml"
        read = self.read("feeds.yaml", required=True)
        if read is None:
            return None
        raw, smap = read

        def name(loc: tuple[Any, ...]) -> str | None:
            return "defaults" if loc[:1] == ("defaults",) else _entry_name(raw, loc, "feeds", "feed")

        result = self.validate(FeedsFile, raw, file, smap, name)
        items = raw.get("feeds")
        ids: dict[str, int | None] = {}
        urls: dict[str, int | None] = {}
        for index, item in enumerate(items if isinstance(items, list) else []):
            url = item.get("url") if isinstance(item, dict) else None
            if not isinstance(url, str):
                continue
            url = url.strip()
            feed_id = item.get("id") or feed_id_from_url(url)
            label = name(("feeds", index))
            id_pos = smap.value_position(("feeds", index, "id" if item.get("id") else "url"))
            if isinstance(feed_id, str) and feed_id in ids:
                derived = "" if item.get("id") else " (derived from the URL)"
                self.problem(file, smap, id_pos, label, f"duplicate feed id {feed_id!r}{derived}",
                             f"first used at line {ids[feed_id]}; feed ids must be unique")
            elif isinstance(feed_id, str):
                ids[feed_id] = id_pos[0]
            url_pos = smap.value_position(("feeds", index, "url"))
            if url in urls:
                self.problem(file, smap, url_pos, label, "duplicate feed URL", f"first listed at line {urls[url]}")
            else:
                urls[url] = url_pos[0]
            scheme = urlsplit(url).scheme.lower()
            if not allow_local and (scheme in ("file", "") or len(scheme) == 1):
                self.problem(file, smap, url_pos, label, f"local feed {url!r} is not allowed",
                             "set allow_local_feeds: true in monitor.yaml")
        return result

    def load_watchlists(self) -> tuple[dict[str, WatchlistConfig], dict[str, Path], dict[str, dict[str, Any]]]:
        folder = self.directory / "watchlists"
        candidates = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []
        watchlists: dict[str, WatchlistConfig] = {}
        files: dict[str, Path] = {}
        raw_lists: dict[str, dict[str, Any]] = {}
        for file in candidates:
            stem = file.stem
            if stem in files:
                self.problem(file, None, (None, None), f"watchlist {stem!r}", "a second file for the same watchlist",
                             f"{files[stem].name} already defines it")
                continue
            files[stem] = file
            try:
                check_id(stem)
            except ValueError as exc:
                self.problem(file, None, (None, None), f"watchlist {stem!r}", f"the file name is the watchlist id: {exc}")
            read = self.read(f"watchlists/{file.name}")
            if read is None:
                self.unloaded.add(stem)
                continue
            raw, smap = read
            raw_lists[stem] = raw
            if raw.get("id") is not None and raw["id"] != stem:
                self.problem(file, smap, smap.value_position(("id",)), f"watchlist {stem!r}",
                             f"id {raw['id']!r} differs from the file name {stem!r}",
                             "the file name is the watchlist id: rename the file or remove 'id:'")
            self.check_entry_ids(raw, file, smap)

            def name(loc: tuple[Any, ...], raw: dict[str, Any] = raw, stem: str = stem) -> str | None:
                for section, singular in (("actors", "actor"), ("topics", "topic")):
                    if loc[:1] == (section,):
                        return _entry_name(raw, loc, section, singular)
                if loc[:1] == ("tests",) and len(loc) > 1:
                    return f"test #{loc[1] + 1}"
                return f"watchlist {stem!r}"

            result = self.validate(WatchlistConfig, {**raw, "id": stem}, file, smap, name)
            if result is not None:
                watchlists[stem] = result
                continue
            # Its problems are reported; keep what can be checked of the rest (queries, references, tests).
            salvaged = salvage_watchlist(raw, stem)
            if salvaged is None:
                self.unloaded.add(stem)
                continue
            self.checkable[stem] = salvaged
            self.repaired.update((stem, entry) for entry in salvaged.repaired)
            self.dropped.update((stem, entry) for entry in salvaged.dropped)
        return watchlists, files, raw_lists

    def check_entry_ids(self, raw: dict[str, Any], file: Path, smap: SourceMap) -> None:
        # Positions are looked up only for a duplicate: a valid file's source map is never built.
        seen: dict[str, tuple[str, YamlPath]] = {}
        for section, singular in (("actors", "actor"), ("topics", "topic")):
            items = raw.get(section)
            for index, item in enumerate(items if isinstance(items, list) else []):
                entry_id = item.get("id") if isinstance(item, dict) else None
                if not isinstance(entry_id, str):
                    continue
                if entry_id in seen:
                    kind, first = seen[entry_id]
                    line = smap.value_position(first)[0]
                    self.problem(file, smap, smap.value_position((section, index, "id")), f"{singular} {entry_id!r}",
                                 f"duplicate id {entry_id!r}",
                                 f"{kind} at line {line} already uses it; actors and topics share one namespace")
                else:
                    seen[entry_id] = (singular, (section, index, "id"))

    def load_subscribers(self, files: dict[str, Path], raw_lists: dict[str, dict[str, Any]]) -> SubscribersFile | None:
        file = self.directory / "subscribers.yaml"
        read = self.read("subscribers.yaml")
        if read is None:
            return None if file.exists() else SubscribersFile()
        raw, smap = read

        def name(loc: tuple[Any, ...]) -> str | None:
            return _entry_name(raw, loc, "subscribers", "subscriber")

        result = self.validate(SubscribersFile, raw, file, smap, name)
        items = raw.get("subscribers")
        ids: dict[str, int | None] = {}
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            label = name(("subscribers", index))
            sub_id = item.get("id")
            if isinstance(sub_id, str):
                pos = smap.value_position(("subscribers", index, "id"))
                if sub_id in ids:
                    self.problem(file, smap, pos, label, f"duplicate subscriber id {sub_id!r}",
                                 f"first used at line {ids[sub_id]}")
                else:
                    ids[sub_id] = pos[0]
            webhook = item.get("webhook")
            secret = webhook.get("secret_env") if isinstance(webhook, dict) else None
            if isinstance(secret, str) and not _ENV_NAME.match(secret):
                # No source line: it would print the secret into logs and terminals.
                self.problem(file, smap, smap.value_position(("subscribers", index, "webhook", "secret_env")), label,
                             _SECRET_MESSAGE, "e.g. secret_env: CASE_SYSTEM_WEBHOOK_SECRET", show_source=False)
                result = None
            if self.check_url_env(item, index, file, smap, label) is False:
                result = None
            for key in ("watchlists", "spikes"):  # `spikes:` may list watchlists and entries too
                refs = item.get(key)
                for ref_index, ref in enumerate(refs if isinstance(refs, list) else []):
                    if isinstance(ref, str):
                        self.check_reference(ref, files, raw_lists, file, smap,
                                             ("subscribers", index, key, ref_index), label)
        return result

    def check_url_env(self, item: dict[str, Any], index: int, file: Path, smap: SourceMap,
                      label: str | None) -> bool:
        """`notify.url_env` names a variable that is set: the Apprise URL holds tokens, so it lives only there."""
        notify = item.get("notify")
        name = notify.get("url_env") if isinstance(notify, dict) else None
        if not isinstance(name, str):
            return True  # absent or not a string: the model reports it
        pos = smap.value_position(("subscribers", index, "notify", "url_env"))
        if not _ENV_NAME.match(name):
            # No source line: it would print the secret into logs and terminals.
            self.problem(file, smap, pos, label, _SECRET_MESSAGE, "e.g. url_env: MONITOR_SLACK_URL", show_source=False)
            return False
        if not self.env.get(name, "").strip():
            self.problem(file, smap, pos, label, f"environment variable {name} is not set or empty",
                         "it holds the subscriber's Apprise URL, e.g. slack://T000/B000/XXXX (docs/chat.md)")
            return False
        return True

    def check_reference(self, ref: str, files: dict[str, Path], raw_lists: dict[str, dict[str, Any]], file: Path,
                        smap: SourceMap, path: YamlPath, label: str | None) -> None:
        list_id, _, entry_id = ref.partition("/")
        pos = smap.value_position(path)
        if list_id not in files:
            known = sorted(files)
            hint = join_hints(did_you_mean(list_id, known),
                               "watchlists are the files in watchlists/: " + (", ".join(known) or "none yet"))
            self.problem(file, smap, pos, label, f"unknown watchlist {list_id!r}", hint)
            return
        raw = raw_lists.get(list_id)
        if not entry_id or raw is None:  # a broken watchlist file is reported on its own
            return
        entries = [item["id"] for section in ("actors", "topics") if isinstance(raw.get(section), list)
                   for item in raw[section] if isinstance(item, dict) and isinstance(item.get("id"), str)]
        if entry_id not in entries:
            self.problem(file, smap, pos, label, f"watchlist {list_id!r} has no actor or topic {entry_id!r}",
                         did_you_mean(entry_id, entries))
