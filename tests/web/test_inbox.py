"""The inbox page, its forms, /api/inbox and the exports, on the seeded demo (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from monitor.store.db import Database
from monitor.store.inbox import Inbox, InboxFilter
from monitor.web.identity import OPERATOR
from tests.web.seed import BOTH_BACKENDS


def _csrf(client: TestClient) -> str:
    page = client.get("/inbox").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


@BOTH_BACKENDS
def test_the_inbox_shows_one_row_per_story_and_the_api_the_same(client: TestClient, db: Database) -> None:
    page = client.get("/inbox")
    assert page.status_code == 200
    found = Inbox(db).page(OPERATOR, InboxFilter(), limit=50)
    stories, total = found.stories, found.total
    assert total == len(stories) > 3 and not found.total_capped
    rows = re.findall(r'<li class="story[^"]*" data-story="([^"]+)"', page.text)
    assert rows == [s.story_id for s in stories], "one row per story, newest first"
    assert len(set(rows)) == len(rows)
    assert "<mark>" in page.text and 'class="chip chip-' in page.text
    assert '<script src="/static/inbox.js"></script>' in page.text
    api = client.get("/api/inbox", params={"limit": 500}).json()
    assert [i["story_id"] for i in api["items"]] == rows and api["total"] == total and api["total_capped"] is False
    assert f">{total} stories · times in" in page.text
    first = api["items"][0]
    assert first["outlets"] and first["entries"] and "[[" in first["snippet"] and first["read"] is False
    published = [i["published_at"] for i in api["items"]]
    assert published == sorted(published, reverse=True)


@BOTH_BACKENDS
def test_past_the_count_limit_the_total_is_a_lower_bound_and_paging_still_works(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    every = [i["story_id"] for i in client.get("/api/inbox", params={"limit": 500}).json()["items"]]
    assert len(every) > 4
    monkeypatch.setattr("monitor.store.inbox.COUNT_LIMIT", 3)
    first = client.get("/api/inbox", params={"limit": 2}).json()
    assert (first["total"], first["total_capped"], first["next_offset"]) == (3, True, 2), "more than 3"
    seen, offset, last = [], 0, first
    while offset is not None:
        last = client.get("/api/inbox", params={"limit": 2, "offset": offset}).json()
        assert last["total"] >= offset + len(last["items"]), "never below the stories shown"
        seen += [i["story_id"] for i in last["items"]]
        offset = last["next_offset"]
    assert seen == every and (last["total"], last["total_capped"]) == (len(every), False)
    # The page: "More than 3 stories", and its older/newer links walk the same stories.
    monkeypatch.setattr("monitor.web.inbox.PAGE_SIZE", 2)
    monkeypatch.setattr("monitor.web.pages.PAGE_SIZE", 2)
    html = client.get("/inbox").text
    assert ">More than 3 stories · times in" in html and "older &rarr;" in html
    shown, link = [], "/inbox"
    while link:
        html = client.get(link).text
        shown += re.findall(r'<li class="story[^"]*" data-story="([^"]+)"', html)
        older = re.search(r'<a href="([^"]+)">older &rarr;</a>', html)
        link = "/inbox" + older.group(1).replace("&amp;", "&") if older else ""
    assert shown == every and f">{len(every)} stories · times in" in html


def test_filters_narrow_the_page_and_the_api(client: TestClient, db: Database) -> None:
    facets = Inbox(db).facets()
    watchlist = facets.watchlists[0]
    api = client.get("/api/inbox", params={"watchlist": watchlist, "limit": 500}).json()
    assert api["total"] > 0
    assert all(any(e["watchlist"] == watchlist for e in i["entries"]) for i in api["items"])
    outlet = api["items"][0]["outlets"][0]["id"]
    by_outlet = client.get("/api/inbox", params={"outlet": outlet, "limit": 500}).json()["items"]
    assert by_outlet and all(outlet in [o["id"] for o in i["outlets"]] for i in by_outlet)
    page = client.get("/inbox", params={"watchlist": watchlist, "from": "2024-11-20", "to": "2024-11-20"})
    shown = re.findall(r'data-story="([^"]+)"', page.text)
    expected = client.get("/api/inbox", params={"watchlist": watchlist, "from": "2024-11-20", "to": "2024-11-20"}).json()
    assert shown == [i["story_id"] for i in expected["items"]]
    assert client.get("/api/inbox", params={"from": "not a day"}).status_code == 422
    assert client.get("/inbox", params={"from": "not a day", "show": "bogus"}).status_code == 200


@BOTH_BACKENDS
def test_forms_mark_read_star_and_all_read_without_javascript(client: TestClient) -> None:
    token = _csrf(client)
    items = client.get("/api/inbox", params={"limit": 500}).json()["items"]
    first, second = items[0]["story_id"], items[1]["story_id"]
    answer = client.post("/inbox/mark", data={"csrf_token": token, "action": "read", "story": [first, second],
                                              "next": "/inbox?show=unread"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/inbox?show=unread"
    client.post("/inbox/mark", data={"csrf_token": token, "action": "star", "story": first})
    state = {i["story_id"]: (i["read"], i["starred"]) for i in client.get("/api/inbox", params={"limit": 500}).json()["items"]}
    assert state[first] == (True, True) and state[second] == (True, False)
    unread = client.get("/api/inbox", params={"show": "unread"}).json()["total"]
    assert unread == len(items) - 2
    assert client.get("/api/inbox", params={"show": "starred"}).json()["items"][0]["story_id"] == first
    answer = client.post("/inbox/mark-all-read", data={"csrf_token": token, "show": "unread"}, follow_redirects=False)
    assert answer.status_code == 303 and f"marked={unread}" in answer.headers["location"]
    assert client.get("/api/inbox", params={"show": "unread"}).json()["total"] == 0
    assert "Marked" in client.get(answer.headers["location"]).text


def test_writing_needs_the_csrf_token_and_a_known_action(client: TestClient) -> None:
    story = client.get("/api/inbox").json()["items"][0]["story_id"]
    assert client.post("/inbox/mark", data={"action": "read", "story": story}).status_code == 403
    assert client.post("/inbox/mark-all-read", data={"csrf_token": "forged"}).status_code == 403
    token = _csrf(client)
    assert client.post("/inbox/mark", data={"csrf_token": token, "action": "delete", "story": story}).status_code == 409
    assert client.post("/inbox/mark", data={"csrf_token": token, "action": "read"}).status_code == 409
    # A return address elsewhere is not followed.
    answer = client.post("/inbox/mark", data={"csrf_token": token, "action": "read", "story": story,
                                              "next": "https://evil.example/"}, follow_redirects=False)
    assert answer.headers["location"] == "/"
    assert client.get("/api/inbox", params={"show": "read"}).json()["total"] == 1


def test_csv_and_html_exports_follow_the_filters(client: TestClient) -> None:
    watchlist = client.get("/api/inbox").json()["items"][0]["entries"][0]["watchlist"]
    expected = client.get("/api/inbox", params={"watchlist": watchlist, "limit": 500}).json()["items"]
    answer = client.get("/inbox/export.csv", params={"watchlist": watchlist})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="inbox-2024-11-21.csv"' == answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["title"] for r in rows] == [i["title"] for i in expected]
    assert [r["link"] for r in rows] == [i["url"] or "" for i in expected]
    assert rows[0]["outlets"] and rows[0]["entries"]
    assert "[[" not in rows[0]["snippet"] and rows[0]["published"].startswith("2024-11-")
    report = client.get("/inbox/export.html", params={"watchlist": watchlist})
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert report.headers["content-security-policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
    html = report.text
    assert "<style>" in html and "<mark>" in html and f"watchlist {watchlist}" in html
    assert html.count("<li>") == len(expected)
    # Self-contained: nothing to load, nothing to run.
    assert not re.search(r"<(script|img|link|iframe)\b|src=|@import|url\(", html)
    assert client.get("/inbox/export.pdf").status_code == 404


def test_the_inbox_page_has_the_security_headers_and_no_inline_script_or_style(client: TestClient) -> None:
    from monitor.web.auth import CONTENT_SECURITY_POLICY

    response = client.get("/inbox")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", response.text, re.S)
    assert scripts == [""] and re.findall(r"<script\b[^>]*>", response.text) == ['<script src="/static/inbox.js">']
    assert "style=" not in response.text.lower()
    assert client.get("/static/inbox.js").status_code == 200
