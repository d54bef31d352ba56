"""The /search page and GET /api/search over the seeded demo, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient

from monitor.store.db import Database
from monitor.usecases.candidates import index_articles
from tests.web.conftest import authed_client
from tests.web.seed import BOTH_BACKENDS, Seeded

pytestmark = BOTH_BACKENDS


def _hit_ids(client: TestClient, **params: object) -> list[str]:
    ids: list[str] = []
    offset = 0
    while offset is not None:
        body = client.get("/api/search", params={**params, "limit": 2, "offset": offset}).json()
        ids += [item["article_id"] for item in body["items"]]
        offset = body["next_offset"]
    return ids


def test_search_equals_the_query_page_before_and_after_indexing(client: TestClient, db: Database) -> None:
    queries = ('"Ibrahim Kalin" OR Kalın', "hostage*", "Kalin NEAR/5 Bar", "ceasefire -Hamas")
    expected = {q: [h["article_id"] for h in client.get("/api/query", params={"q": q, "days": 3650, "limit": 500})
                    .json()["items"]] for q in queries}
    assert all(expected.values()), "the demo has hits for every query"
    before = {q: _hit_ids(client, q=q) for q in queries}  # every article still queued for the indexer
    assert index_articles(db) > 0
    body = client.get("/api/search", params={"q": queries[0]}).json()
    assert body["unindexed"] == 0 and body["indexed"]
    assert before == {q: _hit_ids(client, q=q) for q in queries} == expected


def test_search_page_shows_highlights_filters_and_pages(client: TestClient, db: Database) -> None:
    index_articles(db)
    html = client.get("/search", params={"q": "the OR of OR and"}).text
    assert 'href="/search" aria-current="page"' in html
    assert re.search(r'id="search-count">Results 1–20, more on the next page', html)
    assert "<mark>" in html and 'id="search-next"' in html and 'id="search-prev"' not in html
    second = client.get("/search", params={"q": "the OR of OR and", "page": 2}).text
    assert 'id="search-prev"' in second and 'start="21"' in second
    none = client.get("/search", params={"q": "Kalin", "lang": "zz"}).text
    assert "No results" in none
    problem = client.get("/search", params={"q": 'Kalin AND "deal'}).text
    assert 'id="search-error"' in problem and "at column" in problem
    scanned = client.get("/search", params={"q": "NOT Kalin"}).text
    assert 'id="search-scan"' in scanned


def test_api_search_filters_and_errors(client: TestClient) -> None:
    everything = client.get("/api/search", params={"q": "Hamas OR Kalin OR hostage*", "limit": 200}).json()
    assert everything["items"] and everything["indexed"]
    first = everything["items"][0]
    day = first["published_at"][:10]
    same_day = client.get("/api/search", params={"q": "Hamas OR Kalin OR hostage*", "from": day, "to": day,
                                                  "limit": 200}).json()["items"]
    assert first["article_id"] in {i["article_id"] for i in same_day} and len(same_day) < len(everything["items"])
    if first["feed_id"]:
        by_feed = client.get("/api/search", params={"q": "Hamas OR Kalin OR hostage*", "feed": first["feed_id"],
                                                     "limit": 200}).json()["items"]
        assert by_feed and len(by_feed) <= len(everything["items"])
    assert client.get("/api/search", params={"q": 'a AND "b'}).status_code == 400
    assert client.get("/api/search", params={"q": "a", "lang": "1"}).status_code == 422
    reversed_range = client.get("/api/search", params={"q": "a", "from": "2024-11-20", "to": "2024-11-01"})
    assert reversed_range.status_code == 400 and "before it starts" in reversed_range.json()["detail"]["message"]


def test_search_needs_the_credentials_when_they_are_set(seeded: Seeded, db: Database) -> None:
    client = authed_client(seeded, db, token="s3cret-token-for-search")
    for path in ("/search?q=Kalin", "/api/search?q=Kalin"):
        refused = client.get(path, follow_redirects=False)
        assert refused.status_code == (401 if path.startswith("/api/") else 303), path
        assert client.get(path, headers={"Authorization": "Bearer s3cret-token-for-search"}).status_code == 200


def test_a_search_exports_as_csv_and_a_self_contained_report(client: TestClient, db: Database) -> None:
    index_articles(db)
    hits = client.get("/api/search", params={"q": "Kalin OR hostage*", "limit": 200}).json()["items"]
    assert hits
    page = client.get("/search", params={"q": "Kalin OR hostage*"}).text
    assert 'id="search-export-csv" download' in page and "/search/export.csv?q=Kalin+OR+hostage%2A" in page
    csv_response = client.get("/search/export.csv", params={"q": "Kalin OR hostage*"})
    assert csv_response.status_code == 200 and csv_response.headers["content-type"].startswith("text/csv")
    assert 'filename="search-' in csv_response.headers["content-disposition"]
    header, *lines = list(csv.reader(io.StringIO(csv_response.text)))
    assert header == ["published", "title", "outlets", "language", "entries", "snippet", "link"]
    assert [line[1] for line in lines] == [hit["title"] for hit in hits]  # the same hits, newest first
    report = client.get("/search/export.html", params={"q": "Kalin OR hostage*", "lang": "en"})
    assert report.status_code == 200 and "default-src 'none'" in report.headers["content-security-policy"]
    assert "Search: Kalin OR hostage*, language en" in report.text and "<script" not in report.text
    broken = client.get("/search/export.csv", params={"q": 'Kalin AND "deal'})
    assert broken.status_code == 400 and "Correct the query" in broken.text
    assert client.get("/search/export.pdf", params={"q": "Kalin"}).status_code == 404
