"""Edit one watchlist entry in its YAML file: open it, check a draft as `monitor check` would, save it.

The web's editor only parses the form and renders what these return. A draft is checked by running the
real configuration check over the configuration directory with the edited file in its place (a scratch
directory of symlinks plus the new text), so the editor shows exactly the problems, lines and columns
`monitor check` would print after the save. Saving refuses a file that changed since it was opened
(by SHA-256) and a change that would make the configuration fail to load, then writes atomically;
the running service notices the new file through its config watcher and reloads.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from monitor.config import ConfigProblem, load_config_report
from monitor.config.models import Config
from monitor.config.yaml_roundtrip import (
    RoundTrip,
    append_item,
    check_unchanged,
    find_item,
    set_fields,
    sha256_of,
    write_atomically,
)
from monitor.errors import EditRefused
from monitor.usecases.check import check_configuration_with_warnings

log = logging.getLogger(__name__)
SAVING_LOCK = threading.Lock()

Section = Literal["actors", "topics"]
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
ORDER: dict[str, tuple[str, ...]] = {
    "actors": ("id", "name", "kind", "description", "aliases", "exact_case", "exclude", "forms", "spikes"),
    "topics": ("id", "name", "description", "query", "forms", "spikes"),
}
ACTOR_KINDS = ("person", "organization", "place", "other")
FORMS = ("inflected", "exact")
"""An entry's `forms:` (docs/query-language.md "Word forms"); no key: the watchlist's."""


@dataclass
class EntryDraft:
    """What the editor's form holds for one actor or topic."""

    section: Section
    id: str
    name: str
    description: str = ""
    kind: str = "other"
    aliases: list[str] = field(default_factory=list)
    exact_case: list[str] = field(default_factory=list)
    exclude: str = ""
    query: str = ""
    # "exact" or "inflected"; "" (or anything else): the watchlist's, the key removed; None: left as it is.
    forms: str | None = None

    def values(self) -> dict[str, Any]:
        """The keys this draft sets in the YAML (an empty value removes its key)."""
        common: dict[str, Any] = {"id": self.id.strip(), "name": self.name.strip(),
                                  "description": self.description.strip() or None}
        if self.forms is not None:
            common["forms"] = self.forms if self.forms in FORMS else None
        if self.section == "topics":
            return {**common, "query": self.query.strip()}
        kind = self.kind if self.kind in ACTOR_KINDS else "other"
        return {**common, "kind": kind, "aliases": [a.strip() for a in self.aliases if a.strip()],
                "exact_case": [a.strip() for a in self.exact_case if a.strip()],
                "exclude": self.exclude.strip() or None}

    @property
    def entry_id(self) -> str:
        """The entry's id as it will be saved."""
        return self.id.strip()


@dataclass(frozen=True)
class OpenedFile:
    """A watchlist file as the editor opened it: its path, text and SHA-256 (sent back on save)."""

    watchlist: str
    path: Path
    text: str
    sha256: str


def watchlist_file(directory: Path, watchlist: str) -> Path:
    """The file of a watchlist id (`watchlists/<id>.yaml` or `.yml`); EditRefused for an unknown id."""
    if not _ID.match(watchlist):
        raise EditRefused(f"{watchlist!r} is not a watchlist id")
    for suffix in (".yaml", ".yml"):
        path = directory / "watchlists" / f"{watchlist}{suffix}"
        if path.is_file():
            return path
    raise EditRefused(f"there is no watchlist {watchlist!r} (no watchlists/{watchlist}.yaml)")


def open_file(directory: Path, watchlist: str) -> OpenedFile:
    """Read a watchlist file for editing."""
    path = watchlist_file(directory, watchlist)
    data = path.read_bytes()
    return OpenedFile(watchlist, path, data.decode("utf-8"), sha256_of(data))


