"""The dashboard's filters and charts go by the article's publication day, in monitor.yaml's timezone.

The seeded demo was collected on 2024-11-21 09:00 UTC (tests/web/seed.py) from feeds whose items were
published 2024-11-15 to 2024-11-20: first-seen and publication days differ for every demo article.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from monitor.store.dashboard import Dashboard
from monitor.store.db import Database
from monitor.web.app import create_app
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.seed import BOTH_BACKENDS, SEED_NOW, Seeded, seed_clock

pytestmark = BOTH_BACKENDS
TOKYO = ZoneInfo("Asia/Tokyo")
UTC_ZONE = ZoneInfo("UTC")


def all_matches(client: TestClient) -> list[dict[str, Any]]:
    body = client.get("/api/matches", params={"limit": 500}).json()
    assert body["total"] == len(body["items"]) > 0
    return list(body["items"])


def published_day(match: dict[str, Any], zone: ZoneInfo) -> date:
    return datetime.fromisoformat(match["article"]["published_at"]).astimezone(zone).date()


@pytest.fixture
def tokyo_client(seeded: Seeded, db: Database) -> Iterator[TestClient]:
    """The app on the same database, configured with timezone: Asia/Tokyo."""
    settings = seeded.config.settings.model_copy(update={"timezone": "Asia/Tokyo"})
    config = seeded.config.model_copy(update={"settings": settings})
    with TestClient(create_app(config, db, clock=seed_clock), base_url=LOCAL_BASE_URL) as client:
        yield client


def test_matches_filter_by_publication_day(client: TestClient) -> None:
    matches = all_matches(client)
    by_day = Counter(published_day(m, UTC_ZONE) for m in matches)
    assert len(by_day) >= 3, by_day
    assert by_day[SEED_NOW.date()] < len(matches), "most demo articles were published before they were collected"
    for day in [*by_day, date(2024, 11, 14)]:
        got = client.get("/api/matches", params={"from": day.isoformat(), "to": day.isoformat(), "limit": 500}).json()
        assert got["total"] == by_day[day], day
        assert {published_day(m, UTC_ZONE) for m in got["items"]} <= {day}
    span = client.get("/api/matches", params={"from": "2024-11-18", "to": "2024-11-19", "limit": 500}).json()
    assert span["total"] == by_day[date(2024, 11, 18)] + by_day[date(2024, 11, 19)]
    published = [m["article"]["published_at"] for m in span["items"]]
    assert published == sorted(published, reverse=True), "newest published first"
    assert client.get("/api/matches", params={"from": "0001-01-01", "to": "9999-12-31"}).json()["total"] == len(matches)


def test_matches_page_filters_by_publication_day(client: TestClient) -> None:
    day = date(2024, 11, 19)
    expected = sum(1 for m in all_matches(client) if published_day(m, UTC_ZONE) == day)
    html = client.get("/matches", params={"from": day.isoformat(), "to": day.isoformat()}).text
    assert f"{expected} match(es)" in html and "Published from" in html and "(UTC)" in html
    assert len(re.findall(r"published 2024-11-19 \d\d:\d\d UTC", html)) == expected


def test_matches_filter_days_are_in_the_configured_zone(client: TestClient, tokyo_client: TestClient) -> None:
    matches = all_matches(client)
    shifted = [m for m in matches if published_day(m, TOKYO) != published_day(m, UTC_ZONE)]
    assert shifted, "the demo has articles published after 15:00 UTC (the next day in Tokyo)"
    by_tokyo_day = Counter(published_day(m, TOKYO) for m in matches)
    for day in by_tokyo_day:
        got = tokyo_client.get("/api/matches", params={"from": day.isoformat(), "to": day.isoformat(),
                                                       "limit": 500}).json()
        assert got["total"] == by_tokyo_day[day], day
        assert {published_day(m, TOKYO) for m in got["items"]} == {day}
    html = tokyo_client.get("/matches").text
    assert "(Asia/Tokyo)" in html and " JST" in html


def test_overview_chart_counts_matches_per_publication_day(client: TestClient, db: Database,
                                                            tokyo_client: TestClient) -> None:
    matches = all_matches(client)
    for zone, page_client in ((UTC_ZONE, client), (TOKYO, tokyo_client)):
        expected: dict[str, Counter[date]] = {}
        for m in matches:
            expected.setdefault(m["watchlist"], Counter())[published_day(m, zone)] += 1
        overview = Dashboard(db, zone).overview(SEED_NOW)
        assert overview.chart_days[-1] == SEED_NOW.astimezone(zone).date() and len(overview.chart_days) == 14
        assert {w: dict(c) for w, c in expected.items()} == {w: dict(c) for w, c in overview.matches_per_day.items()}
        html = page_client.get("/").text
        assert f"Matches per publication day per watchlist (last 14 days, {zone.key})" in html
        for watchlist, days in expected.items():
            for day, count in days.items():
                assert f"<title>{watchlist} {day.isoformat()}: {count}</title>" in html


def test_overview_chart_leaves_out_what_was_published_before_the_window(db: Database) -> None:
    # Two weeks on, the demo's articles (published 2024-11-15 to 20) have left the 14-day window.
    later = Dashboard(db).overview(SEED_NOW + timedelta(days=14))
    assert later.matches_per_day == {}
    assert Dashboard(db).overview(SEED_NOW + timedelta(days=5)).matches_per_day, "the 20th is still in"


def test_query_window_is_the_last_days_by_publication(client: TestClient) -> None:
    everything = client.get("/api/query", params={"q": "Kalin OR Kalın OR hostages", "days": 3650}).json()
    days = {date.fromisoformat(d) for d in everything["per_day"]}
    assert min(days) < date(2024, 11, 19) and all(d <= SEED_NOW.date() for d in days)
    for window in (1, 2, 3, 4, 7):
        first = SEED_NOW.date() - timedelta(days=window - 1)
        body = client.get("/api/query", params={"q": "Kalin OR Kalın OR hostages", "days": window}).json()
        expected = {d: n for d, n in everything["per_day"].items() if date.fromisoformat(d) >= first}
        assert body["per_day"] == expected, window
        assert body["total"] == sum(expected.values())


def test_query_page_counts_by_publication_day_and_points_at_older_articles(client: TestClient) -> None:
    html = client.get("/query", params={"q": "Kalin OR Kalın", "days": 7}).text
    assert "matched among those published in the last 7 days" in html
    assert "Hits per publication day (UTC)" in html
    bars = re.findall(r"<title>hits (\d{4}-\d\d-\d\d): (\d+)</title>", html)
    assert bars and all(date.fromisoformat(d) <= SEED_NOW.date() for d, _ in bars)

    nothing = client.get("/query", params={"q": "Kalin OR Kalın", "days": 1}).text
    assert "0 article(s) matched among those published in the last 1 days" in nothing
    older = re.search(r'id="query-older">(\d+) stored article\(s\) were published before 2024-11-21 '
                      r'\(the oldest on (\d{4}-\d\d-\d\d)\): <a href="([^"]+)"', nothing)
    assert older, nothing
    oldest = date.fromisoformat(older.group(2))
    needed = (SEED_NOW.date() - oldest).days + 1
    assert older.group(3).endswith(f"days={needed}")
    widened = client.get("/query", params={"q": "Kalin OR Kalın", "days": needed}).text
    assert "0 article(s) matched" not in widened and 'id="query-older"' not in widened


def test_relative_times_are_on_the_app_clock(client: TestClient) -> None:
    # The demo was polled at SEED_NOW and the app's clock says SEED_NOW: "0s ago", whatever the date today.
    html = client.get("/feeds").text
    assert html.count("0s ago") >= 2 * 9, "last poll and last success of the nine feeds"
    assert re.search(r'<span class="num small">0s ago</span><span class="label">last poll</span>', client.get("/").text)
