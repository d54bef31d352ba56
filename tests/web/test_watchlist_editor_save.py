"""Saving an entry from the editor: round-trip, stale-file and invalid-save refusals, the same problems as `monitor check`."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from monitor.config.yaml_roundtrip import sha256_of
from monitor.errors import EditRefused, StaleFile
from monitor.store.db import Database
from monitor.usecases.check import check_configuration_with_warnings
from monitor.usecases.edit_watchlist import (
    EntryDraft,
    apply_draft,
    check_text,
    open_file,
    read_draft,
    save_entry,
)
from monitor.usecases.entry_preview import entry_tests, preview_entry
from tests.web.editor_fixtures import Editable
from tests.web.seed import seed_clock

BAD_QUERY = '"Red Sea" AND (ship* OR'


def _topic(query: str, entry_id: str = "red-sea") -> EntryDraft:
    return EntryDraft(section="topics", id=entry_id, name="Red Sea", query=query)


def test_saving_an_edit_changes_only_that_entry(editable: Editable) -> None:
    path = editable.watchlist()
    before = path.read_text(encoding="utf-8")
    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "mit")
    draft.aliases.append("Turkish spy agency")
    saved = save_entry(editable.config_dir, {}, "mena-security", draft, "mit", opened.sha256, author="test")
    after = path.read_text(encoding="utf-8")
    assert saved.sha256 == sha256_of(after.encode())
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [(
        '    aliases: ["National Intelligence Organization", "Millî İstihbarat Teşkilatı"]',
        '    aliases: ["National Intelligence Organization", "Millî İstihbarat Teşkilatı", "Turkish spy agency"]',
    )]
    # The comment beside another key of the same entry, and the one below it, are still there.
    assert '    exact_case: ["MIT", "MİT"]    # in capitals only' in after
    assert "    # ... and never the Massachusetts Institute of Technology.\n" in after


def test_a_file_changed_since_it_was_opened_is_not_overwritten(editable: Editable) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    path = editable.watchlist()
    path.write_text(path.read_text(encoding="utf-8") + "# someone else's edit\n", encoding="utf-8")
    changed = path.read_text(encoding="utf-8")
    with pytest.raises(StaleFile, match="changed on disk since you opened it"):
        save_entry(editable.config_dir, {}, "mena-security", _topic("ship*"), None, opened.sha256, author="test")
    assert path.read_text(encoding="utf-8") == changed


def test_a_save_that_would_break_the_configuration_is_refused_with_the_located_problem(editable: Editable) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    with pytest.raises(EditRefused) as refused:
        save_entry(editable.config_dir, {}, "mena-security", _topic(BAD_QUERY), None, opened.sha256, author="test")
    assert not isinstance(refused.value, StaleFile)
    assert "would not pass `monitor check`" in str(refused.value)
    [problem] = refused.value.problems
    assert problem.file == editable.watchlist()  # type: ignore[attr-defined]
    assert problem.line is not None and problem.column is not None  # type: ignore[attr-defined]
    assert editable.watchlist().read_text(encoding="utf-8") == opened.text


def test_the_draft_check_reports_exactly_what_monitor_check_reports_after_the_save(editable: Editable,
                                                                                  tmp_path: Path) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    text = apply_draft(opened.text, _topic(BAD_QUERY), None)
    drafted = check_text(editable.config_dir, {}, "mena-security", text)
    # The same text written by hand into a copy: what `monitor check` prints there.
    by_hand = tmp_path / "by-hand"
    shutil.copytree(editable.config_dir, by_hand)
    (by_hand / "watchlists" / "mena-security.yaml").write_text(text, encoding="utf-8")
    checked = check_configuration_with_warnings(by_hand, {})
    assert drafted.problems and len(drafted.problems) == len(checked.problems)
    for mine, theirs in zip(drafted.problems, checked.problems, strict=True):
        assert (mine.line, mine.column, mine.entry, mine.message, mine.hint, mine.source_line) == (
            theirs.line, theirs.column, theirs.entry, theirs.message, theirs.hint, theirs.source_line)
        assert mine.file == editable.config_dir / theirs.file.relative_to(by_hand)


def test_a_duplicate_id_is_refused(editable: Editable) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    with pytest.raises(EditRefused, match="already has an entry 'mit'"):
        apply_draft(opened.text, _topic("x", entry_id="mit"), None)


def test_a_renamed_entry_takes_its_tests_along(editable: Editable) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "turkey-israel-intel")
    draft.id = "turkish-israeli-intel"
    save_entry(editable.config_dir, {}, "mena-security", draft, "turkey-israel-intel", opened.sha256, author="test")
    text = editable.watchlist().read_text(encoding="utf-8")
    assert "turkey-israel-intel" not in text and text.count("turkish-israeli-intel") == 3


def test_a_rename_that_breaks_another_file_is_refused_with_that_files_problem(editable: Editable) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "hostage-talks")  # subscribers.yaml follows mena-security/hostage-talks
    draft.id = "hostage-negotiations"
    with pytest.raises(EditRefused) as refused:
        save_entry(editable.config_dir, {}, "mena-security", draft, "hostage-talks", opened.sha256, author="test")
    [problem] = refused.value.problems
    assert problem.file == editable.config_dir / "subscribers.yaml"  # type: ignore[attr-defined]
    assert "has no actor or topic 'hostage-talks'" in problem.format()


def test_the_preview_shows_what_the_change_adds_and_removes(editable: Editable) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "mit")
    db = Database(editable.database_url)
    try:
        saved = preview_entry(editable.config, editable.config.watchlists, db, "mena-security", "mit", "mit",
                              days=30, now=seed_clock())
        assert saved.total and not saved.added and not saved.removed
        draft.aliases, draft.exact_case = ["Qatar"], []
        checked = check_text(editable.config_dir, {}, "mena-security", apply_draft(opened.text, draft, "mit"))
        assert checked.config is not None, [p.format() for p in checked.problems]
        changed = preview_entry(editable.config, checked.config.watchlists, db, "mena-security", "mit", "mit",
                                days=30, now=seed_clock())
    finally:
        db.dispose()
    hits = {h.article_id for h in changed.hits}
    assert changed.added and {a.article_id for a in changed.added} <= hits | {a.article_id for a in changed.added}
    assert changed.removed
    assert sum(changed.per_day.values()) == changed.total
    assert all(any(h.text.lower() == "qatar" for h in hit.match.highlights) for hit in changed.hits)


def test_the_entry_tests_run_against_the_draft(editable: Editable) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "hostage-talks")
    draft.query = "nothing-matches-this-word"
    checked = check_text(editable.config_dir, {}, "mena-security", apply_draft(opened.text, draft, "hostage-talks"))
    assert any("expected to match the test text" in p.message for p in checked.problems)
    outcomes = entry_tests(editable.config.watchlists, "mena-security", "hostage-talks")
    assert outcomes and all(o.passed for o in outcomes)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_save_is_committed_with_the_editors_name_when_asked(editable: Editable) -> None:
    directory = editable.config_dir
    git = ["git", "-C", str(directory), "-c", "user.name=setup", "-c", "user.email=setup@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "initial"], check=True)
    opened = open_file(directory, "mena-security")
    saved = save_entry(directory, {}, "mena-security", _topic('"Red Sea" AND ship*'), None, opened.sha256,
                       author="Ayşe Analyst", git_commit=True)
    assert saved.committed, saved.commit_error
    log = subprocess.run([*git, "log", "-1", "--format=%an|%s", "--name-only"], check=True, capture_output=True,
                         text=True).stdout
    assert log.startswith("Ayşe Analyst|watchlist mena-security: add red-sea")
    assert "watchlists/mena-security.yaml" in log
    status = subprocess.run([*git, "status", "--porcelain"], check=True, capture_output=True, text=True).stdout
    assert status == ""


def test_a_running_service_reloads_the_saved_file_and_matches_with_the_new_entry(editable: Editable) -> None:
    from monitor.model import Document
    from monitor.service.process import Service

    service = Service(editable.config_dir, {}, clock=seed_clock)
    try:
        service.reload_if_changed()
        assert not service.reload_if_changed()  # nothing changed yet
        opened = open_file(editable.config_dir, "energy-shipping")
        save_entry(editable.config_dir, {}, "energy-shipping", _topic('"Bab el-Mandeb" AND strait'), None,
                   opened.sha256, author="test")
        assert service.reload_if_changed()
        document = Document(title="Tankers avoid the Bab el-Mandeb strait", body="")
        matched = {m.id for m in service.runtime().matcher.match(document, ["energy-shipping"])}
        assert "red-sea" in matched
    finally:
        service.close()


def test_an_unchanged_entry_leaves_the_file_byte_for_byte(editable: Editable) -> None:
    opened = open_file(editable.config_dir, "mena-security")
    text = opened.text.replace("    kind: organization\n    description: Türkiye's intelligence service",
                               "    description: Türkiye's intelligence service", 1)
    assert text != opened.text  # the MIT actor without a kind: (the default, other)
    for entry_id in ("ibrahim-kalin", "mit", "turkiye", "hostage-talks", "turkey-israel-intel"):
        draft = read_draft(dataclasses.replace(opened, text=text), entry_id)
        assert apply_draft(text, draft, entry_id) == text, entry_id