def read_draft(opened: OpenedFile, entry_id: str) -> EntryDraft:
    """The draft of an existing entry; EditRefused when the file has no entry with that id."""
    data = RoundTrip(opened.text).data
    for section in ("actors", "topics"):
        items = data.get(section) if isinstance(data, Mapping) else None
        index = find_item(items or [], entry_id)
        if items is not None and index is not None:
            item = items[index]
            return EntryDraft(
                section=section, id=str(item.get("id", "")), name=str(item.get("name", "")),  # type: ignore[arg-type]
                description=str(item.get("description") or ""), kind=str(item.get("kind") or "other"),
                aliases=[str(a) for a in item.get("aliases") or []],
                exact_case=[str(a) for a in item.get("exact_case") or []],
                exclude=str(item.get("exclude") or ""), query=str(item.get("query") or ""),
                forms=str(item.get("forms") or ""),
            )
    raise EditRefused(f"watchlist {opened.watchlist!r} has no entry {entry_id!r}")


def apply_draft(text: str, draft: EntryDraft, original_id: str | None) -> str:
    """The file's text with the draft written in place of `original_id` (or appended when None)."""
    document = RoundTrip(text)
    data = document.data
    if not isinstance(data, CommentedMap):
        raise EditRefused("the watchlist file does not hold a mapping at the top; fix it by hand first")
    for other in ("actors", "topics"):
        items = data.get(other) or []
        clash = find_item(items, draft.entry_id)
        if clash is not None and not (original_id == draft.entry_id and other == draft.section):
            raise EditRefused(f"this watchlist already has an entry {draft.entry_id!r}; choose another id")
    items = data.get(draft.section)
    if original_id is None:
        if not isinstance(items, CommentedSeq):
            items = CommentedSeq()
            data[draft.section] = items
        entry = CommentedMap()
        set_fields(entry, draft.values(), ORDER[draft.section])
        append_item(items, entry)
    else:
        index = find_item(items or [], original_id)
        if items is None or index is None:
            raise EditRefused(f"there is no {draft.section[:-1]} {original_id!r} in this watchlist any more")
        values = draft.values()
        if "kind" not in items[index] and values.get("kind") == "other":
            del values["kind"]  # the default, left unwritten as the author left it
        set_fields(items[index], values, ORDER[draft.section])
        if original_id != draft.entry_id:
            _rename_in_tests(data, original_id, draft.entry_id)
    return document.dump()


def _rename_in_tests(data: CommentedMap, old: str, new: str) -> None:
    """A renamed entry keeps its tests: `matches`/`not_matches` follow the new id."""
    for test in data.get("tests") or []:
        for key in ("matches", "not_matches"):
            names = test.get(key) if isinstance(test, Mapping) else None
            if names is not None:
                for index, name in enumerate(names):
                    if name == old:
                        names[index] = new


@dataclass
class DraftCheck:
    """The check of a draft: problems and warnings as `monitor check` prints them, and the draft's configuration.

    `config` is the configuration with the draft in place whenever it loads (a query that does not parse
    or a failing test still leaves it loadable, so the preview can run); None when a file does not load.
    """

    problems: list[ConfigProblem]
    warnings: list[ConfigProblem]
    config: Config | None


def check_text(directory: Path, env: Mapping[str, str], watchlist: str, text: str) -> DraftCheck:
    """`monitor check` over the configuration directory with the watchlist's file replaced by `text`."""
    return check_replaced(directory, env, watchlist_file(directory, watchlist), text)


def check_replaced(directory: Path, env: Mapping[str, str], target: Path, text: str) -> DraftCheck:
    """`monitor check` over the configuration directory with the file `target` replaced by `text`.

    The check runs over a scratch directory of symlinks with the new text in the target's place; the
    problems name the real files (not the scratch directory), so they read exactly as the CLI's.
    """
    relative = target.relative_to(directory)
    with tempfile.TemporaryDirectory(prefix="monitor-edit-") as scratch_name:
        scratch = Path(scratch_name)
        _mirror(directory, scratch, relative.parts)
        (scratch / relative).write_text(text, encoding="utf-8")
        result = check_configuration_with_warnings(scratch, env)
        loaded = result.loaded or load_config_report(scratch, env).loaded

        def real(problem: ConfigProblem) -> ConfigProblem:
            try:
                return dataclasses.replace(problem, file=directory / problem.file.relative_to(scratch))
            except ValueError:
                return problem

        # Paths resolved against the scratch directory would dangle: the draft keeps the real directory.
        config = None if loaded is None else loaded.config.model_copy(update={"directory": directory})
        return DraftCheck([real(p) for p in result.problems], [real(p) for p in result.warnings], config)


