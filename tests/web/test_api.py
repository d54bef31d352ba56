"""The JSON API: every endpoint, pagination, errors, and the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.seed import BOTH_BACKENDS, Seeded

pytestmark = BOTH_BACKENDS


def test_feeds(client: TestClient) -> None:
    body = client.get("/api/feeds").json()
    assert body["total"] == 9 and body["next_offset"] is None
    feed = next(f for f in body["items"] if f["id"] == "levant-wire")
    assert feed["state"] == "active" and feed["last_status"] == 200 and len(feed["per_day"]) == 14
    page = client.get("/api/feeds?limit=2&offset=2&sort=name&desc=true").json()
    assert len(page["items"]) == 2 and page["next_offset"] == 4
    assert client.get("/api/feeds?sort=bogus").status_code == 422


def test_feeds_sort_ties_are_in_id_order(client: TestClient) -> None:
    # Every seeded feed answered 200 without error: they all tie on status, so the id decides, on both
    # backends and in both directions, and pages of the same sort never overlap.
    ids = [f["id"] for f in client.get("/api/feeds?sort=status").json()["items"]]
    assert len(ids) == 9 and ids == sorted(ids)
    assert [f["id"] for f in client.get("/api/feeds?sort=status&desc=true").json()["items"]] == ids
    pages = [client.get(f"/api/feeds?sort=status&limit=4&offset={o}").json()["items"] for o in (0, 4, 8)]
    assert [f["id"] for page in pages for f in page] == ids


def test_articles_and_one_article(client: TestClient) -> None:
    first = client.get("/api/articles?limit=5").json()
    assert first["total"] > 5 and len(first["items"]) == 5 and first["next_offset"] == 5
    second = client.get("/api/articles?limit=5&offset=5").json()
    assert not {a["id"] for a in first["items"]} & {a["id"] for a in second["items"]}
    matched = next(a for a in first["items"] + second["items"] if a["match_count"])
    detail = client.get(f"/api/articles/{matched['id']}").json()
    assert detail["matches"] and detail["sightings"]
    assert detail["matches"][0]["highlights"][0]["field"] in ("title", "body")
    missing = client.get("/api/articles/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_matches_filters(client: TestClient) -> None:
    all_matches = client.get("/api/matches?limit=500").json()
    assert all_matches["total"] == len(all_matches["items"]) > 0
    kalin = client.get("/api/matches", params={"watchlist": "mena-security", "entry": "ibrahim-kalin"}).json()
    assert kalin["items"] and {m["entry_id"] for m in kalin["items"]} == {"ibrahim-kalin"}
    assert all("[[" in m["snippet"] for m in kalin["items"])
    by_feed = client.get("/api/matches", params={"feed": "gulf-observer", "limit": 500}).json()
    assert 0 < by_feed["total"] < all_matches["total"]
    old = client.get("/api/matches", params={"from": "2001-01-01", "to": "2001-12-31"}).json()
    assert old["total"] == 0
    assert client.get("/api/matches?from=yesterday").status_code == 422


def test_deliveries(client: TestClient, seeded: Seeded) -> None:
    failed = client.get("/api/deliveries?status=failed").json()
    assert [d["id"] for d in failed["items"]] == [seeded.failed_delivery_id]
    assert failed["items"][0]["last_error"].startswith("550")
    assert client.get("/api/deliveries?status=sent").json()["total"] >= 1
    assert client.get("/api/deliveries?limit=0").status_code == 422


def test_query(client: TestClient) -> None:
    body = client.get("/api/query", params={"q": "Kalin NEAR/5 Bar", "days": 3650}).json()
    assert body["total"] >= 1 and body["per_day"]
    assert body["items"][0]["highlights"] and "[[" in body["items"][0]["snippet"]
    paged = client.get("/api/query", params={"q": "mena-security/mit", "limit": 1}).json()
    assert len(paged["items"]) <= 1


def test_query_warnings_and_habits_of_other_tools(client: TestClient) -> None:
    body = client.get("/api/query", params={"q": "Kalin and Bar", "days": 3650}).json()
    assert body["warnings"] == [{"message": "'and' is matched as a word: the article must also contain \"and\"",
                                 "column": 7, "hint": "write AND (operators are capitals), or leave it out: words side"
                                                      " by side must all match"}]
    refused = client.get("/api/query", params={"q": "Kalin w/5 Bar"})
    assert refused.status_code == 400
    assert refused.json()["detail"] == {"message": "'w/5' is proximity syntax of other tools", "column": 7,
                                        "hint": "here write NEAR/5 (either order)"}
    def total(q: str) -> int:
        return int(client.get("/api/query", params={"q": q, "days": 3650}).json()["total"])

    # -talks is NOT talks: the articles about Gaza split into those with "talks" and those without.
    assert total("Gaza AND talks") > 0 and total("Gaza -talks") > 0
    assert total("Gaza -talks") + total("Gaza AND talks") == total("Gaza")


def test_query_error_names_the_column(client: TestClient) -> None:
    response = client.get("/api/query", params={"q": "hostages AND (talks"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail["column"] == 14 and "(" in detail["message"]


def test_openapi_documents_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/feeds", "/api/articles", "/api/articles/{article_id}", "/api/matches", "/api/deliveries",
            "/api/query"} <= paths
    assert not any(p.startswith(("/feeds", "/deliveries/", "/login")) for p in paths), "pages stay out of it"
    assert client.get("/docs").status_code == 404  # Swagger UI needs a CDN; the CSP forbids it
