"""Feeds from the browser: probe a pasted URL against a real local HTTP server, preview, save, edit, pause, remove."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from monitor.config import load_config
from monitor.config.models import Config
from monitor.errors import EditRefused, FetchError, StaleFile
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.usecases.feed_admin import (
    FeedDraft,
    add_feed,
    edit_feed,
    open_feeds,
    probe,
    remove_feed,
    suggest_id,
)
from tests.support.feedserver import FeedServer, Route, running_feed_server
from tests.web.editor_fixtures import Editable
from tests.web.seed import seed_clock

PAGE = b"""<!doctype html><html><head><title>Anatolia Daily</title>
<link rel="alternate" type="application/rss+xml" title="News" href="/feed.xml">
</head><body><p>Welcome</p></body></html>"""
FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Anatolia Daily News</title><link>http://example.org/</link>
<language>en</language>
<item><title>Ibrahim Kalin meets envoys in Ankara</title><link>http://example.org/a1</link>
<guid>a1</guid><description>The Turkish intelligence chief met envoys.</description></item>
<item><title>Weather: a sunny weekend</title><link>http://example.org/a2</link><guid>a2</guid>
<description>Nothing to see.</description></item>
</channel></rss>"""


@pytest.fixture
def site() -> Iterator[FeedServer]:
    """A local site: an HTML page advertising its feed, and the feed."""
    with running_feed_server() as server:
        server.routes["/"] = Route(PAGE, content_type="text/html; charset=utf-8")
        server.routes["/feed.xml"] = Route(FEED)
        yield server


def _private_refused(config: Config) -> Config:
    fetch = config.settings.fetch.model_copy(update={"allow_private_networks": False})
    return config.model_copy(update={"settings": config.settings.model_copy(update={"fetch": fetch})})


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_a_page_offers_its_feed_links_and_a_feed_previews_its_items_and_matches(
        editable: Editable, site: FeedServer) -> None:
    page = asyncio.run(probe(site.url("/"), editable.config))
    assert not page.is_feed and page.links == [site.url("/feed.xml")]
    feed = asyncio.run(probe(page.links[0], editable.config))
    assert feed.is_feed and feed.title == "Anatolia Daily News" and feed.suggested_id == "anatolia-daily-news"
    first, second = feed.items
    assert "mena-security/ibrahim-kalin" in first.matches and second.matches == ()


def test_a_page_without_feed_links_is_refused_with_the_parse_message(editable: Editable) -> None:
    with running_feed_server() as server:
        server.routes["/plain"] = Route(b"<html><head><title>x</title></head><body>hi</body></html>",
                                        content_type="text/html")
        with pytest.raises(EditRefused, match="advertises no feed"):
            asyncio.run(probe(server.url("/plain"), editable.config))


def test_a_private_address_is_refused_as_polling_refuses_it(editable: Editable, site: FeedServer) -> None:
    with pytest.raises(FetchError) as caught:
        asyncio.run(probe(site.url("/"), _private_refused(editable.config)))
    assert caught.value.kind == "blocked_address"
    assert site.hits("/") == []  # refused before connecting


def test_saving_appends_the_feed_and_keeps_feeds_yaml_comments(editable: Editable) -> None:
    opened = open_feeds(editable.config_dir)
    draft = FeedDraft(url="https://example.org/feed.xml", id="anatolia-daily", name="Anatolia Daily",
                      interval="30m", tags=["turkey", "english"], language="en")
    assert add_feed(editable.config_dir, {}, draft, opened.sha256) == "anatolia-daily"
    text = (editable.config_dir / "feeds.yaml").read_text(encoding="utf-8")
    assert text.startswith(opened.text.rstrip("\n"))  # everything before, comments included, byte for byte
    assert "# stable id used in the database and in alerts" in text
    feed = next(f for f in load_config(editable.config_dir, {}).config.feeds if f.id == "anatolia-daily")
    assert feed.interval == timedelta(minutes=30) and feed.tags == ("turkey", "english") and feed.language == "en"
    with pytest.raises(EditRefused, match="already has this feed"):
        add_feed(editable.config_dir, {}, draft, open_feeds(editable.config_dir).sha256)


def test_a_stale_or_invalid_save_is_refused_and_writes_nothing(editable: Editable) -> None:
    opened = open_feeds(editable.config_dir)
    draft = FeedDraft(url="https://example.org/feed.xml", id="x-feed")
    with pytest.raises(StaleFile):
        add_feed(editable.config_dir, {}, draft, "0" * 64)
    with pytest.raises(EditRefused, match="would not pass `monitor check`") as caught:
        add_feed(editable.config_dir, {}, FeedDraft(url="https://example.org/f", id="Bad Id!"), opened.sha256)
    assert caught.value.problems
    assert open_feeds(editable.config_dir).text == opened.text