def _mirror(source: Path, scratch: Path, replaced: tuple[str, ...]) -> None:
    """Symlink every entry of `source` into `scratch`, descending only along the path of the replaced file."""
    for child in source.iterdir():
        if len(replaced) > 1 and child.name == replaced[0]:
            (scratch / child.name).mkdir()
            _mirror(child, scratch / child.name, replaced[1:])
        elif child.name != replaced[0]:
            (scratch / child.name).symlink_to(child.resolve())


@dataclass(frozen=True)
class Saved:
    """A written watchlist file: its new SHA-256, and whether the change was committed to git."""

    path: Path
    sha256: str
    committed: bool = False
    commit_error: str | None = None


def save_entry(
    directory: Path, env: Mapping[str, str], watchlist: str, draft: EntryDraft, original_id: str | None,
    expected_sha256: str, *, author: str, git_commit: bool = False,
) -> Saved:
    """Write the draft into its watchlist file, or raise EditRefused (StaleFile when it changed on disk).

    Refused with the problems listed when the configuration would not load afterwards (only problems the
    change brings: one already in another file does not block fixing this one).
    """
    path = watchlist_file(directory, watchlist)
    with SAVING_LOCK:  # two saves in this process: the second sees the first's file, and is refused as stale
        return _save(directory, env, path, watchlist, draft, original_id, expected_sha256, author=author,
                     git_commit=git_commit)


def _save(directory: Path, env: Mapping[str, str], path: Path, watchlist: str, draft: EntryDraft,
          original_id: str | None, expected_sha256: str, *, author: str, git_commit: bool) -> Saved:
    current = check_unchanged(path, expected_sha256)
    text = apply_draft(current.decode("utf-8"), draft, original_id)
    result = check_text(directory, env, watchlist, text)
    if result.problems:
        before = {p.format() for p in check_configuration_with_warnings(directory, env).problems if p.file != path}
        brought = [p for p in result.problems if p.file == path or p.format() not in before]
        if brought:
            raise EditRefused(
                f"not saved: {path.name} would not pass `monitor check` ({len(brought)} problem(s))", brought)
    check_unchanged(path, expected_sha256)  # again: the check took a while
    write_atomically(path, text)
    log.info("watchlist_saved file=%s entry=%s by=%s", path, draft.entry_id, author)
    committed, error = False, None
    if git_commit:
        committed, error = commit_file(directory, path, author,
                                       f"watchlist {watchlist}: {'edit' if original_id else 'add'} {draft.entry_id}")
    return Saved(path, sha256_of(text.encode("utf-8")), committed, error)


def commit_file(directory: Path, path: Path, author: str, message: str) -> tuple[bool, str | None]:
    """Commit one file when `directory` is inside a git work tree: (committed, why not)."""
    git = shutil.which("git")
    if git is None:
        return False, "git is not installed"
    inside = subprocess.run([git, "-C", str(directory), "rev-parse", "--is-inside-work-tree"],
                            capture_output=True, text=True, check=False)
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return False, "the configuration directory is not a git repository"
    name = re.sub(r"[\x00-\x1f<>]", "", author).strip() or "monitor dashboard"
    identity = ["-c", f"user.name={name}", "-c", "user.email=monitor-editor@localhost"]
    for args in (["add", "--", str(path)], [*identity, "commit", "--quiet", "-m", message, "--", str(path)]):
        done = subprocess.run([git, "-C", str(directory), *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log.warning("watchlist_commit_failed file=%s error=%s", path, done.stderr.strip())
            return False, done.stderr.strip() or f"git {args[0]} failed"
    return True, None
