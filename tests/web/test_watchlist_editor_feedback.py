"""Feedback makes tests: "not relevant for an entry" proposes a not_matches test and an exclusion; accepting writes them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.config import load_config
from monitor.store.db import Database
from monitor.store.models import MatchRow
from monitor.usecases.check import check_configuration_with_warnings
from monitor.web.app import create_app
from monitor.web.auth import CSRF_FIELD
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.editor_fixtures import Editable, editable_copy
from tests.web.seed import Seeded, seed_clock

ENTRY = "mena-security/turkiye"


@pytest.fixture
def editable(seeded_template: Seeded, tmp_path: Path) -> Editable:
    """A private, writable copy of the seeded demo."""
    return editable_copy(seeded_template, tmp_path)


@pytest.fixture
def client(editable: Editable) -> Iterator[TestClient]:
    """The dashboard on the editable copy (loopback, no credentials)."""
    db = Database(editable.database_url)
    with TestClient(create_app(editable.config, db, clock=seed_clock), base_url=LOCAL_BASE_URL) as test_client:
        yield test_client
    db.dispose()


def _matched_article(editable: Editable) -> str:
    db = Database(editable.database_url)
    try:
        with db.sessions() as session:
            ids = session.scalars(select(MatchRow.article_id).where(
                MatchRow.watchlist == "mena-security", MatchRow.entry_id == "turkiye").order_by(MatchRow.article_id))
            return next(iter(ids))
    finally:
        db.dispose()


def _hidden(html: str) -> dict[str, str]:
    form = html.split('method="post"', 1)[1]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))


def test_not_relevant_proposes_a_test_and_an_exclusion_that_monitor_check_then_runs(
        client: TestClient, editable: Editable) -> None:
    article_id = _matched_article(editable)
    html = client.get(f"/articles/{article_id}/feedback", params={"entry": ENTRY}).text
    assert "not_matches: [turkiye]" in html and 'id="feedback-ok"' in html
    fields = _hidden(html)
    assert fields["exclusion"], "a word near the match that the other matches lack"
    path = editable.watchlist()
    tests_before = len(load_config(editable.config_dir, {}).config.watchlists["mena-security"].tests)
    response = client.post(f"/articles/{article_id}/feedback", data=fields, follow_redirects=False)
    assert response.status_code == 303, response.text
    text = path.read_text(encoding="utf-8")
    assert text.rstrip().endswith("not_matches: [turkiye]")
    assert f"OR ({fields['exclusion']})'" in text  # the actor's exclusion, widened
    watchlist = load_config(editable.config_dir, {}).config.watchlists["mena-security"]
    assert len(watchlist.tests) == tests_before + 1 and watchlist.tests[-1].not_matches == ("turkiye",)
    assert check_configuration_with_warnings(editable.config_dir, {}).problems == []


def test_an_exclusion_that_does_not_make_the_test_pass_cannot_be_accepted(client: TestClient,
                                                                          editable: Editable) -> None:
    article_id = _matched_article(editable)
    html = client.get(f"/articles/{article_id}/feedback",
                      params={"entry": ENTRY, "exclusion": "zzzunusedword"}).text
    assert "expected not to match the test text" in html and "disabled" in html
    before = editable.watchlist().read_text(encoding="utf-8")
    response = client.post(f"/articles/{article_id}/feedback", data=_hidden(html))
    assert response.status_code == 422
    assert editable.watchlist().read_text(encoding="utf-8") == before


def test_feedback_over_a_changed_file_is_refused(client: TestClient, editable: Editable) -> None:
    article_id = _matched_article(editable)
    fields = _hidden(client.get(f"/articles/{article_id}/feedback", params={"entry": ENTRY}).text)
    path = editable.watchlist()
    path.write_text(path.read_text(encoding="utf-8") + "# edited meanwhile\n", encoding="utf-8")
    response = client.post(f"/articles/{article_id}/feedback", data=fields)
    assert response.status_code == 409 and "changed on disk" in response.text
    assert path.read_text(encoding="utf-8").endswith("# edited meanwhile\n")


def test_feedback_needs_the_csrf_token(client: TestClient, editable: Editable) -> None:
    article_id = _matched_article(editable)
    fields = _hidden(client.get(f"/articles/{article_id}/feedback", params={"entry": ENTRY}).text)
    fields[CSRF_FIELD] = "forged"
    assert client.post(f"/articles/{article_id}/feedback", data=fields).status_code == 403
    assert client.get("/articles/nope/feedback", params={"entry": ENTRY}).status_code == 404