def test_a_paused_feed_is_not_polled_and_unpausing_makes_it_due(editable: Editable) -> None:
    directory = editable.config_dir
    edit_feed(directory, {}, "levant-wire", FeedDraft(url="", tags=["mena"], paused=True), open_feeds(directory).sha256)
    config = load_config(directory, {}).config
    assert next(f for f in config.feeds if f.id == "levant-wire").paused
    db = Database(editable.database_url)
    try:
        feeds = FeedRepository(db)
        now = seed_clock() + timedelta(days=1)
        feeds.sync(config.feeds, now)
        claimed = {c.id for c in feeds.claim_due("test", now, limit=100, lease=timedelta(minutes=5))}
        assert "levant-wire" not in claimed and "gulf-observer" in claimed
        assert {h.id: h.state for h in feeds.health(now)}["levant-wire"] == "paused"  # not "removed"
        edit_feed(directory, {}, "levant-wire", FeedDraft(url="", tags=["mena"]), open_feeds(directory).sha256)
        feeds.sync(load_config(directory, {}).config.feeds, now)
        claimed = {c.id for c in feeds.claim_due("test2", now, limit=100, lease=timedelta(minutes=5))}
        assert "levant-wire" in claimed
        assert {h.id: h.state for h in feeds.health(now)}["levant-wire"] == "active"
    finally:
        db.dispose()
    remove_feed(directory, {}, "levant-wire", open_feeds(directory).sha256)
    assert "levant-wire" not in {f.id for f in load_config(directory, {}).config.feeds}


def test_suggested_ids_come_from_the_title() -> None:
    assert suggest_id("Le Monde — International!", "https://lemonde.fr/rss") == "le-monde-international"
    assert suggest_id("", "https://www.lemonde.fr/rss").startswith("lemonde-fr-")


def test_add_a_feed_over_http_from_a_site_url(app_client: TestClient, editable: Editable, site: FeedServer) -> None:
    html = app_client.get("/feeds/new", params={"url": site.url("/")}).text
    assert re.search(r'<a class="feed-link" href="/feeds/new\?url=[^"]+">' + re.escape(site.url("/feed.xml")), html)
    html = app_client.get("/feeds/new", params={"url": site.url("/feed.xml")}).text
    assert "Ibrahim Kalin meets envoys" in html and "mena-security/ibrahim-kalin" in html
    fields = _hidden(html)
    assert fields["url"] == site.url("/feed.xml")
    answer = app_client.post("/feeds/new", data={**fields, "id": "anatolia", "name": "Anatolia Daily",
                                                 "interval": "20m", "tags": "turkey, english"},
                             follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/feeds/anatolia/edit?saved=added"
    assert "anatolia" in {f.id for f in load_config(editable.config_dir, {}).config.feeds}
    again = app_client.post("/feeds/new", data={**fields, "id": "other"})  # the hash is the old file's
    assert again.status_code == 409 and "changed on disk" in again.text
    forged = app_client.post("/feeds/new", data={**fields, "csrf_token": "nope"})
    assert forged.status_code == 403


def test_a_private_address_is_refused_over_http(app_client: TestClient, editable: Editable, site: FeedServer) -> None:
    monitor_yaml = editable.config_dir / "monitor.yaml"
    monitor_yaml.write_text(monitor_yaml.read_text(encoding="utf-8").replace(
        "allow_private_networks: true", "allow_private_networks: false"), encoding="utf-8")
    answer = app_client.get("/feeds/new", params={"url": site.url("/")})
    assert answer.status_code == 422 and "blocked_address" in answer.text and site.hits("/") == []


def test_edit_pause_and_remove_over_http(app_client: TestClient, editable: Editable) -> None:
    html = app_client.get("/feeds/gulf-observer/edit").text
    fields = _hidden(html)
    answer = app_client.post("/feeds/gulf-observer/edit", data={**fields, "interval": "2m", "tags": "gulf",
                                                                 "paused": "1"}, follow_redirects=False)
    assert answer.status_code == 303
    feed = next(f for f in load_config(editable.config_dir, {}).config.feeds if f.id == "gulf-observer")
    assert feed.paused and feed.tags == ("gulf",) and feed.interval == timedelta(minutes=2)
    fields = _hidden(app_client.get("/feeds/gulf-observer/edit").text)
    assert app_client.post("/feeds/gulf-observer/remove", data=fields).status_code == 422  # not confirmed
    removed = app_client.post("/feeds/gulf-observer/remove", data={**fields, "confirm": "yes"},
                              follow_redirects=False)
    assert removed.status_code == 303
    assert "gulf-observer" not in {f.id for f in load_config(editable.config_dir, {}).config.feeds}
    assert app_client.get("/feeds/gulf-observer/edit").status_code == 404


def test_opml_export_and_import_over_http(app_client: TestClient, editable: Editable) -> None:
    exported = app_client.get("/feeds/export.opml")
    assert exported.status_code == 200 and "levant-wire.xml" in exported.text and "<opml" in exported.text
    opml = (b'<?xml version="1.0"?><opml version="2.0"><head/><body>'
            b'<outline text="Tech" title="Tech"><outline type="rss" text="New one" xmlUrl="https://new.example/rss"/>'
            b'</outline></body></opml>') + b"\n"
    token = _hidden(app_client.get("/feeds/import").text)["csrf_token"]
    answer = app_client.post("/feeds/import", data={"csrf_token": token},
                             files={"opml": ("feeds.opml", exported.content.replace(b"</body>", opml.split(
                                 b"<body>")[1].split(b"</body>")[0] + b"</body>"), "text/x-opml")})
    assert answer.status_code == 200, answer.text
    assert "Added 1 feed(s)" in answer.text and "https://new.example/rss" in answer.text
    assert "already in feeds.yaml" in answer.text
    feeds = {f.url for f in load_config(editable.config_dir, {}).config.feeds}
    assert "https://new.example/rss" in feeds
    forged = app_client.post("/feeds/import", data={"csrf_token": "x"}, files={"opml": ("a.opml", opml, "text/xml")})
    assert forged.status_code == 403
