"""The HTML pages with a seeded database: content, filters, highlights, retry with CSRF, sanitising."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.store.db import Database
from monitor.store.rows import Delivery, MatchRow
from monitor.web.auth import CONTENT_SECURITY_POLICY, CSRF_COOKIE, CSRF_FIELD
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.seed import BOTH_BACKENDS, FAILED_ERROR, Seeded

pytestmark = BOTH_BACKENDS

PAGES = ["/", "/feeds", "/matches", "/articles", "/deliveries", "/query", "/query?q=hostages", "/login"]


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def test_every_page_renders_with_security_headers(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        # No inline script or style anywhere: the CSP would block them, and feed content must not add any.
        assert "<script" not in response.text.lower(), path
        assert "style=" not in response.text.lower(), path


def test_static_css_is_served_from_the_package(client: TestClient) -> None:
    response = client.get("/static/dashboard.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "mark" in response.text


def test_overview_counts_and_chart(client: TestClient) -> None:
    html = client.get("/").text
    assert "feeds polled in 24 h" in html and "deliveries failed" in html
    assert '<svg class="chart"' in html and "mena-security" in html
    assert re.search(r'<span class="num">9/9</span>', html), "all nine seeded feeds were polled"


def test_feeds_page_sorts_and_shows_sparklines(client: TestClient) -> None:
    by_id = client.get("/feeds?sort=id").text
    ids = re.findall(r"<code>([a-z0-9-]+)</code>", by_id)
    assert ids == sorted(ids) and "levant-wire" in ids
    reverse = re.findall(r"<code>([a-z0-9-]+)</code>", client.get("/feeds?sort=id&desc=true").text)
    assert reverse == sorted(ids, reverse=True)
    assert by_id.count('<svg class="spark"') == len(ids)
    assert client.get("/feeds?sort=items_per_day&desc=true").status_code == 200
    assert client.get("/feeds?sort=nonsense").status_code == 200  # unknown sort falls back to id


def test_matches_page_filters_and_marks(client: TestClient) -> None:
    html = client.get("/matches?watchlist=mena-security&entry=ibrahim-kalin").text
    items = re.findall(r'<span class="entry entry-\w+">([^<]+)</span>', html)
    assert items and set(items) == {"mena-security/ibrahim-kalin"}
    assert "<mark>" in html
    assert "/articles/" in html
    by_feed = client.get("/matches?feed=anatolia-haber").text
    assert "match(es)" in by_feed
    none = client.get("/matches?from=2001-01-01&to=2001-01-02").text
    assert "No matches for these filters." in none
    assert client.get("/matches?from=not-a-date").status_code == 200


def test_article_page_highlights_spans_and_lists_deliveries(client: TestClient, db: Database, seeded: Seeded) -> None:
    with db.sessions() as session:
        match = session.scalars(select(MatchRow).where(MatchRow.entry_id == "ibrahim-kalin")).first()
        assert match is not None
    html = client.get(f"/articles/{match.article_id}").text
    body = re.search(r'<div class="text" id="article-text">(.*?)</div>', html, re.S)
    assert body and "<mark>" in body.group(1)
    marked = re.findall(r"<mark>(.*?)</mark>", body.group(1))
    assert any(h["text"] in marked for h in match.highlights if h["field"] == "body")
    assert "mena-security/ibrahim-kalin" in html
    assert "Seen in" in html and "dlv_" in html


def test_article_not_found(client: TestClient) -> None:
    response = client.get("/articles/nope")
    assert response.status_code == 404
    assert "Article not found" in response.text


def test_deliveries_page_shows_failure_and_retry_button(client: TestClient, seeded: Seeded) -> None:
    html = client.get("/deliveries").text
    assert seeded.failed_delivery_id in html
    assert "mailbox unavailable" in html and "&lt;mena-desk@demo.example&gt;" in html  # error text escaped
    assert f'action="/deliveries/{seeded.failed_delivery_id}/retry"' in html
    assert client.get("/deliveries?status=failed").text.count('class="retry"') == 1
    assert FAILED_ERROR not in client.get("/deliveries?status=sent").text


def test_retry_requeues_with_a_valid_csrf_token(client: TestClient, db: Database, seeded: Seeded) -> None:
    token = csrf_from(client.get("/deliveries").text)
    response = client.post(f"/deliveries/{seeded.failed_delivery_id}/retry", data={CSRF_FIELD: token},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/deliveries?retried=")
    with db.sessions() as session:
        row = session.get(Delivery, seeded.failed_delivery_id)
        assert row is not None and row.status == "pending" and row.attempts == 0
    assert "Re-queued" in client.get(response.headers["location"]).text
    again = client.post(f"/deliveries/{seeded.failed_delivery_id}/retry", data={CSRF_FIELD: token})
    assert again.status_code == 409  # no longer failed


def test_retry_without_or_with_a_forged_csrf_token_is_refused(client: TestClient, db: Database, seeded: Seeded) -> None:
    client.get("/deliveries")
    url = f"/deliveries/{seeded.failed_delivery_id}/retry"
    assert client.post(url, data={}).status_code == 403
    assert client.post(url, data={CSRF_FIELD: "forged.token"}).status_code == 403
    # A matching cookie and field that the server never signed (cookie tossing) are refused too.
    client.cookies.set(CSRF_COOKIE, "abc.def")
    assert client.post(url, data={CSRF_FIELD: "abc.def"}).status_code == 403
    # A valid token from a cross-site form is refused by the origin check.
    fresh = TestClient(client.app, base_url=LOCAL_BASE_URL)
    token = csrf_from(fresh.get("/deliveries").text)
    cross = fresh.post(url, data={CSRF_FIELD: token}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    with db.sessions() as session:
        row = session.get(Delivery, seeded.failed_delivery_id)
        assert row is not None and row.status == "failed"


def test_try_a_query_shows_hits_and_chart(client: TestClient) -> None:
    html = client.get("/query", params={"q": '"Ibrahim Kalin" OR Kalın', "days": 30}).text
    assert re.search(r'id="query-count">\d+ article\(s\) matched', html)
    assert "<mark>" in html and '<svg class="chart"' in html
    entry = client.get("/query", params={"q": "mena-security/hostage-talks"}).text
    assert 'id="query-hits"' in entry


def test_try_a_query_shows_the_error_column(client: TestClient) -> None:
    html = client.get("/query", params={"q": 'hostages AND (talks OR "deal'}).text
    problem = re.search(r'<div class="problem".*?</div>', html, re.S)
    assert problem is not None
    assert "at column" in problem.group(0)
    caret_line = re.search(r"<pre>.*\n( *)\^", problem.group(0))
    assert caret_line is not None


def test_try_a_query_shows_warnings_and_the_equivalent(client: TestClient) -> None:
    html = client.get("/query", params={"q": "Kalin and Bar", "days": 3650}).text
    warning = re.search(r'<div class="problem warning".*?</div>', html, re.S)
    assert warning is not None and "matched as a word" in warning.group(0) and "at column 7" in warning.group(0)
    assert 'id="query-count"' in html  # the query still ran
    refused = client.get("/query", params={"q": '"Kalin Bar"~5'}).text
    problem = re.search(r'<div class="problem".*?</div>', refused, re.S)
    assert problem is not None and "proximity syntax of other tools" in problem.group(0)
    assert "Kalin NEAR/5 Bar" in problem.group(0)


def test_hostile_feed_content_is_never_rendered_as_markup(client: TestClient, seeded: Seeded) -> None:
    if not seeded.hostile_feed_ids:
        import pytest

        pytest.skip("the feedparser sanitize corpus is not on this machine")
    pages = [client.get("/matches?watchlist=sanitizer-probe").text, client.get("/articles").text]
    article_ids = set(re.findall(r'href="/articles/([0-9a-f]+)"', pages[0]))
    assert article_ids
    pages += [client.get(f"/articles/{a}").text for a in article_ids]
    for html in pages:
        lowered = html.lower()
        assert "<script" not in lowered and "<iframe" not in lowered
        assert not re.search(r"<[^>]+\son\w+\s*=", lowered), "an event-handler attribute got through"
        assert "javascript:" not in lowered
    assert any("Did The <mark>Javascript</mark>" in html for html in pages)
