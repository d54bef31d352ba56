"""/healthz and /metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from monitor.store.db import Database
from monitor.web.app import create_app
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.seed import BOTH_BACKENDS, Seeded, seed_clock


@BOTH_BACKENDS
def test_healthz_reports_database_and_poll_age(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["polling"] == "ok"
    assert 0 <= body["last_poll_age_seconds"] < 600
    assert body["last_successful_poll_age_seconds"] is not None
    assert body["deliveries_failed"] == 1


def test_healthz_is_503_when_the_database_is_unreachable(seeded: Seeded, tmp_path: object) -> None:
    broken = Database("sqlite:////nonexistent-dir/really/not/here.db")
    with TestClient(create_app(seeded.config, broken, clock=seed_clock), base_url=LOCAL_BASE_URL) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


@BOTH_BACKENDS
def test_metrics_parse_and_reflect_the_database(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    expected = {"monitor_feeds", "monitor_feed_fetch_seconds", "monitor_articles_stored", "monitor_matches_stored",
                "monitor_deliveries", "monitor_delivery_queue_depth", "monitor_routed_items_waiting",
                "monitor_last_poll_timestamp_seconds"}
    assert expected <= set(families)
    feeds = {s.labels["outcome"]: s.value for s in families["monitor_feeds"].samples}
    assert feeds == {"ok": 9.0}
    histogram = {(s.name, s.labels.get("le")): s.value for s in families["monitor_feed_fetch_seconds"].samples}
    assert histogram[("monitor_feed_fetch_seconds_count", None)] == 9.0
    assert histogram[("monitor_feed_fetch_seconds_bucket", "+Inf")] == 9.0
    deliveries = {s.labels["status"]: s.value for s in families["monitor_deliveries"].samples}
    assert deliveries["failed"] == 1.0 and deliveries["sent"] >= 1.0
    articles = families["monitor_articles_stored"].samples[0].value
    assert articles == client.get("/api/articles?limit=1").json()["total"]
    matches = {s.labels["watchlist"]: s.value for s in families["monitor_matches_stored"].samples}
    assert sum(matches.values()) == client.get("/api/matches?limit=1").json()["total"]


@BOTH_BACKENDS
def test_metrics_follow_the_database_at_scrape_time(client: TestClient, db: Database, seeded: Seeded) -> None:
    from monitor.store.outbox import Outbox

    def failed() -> float:
        text = client.get("/metrics").text
        family = next(f for f in text_string_to_metric_families(text) if f.name == "monitor_deliveries")
        return next(s.value for s in family.samples if s.labels["status"] == "failed")

    assert failed() == 1.0
    Outbox(db).requeue(seeded.failed_delivery_id, seed_clock())
    assert failed() == 0.0
