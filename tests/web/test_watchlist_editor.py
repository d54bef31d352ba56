"""The watchlists page and the entry editor over HTTP: listing, live check, preview, save, refusals, auth."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from monitor.store.db import Database
from monitor.usecases.check import check_configuration_with_warnings
from monitor.web.app import create_app
from monitor.web.auth import CSRF_FIELD, AuthSettings
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.editor_fixtures import Editable
from tests.web.seed import seed_clock

BAD_QUERY = '"Red Sea" AND (ship* OR'


def _form(html: str) -> dict[str, str]:
    """The hidden fields of the editor's form (CSRF token, sha256, original id, section)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_the_watchlists_page_lists_every_entry_with_followers_and_recent_matches(app_client: TestClient) -> None:
    html = app_client.get("/watchlists").text
    assert 'href="/watchlists/mena-security/entries/ibrahim-kalin"' in html
    assert 'href="/watchlists/energy-shipping/entries/red-sea-shipping"' in html
    row = re.search(r'<tr data-text="[^"]*hostage-talks.*?</tr>', html, re.S)
    assert row and "mena-desk" in row.group(0) and "energy-analyst" in row.group(0)
    counts = [int(n) for n in re.findall(r'entry=[^"]+">(\d+)</a></td>', html)]
    assert any(counts), "the seeded demo has matches in the 7 days before its clock"


def test_the_watchlists_filter_works_without_javascript(app_client: TestClient) -> None:
    html = app_client.get("/watchlists", params={"q": "massachusetts"}).text
    assert "/entries/mit" in html and "/entries/ibrahim-kalin" not in html
    assert "No entry holds" in app_client.get("/watchlists", params={"q": "zzzz-nothing"}).text


def test_the_editor_opens_an_entry_with_its_file_hash(app_client: TestClient, editable: Editable) -> None:
    html = app_client.get("/watchlists/mena-security/entries/mit").text
    fields = _form(html)
    assert fields["original_id"] == "mit" and fields["section"] == "actors" and len(fields["sha256"]) == 64
    assert "Massachusetts Institute of Technology" in html
    assert app_client.get("/watchlists/mena-security/entries/nope").status_code == 404
    assert app_client.get("/watchlists/..%2Fmonitor/new").status_code == 404


def test_the_check_endpoint_returns_what_monitor_check_prints(app_client: TestClient, editable: Editable,
                                                               tmp_path: Path) -> None:
    fields = _form(app_client.get("/watchlists/energy-shipping/new?kind=topic").text)
    draft = {**fields, "id": "red-sea", "name": "Red Sea", "query": BAD_QUERY}
    answer = app_client.post("/watchlists/energy-shipping/try", data=draft).json()
    [problem] = answer["problems"]
    assert answer["preview"] is None
    # The same file written by hand: `monitor check` reports the same problem, line and column.
    path = editable.watchlist("energy-shipping")
    by_hand = path.read_text(encoding="utf-8").replace(
        "\ntests:", f"\n  - id: red-sea\n    name: Red Sea\n    query: '{BAD_QUERY}'\n\ntests:", 1)
    path.write_text(by_hand, encoding="utf-8")
    [expected] = check_configuration_with_warnings(editable.config_dir, {}).problems
    assert (problem["line"], problem["column"], problem["message"]) == (expected.line, expected.column,
                                                                        expected.message)
    assert problem["text"] == expected.format()
    assert "problem(s)" in answer["html"] and "^" in answer["html"]


def test_the_check_endpoint_previews_a_valid_draft_with_adds_and_removes(app_client: TestClient) -> None:
    fields = _form(app_client.get("/watchlists/mena-security/entries/mit").text)
    draft = {**fields, "id": "mit", "name": "Qatar", "kind": "organization", "aliases": "Doha", "exact_case": "",
             "exclude": ""}
    answer = app_client.post("/watchlists/mena-security/try", data=draft).json()
    # The tests that expect MIT to match now fail: shown as problems, and the preview still runs.
    assert answer["problems"] and all(p["message"].startswith("expected") for p in answer["problems"])
    assert any(not t["passed"] for t in answer["tests"])
    preview = answer["preview"]
    assert preview["total"] >= len(preview["hits"]) > 0
    assert preview["added"] and preview["removed"]
    assert sum(preview["per_day"].values()) == preview["total"]
    assert "<mark>" in answer["html"] and "added" in answer["html"]
    assert "-    aliases:" in answer["diff"] and '+    aliases: ["Doha"]' in answer["diff"]


