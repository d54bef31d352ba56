"""The editor knows an entry's `forms: exact | inflected` (docs/query-language.md "Word forms"): shown, set, kept."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from monitor.config import load_config
from monitor.usecases.edit_watchlist import open_file, read_draft, save_entry
from tests.web.editor_fixtures import Editable


def _entry(path: Path, entry_id: str) -> str:
    """The YAML block of one entry, up to the next entry or section."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {entry_id}\n")
    end = re.search(r"\n  - id: |\n\S", text[start + 1:])
    return text[start : start + 1 + end.start()] if end else text[start:]


def _selected(html: str) -> str:
    select = html[html.index('<select id="entry-forms"'):]
    select = select[: select.index("</select>")]
    [value] = re.findall(r'<option value="([^"]*)" selected>', select)
    return value


def test_forms_is_set_kept_on_other_edits_and_removed(editable: Editable) -> None:
    path = editable.watchlist()
    assert "forms:" not in _entry(path, "mit")
    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "mit")
    assert draft.forms == ""
    draft.forms = "exact"
    save_entry(editable.config_dir, {}, "mena-security", draft, "mit", opened.sha256, author="test")
    block = _entry(path, "mit")
    assert "\n    forms: exact\n" in block
    assert block.index("exact_case:") < block.index("forms: exact"), "where a person would write it"
    assert "    forms: exact\n\n  - id: ronen-bar\n" in path.read_text(encoding="utf-8"), "the blank line stays below"
    actors = load_config(editable.config_dir, {}).config.watchlists["mena-security"].actors
    assert next(a for a in actors if a.id == "mit").forms == "exact"

    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "mit")
    assert draft.forms == "exact"
    draft.aliases.append("Turkish spy agency")
    save_entry(editable.config_dir, {}, "mena-security", draft, "mit", opened.sha256, author="test")
    assert "\n    forms: exact\n" in _entry(path, "mit") and "Turkish spy agency" in _entry(path, "mit")

    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "mit")
    draft.forms = None  # a caller that does not know the key leaves it as it is
    save_entry(editable.config_dir, {}, "mena-security", draft, "mit", opened.sha256, author="test")
    assert "\n    forms: exact\n" in _entry(path, "mit")

    opened = open_file(editable.config_dir, "mena-security")
    draft = read_draft(opened, "mit")
    draft.forms = ""  # back to the watchlist's
    save_entry(editable.config_dir, {}, "mena-security", draft, "mit", opened.sha256, author="test")
    assert "forms:" not in _entry(path, "mit") and "Turkish spy agency" in _entry(path, "mit")


def test_the_editor_form_has_the_select_and_saves_it(app_client: TestClient, editable: Editable) -> None:
    html = app_client.get("/watchlists/energy-shipping/new?kind=topic").text
    assert _selected(html) == ""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    response = app_client.post("/watchlists/energy-shipping/save", follow_redirects=False, data={
        **fields, "id": "red-sea-insurance", "name": "Red Sea insurance", "query": '"Red Sea" AND insur*',
        "forms": "exact"})
    assert response.status_code == 303, response.text
    path = editable.watchlist("energy-shipping")
    assert _entry(path, "red-sea-insurance").endswith("    query: '\"Red Sea\" AND insur*'\n    forms: exact\n")
    page = app_client.get(response.headers["location"]).text
    assert _selected(page) == "exact"

    # Saved again from the form as it was shown: kept.
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    response = app_client.post("/watchlists/energy-shipping/save", follow_redirects=False, data={
        **fields, "id": "red-sea-insurance", "name": "Red Sea insurers", "query": '"Red Sea" AND insur*',
        "forms": _selected(page)})
    assert response.status_code == 303, response.text
    block = _entry(path, "red-sea-insurance")
    assert "name: Red Sea insurers" in block and "\n    forms: exact\n" in block
    assert _selected(app_client.get("/watchlists/mena-security/entries/mit").text) == ""
