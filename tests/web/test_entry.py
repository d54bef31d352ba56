"""The entry page: hourly and daily series with spikes marked, the spike alerts raised, links to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from monitor.config.models import Config
from monitor.store.db import Database
from monitor.store.migrate import upgrade
from monitor.usecases.spikes import SpikeTicker
from monitor.web.app import create_app
from tests.spikes.history import TODAY, add_story, config, quiet_history
from tests.web.conftest import LOCAL_BASE_URL

NOW = TODAY + timedelta(hours=12, minutes=40)


def seed_entry(db: Database, tmp_path: Path) -> Config:
    """Three weeks of a quiet entry, then a surge at noon today (one story carried by 9 outlets) and its alert."""
    upgrade(db)
    cfg = config(tmp_path, "fidan", "other")
    quiet_history(db, "fidan")
    noon = TODAY + timedelta(hours=12)
    add_story(db, ["fidan"], noon + timedelta(minutes=1), outlets=9, title="Fidan meets Hamas delegation in Doha")
    for i in range(11):
        add_story(db, ["fidan"], noon + timedelta(minutes=2 + i), title=f"Fidan story {i}")
    add_story(db, ["fidan"], noon + timedelta(minutes=20), copies=4, title="Syndicated Fidan interview")
    [raised] = SpikeTicker(db).tick(cfg, noon + timedelta(minutes=30))
    assert raised.entry_id == "fidan"
    return cfg


@pytest.fixture
def entry_client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    db = Database(database_url)
    cfg = seed_entry(db, tmp_path)
    with TestClient(create_app(cfg, db, clock=lambda: NOW), base_url=LOCAL_BASE_URL) as client:
        yield client
    db.dispose()


def test_the_entry_page_shows_the_series_with_the_spike_marked(entry_client: TestClient) -> None:
    response = entry_client.get("/entries/w/fidan")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Fidan</h1>" in html and html.count('<svg class="chart volume"') == 2
    # The surge hour: 13 stories (the syndicated one once), 16 articles, in red with a marker, in both charts.
    assert re.search(r'<rect class="spike"[^>]*><title>15 12h: 13 stories, 16 articles \(spike\)</title>', html)
    assert html.count('class="spike-mark"') == 2
    assert re.search(r"<title>12-14: 4 stories, 4 articles</title>", html), "a quiet day"
    alerts = re.findall(r'<tr id="(spk_\w+)">', html)
    assert len(alerts) == 1
    assert "13 stories in the hour, usually 1" in html
    assert 'href="https://news.test/' in html and "Fidan meets Hamas delegation in Doha</a> <span class=\"sub\">9 outlets" in html
    assert "monitor spikes w/fidan" in html and "Spike detection on: at least 5 stories" in html


def test_an_entry_without_spikes_and_an_unknown_entry(entry_client: TestClient) -> None:
    html = entry_client.get("/entries/w/other").text
    assert "No spike alert was raised" in html and html.count('class="spike"') == 0
    assert entry_client.get("/entries/w/nobody").status_code == 404
    assert entry_client.get("/entries/nowhere/fidan").status_code == 404


def test_entries_are_linked_from_matches_and_articles(client: TestClient) -> None:
    html = client.get("/matches").text
    links = sorted(set(re.findall(r'href="(/entries/[^"]+)"', html)))
    assert links, "each match links to its entry's page"
    for link in links[:3]:
        page = client.get(link)
        assert page.status_code == 200 and "Per hour" in page.text, link
    article = re.search(r'href="(/articles/[^"]+)"', html)
    assert article and "/entries/" in client.get(article.group(1)).text


def test_the_time_is_the_clock_s(entry_client: TestClient) -> None:
    html = entry_client.get("/entries/w/fidan").text
    assert re.search(r"<title>15 12h:", html) and not re.search(r"<title>15 13h:", html), "the chart ends at the clock's hour"
