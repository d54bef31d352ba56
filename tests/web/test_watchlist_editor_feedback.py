"""Feedback makes tests: "not relevant for an entry" proposes a not_matches test and an exclusion; accepting writes them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.config import load_config
from monitor.store.db import Database
from monitor.store.rows import MatchRow
from monitor.usecases.check import check_configuration_with_warnings
from monitor.web.app import create_app
from monitor.web.auth import CSRF_FIELD
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.editor_fixtures import Editable
from tests.web.seed import seed_clock

ENTRY = "mena-security/turkiye"


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


def _hidden(page: str) -> dict[str, str]:
    form = page.split('method="post"', 1)[1]
    return {name: html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)}


def test_not_relevant_proposes_a_test_and_an_exclusion_that_monitor_check_then_runs(
        client: TestClient, editable: Editable) -> None:
    article_id = _matched_article(editable)
    html = client.get(f"/articles/{article_id}/feedback", params={"entry": ENTRY}).text
    assert "not_matches: [turkiye]" in html and 'id="feedback-ok"' in html
    fields = _hidden(html)
    assert fields["fix"], "a word near the match that the other matches lack"
    path = editable.watchlist()
    tests_before = len(load_config(editable.config_dir, {}).config.watchlists["mena-security"].tests)
    response = client.post(f"/articles/{article_id}/feedback", data=fields, follow_redirects=False)
    assert response.status_code == 303, response.text
    text = path.read_text(encoding="utf-8")
    assert text.rstrip().endswith("not_matches: [turkiye]")
    assert f"OR ({fields['fix']})'" in text  # the actor's exclusion, widened
    watchlist = load_config(editable.config_dir, {}).config.watchlists["mena-security"]
    assert len(watchlist.tests) == tests_before + 1 and watchlist.tests[-1].not_matches == ("turkiye",)
    assert check_configuration_with_warnings(editable.config_dir, {}).problems == []


def test_an_exclusion_that_does_not_make_the_test_pass_cannot_be_accepted(client: TestClient,
                                                                          editable: Editable) -> None:
    article_id = _matched_article(editable)
    html = client.get(f"/articles/{article_id}/feedback",
                      params={"entry": ENTRY, "fix": "zzzunusedword"}).text
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


def test_missed_proposes_a_matches_test_that_passes_once_the_query_is_changed(client: TestClient,
                                                                              editable: Editable) -> None:
    db = Database(editable.database_url)
    try:
        with db.sessions() as session:
            matched = set(session.scalars(select(MatchRow.article_id).where(MatchRow.entry_id == "lng-supply")))
            article_id = next(iter(sorted(set(session.scalars(select(MatchRow.article_id))) - matched)))
    finally:
        db.dispose()
    entry = "energy-shipping/lng-supply"
    html = client.get(f"/articles/{article_id}/feedback", params={"entry": entry, "verdict": "missed"}).text
    assert "Missed by" in html and "matches: [lng-supply]" in html
    assert "expected to match the test text" in html and "disabled" in html  # the current query misses it
    title = re.search(r"\+  - title: '?([^'\n]+)", html)
    assert title is not None
    phrase = '"' + " ".join(title.group(1).split()[:3]).replace("&#39;", "'").replace('"', "") + '"'
    [topic] = [t for t in editable.config.watchlists["energy-shipping"].topics if t.id == "lng-supply"]
    query = f"({topic.query}) OR {phrase}"
    fixed = client.get(f"/articles/{article_id}/feedback",
                       params={"entry": entry, "verdict": "missed", "fix": query}).text
    assert 'id="feedback-ok"' in fixed, re.findall(r"<pre class=\"check-problem\">(.*?)</pre>", fixed, re.S)
    response = client.post(f"/articles/{article_id}/feedback", data=_hidden(fixed), follow_redirects=False)
    assert response.status_code == 303, response.text
    text = editable.watchlist("energy-shipping").read_text(encoding="utf-8")
    assert text.rstrip().endswith("matches: [lng-supply]") and f"query: '({topic.query.replace(chr(39), chr(39) * 2)}) OR {phrase.replace(chr(39), chr(39) * 2)}'" in text
    assert check_configuration_with_warnings(editable.config_dir, {}).problems == []