def test_the_check_endpoint_runs_the_entrys_tests(app_client: TestClient) -> None:
    fields = _form(app_client.get("/watchlists/mena-security/entries/hostage-talks").text)
    draft = {**fields, "id": "hostage-talks", "name": "Hostage talks", "query": "nothing-matches-this"}
    answer = app_client.post("/watchlists/mena-security/try", data=draft).json()
    assert any("expected to match the test text" in p["message"] for p in answer["problems"])
    fixed = app_client.post("/watchlists/mena-security/try", data={**draft, "query": "(captives OR hostages) AND talks"}).json()
    assert fixed["problems"] == [] and fixed["tests"] and all(t["passed"] for t in fixed["tests"])


def test_saving_writes_the_file_and_keeps_its_comments(app_client: TestClient, editable: Editable) -> None:
    fields = _form(app_client.get("/watchlists/energy-shipping/new?kind=topic").text)
    path = editable.watchlist("energy-shipping")
    before = path.read_text(encoding="utf-8")
    response = app_client.post("/watchlists/energy-shipping/save", follow_redirects=False, data={
        **fields, "id": "red-sea-insurance", "name": "Red Sea insurance", "query": '"Red Sea" AND insur*'})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/watchlists/energy-shipping/entries/red-sea-insurance?saved=1"
    after = path.read_text(encoding="utf-8")
    assert after.startswith(before.split("\ntests:")[0])  # everything before the new topic, comments included
    assert "  - id: red-sea-insurance\n    name: Red Sea insurance\n    query: '\"Red Sea\" AND insur*'\n" in after
    assert "Saved to" in app_client.get(response.headers["location"]).text
    assert "/entries/red-sea-insurance" in app_client.get("/watchlists").text


def test_saving_over_a_file_changed_since_it_was_opened_is_refused(app_client: TestClient,
                                                                    editable: Editable) -> None:
    fields = _form(app_client.get("/watchlists/mena-security/entries/mit").text)
    path = editable.watchlist()
    path.write_text(path.read_text(encoding="utf-8") + "# a concurrent edit\n", encoding="utf-8")
    changed = path.read_text(encoding="utf-8")
    response = app_client.post("/watchlists/mena-security/save", data={
        **fields, "id": "mit", "name": "MIT", "kind": "organization", "aliases": "MIT spies"})
    assert response.status_code == 409
    assert "changed on disk since you opened it" in response.text
    assert path.read_text(encoding="utf-8") == changed


def test_an_invalid_save_is_refused_with_the_located_problem(app_client: TestClient, editable: Editable) -> None:
    fields = _form(app_client.get("/watchlists/energy-shipping/new?kind=topic").text)
    path = editable.watchlist("energy-shipping")
    before = path.read_text(encoding="utf-8")
    response = app_client.post("/watchlists/energy-shipping/save", data={
        **fields, "id": "red-sea", "name": "Red Sea", "query": BAD_QUERY})
    assert response.status_code == 422
    assert "would not pass" in response.text and "energy-shipping.yaml:" in response.text
    assert path.read_text(encoding="utf-8") == before


def test_saving_needs_the_csrf_token(app_client: TestClient, editable: Editable) -> None:
    fields = _form(app_client.get("/watchlists/energy-shipping/new?kind=topic").text)
    fields[CSRF_FIELD] = "forged"
    response = app_client.post("/watchlists/energy-shipping/save", data={
        **fields, "id": "x", "name": "X", "query": "ship*"})
    assert response.status_code == 403


def test_with_credentials_configured_editing_needs_them(editable: Editable) -> None:
    db = Database(editable.database_url)
    app = create_app(editable.config, db, auth=AuthSettings(username="ayse", password="pw"), clock=seed_clock)
    with TestClient(app, base_url=LOCAL_BASE_URL) as client:
        assert client.get("/watchlists").status_code == 401
        assert client.post("/watchlists/mena-security/try", data={"id": "x"}).status_code == 401
        client.auth = ("ayse", "pw")
        assert client.get("/watchlists").status_code == 200
    db.dispose()


def test_the_check_endpoint_refuses_another_site(app_client: TestClient) -> None:
    response = app_client.post("/watchlists/mena-security/try", data={"id": "x"},
                               headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
