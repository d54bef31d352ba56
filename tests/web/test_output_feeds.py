"""Output feeds: each watchlist and subscriber as Atom and JSON Feed 1.1 at an unguessable URL, open to feed readers
(the token is the authorisation), nothing of another scope in them, a wrong token a 404."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import jsonschema
from fastapi.testclient import TestClient

from monitor.store.db import Database
from monitor.usecases.output_feeds import OutputFeed, feed_token, feeds_secret, output_feeds
from tests.web.conftest import authed_client
from tests.web.seed import Seeded

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
TOKEN = "dashboard-token-for-tests-0123456789"


def feeds_of(seeded: Seeded, db: Database) -> dict[tuple[str, str], OutputFeed]:
    return {(f.kind, f.id): f for f in output_feeds(seeded.config, feeds_secret(db))}


def path(feed: OutputFeed, extension: str) -> str:
    return f"/feeds/{feed.token}.{extension}"


def locked(seeded: Seeded, db: Database) -> TestClient:
    """The dashboard with a sign-in required; the test's requests carry no credentials (as a feed reader's)."""
    return authed_client(seeded, db, token=TOKEN)


def test_a_watchlist_feed_reads_back_as_atom_and_json_feed_without_credentials(seeded: Seeded, db: Database) -> None:
    feed = feeds_of(seeded, db)[("watchlist", "mena-security")]
    client = locked(seeded, db)
    atom = client.get(path(feed, "atom"))
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and parsed.feed.title == "monitor: MENA security"
    assert parsed.entries, "the demo's MENA matches are in the feed"
    for entry in parsed.entries:
        assert entry.title and entry.link.startswith("http") and entry.published_parsed and entry.author
        assert entry.tags and all(t.term.startswith("mena-security/") for t in entry.tags)
        # Three <strong>: the outlet, the entry, and at least one matched word (its <mark> feedparser drops).
        assert entry.content[0].value.count("<strong>") >= 3, "the matched words are marked"
        assert "<script" not in entry.content[0].value
    json_feed = client.get(path(feed, "json"))
    assert json_feed.status_code == 200 and json_feed.headers["content-type"].startswith("application/feed+json")
    document = json_feed.json()
    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.validate(document)
    assert not validator.is_valid({**document, "version": "https://jsonfeed.org/version/1"}), "the schema checks"
    assert not validator.is_valid({**document, "items": [{"id": "x", "title": "no content"}]})
    assert [i["title"] for i in document["items"]] == [e.title for e in parsed.entries]
    assert document["feed_url"].endswith(path(feed, "json"))
    assert all("<mark><strong>" in item["content_html"] for item in document["items"])
    again = client.get(path(feed, "atom"), headers={"If-None-Match": atom.headers["etag"]})
    assert again.status_code == 304 and not again.content, "an unchanged feed is a 304 for the reader"


def test_feeds_do_not_leak_other_scopes(seeded: Seeded, db: Database) -> None:
    feeds = feeds_of(seeded, db)
    client = locked(seeded, db)
    energy = feedparser.parse(client.get(path(feeds[("watchlist", "energy-shipping")], "atom")).content)
    assert energy.entries and all(t.term.startswith("energy-shipping/") for e in energy.entries for t in e.tags)
    # The energy analyst follows energy-shipping and one MENA topic: no other MENA entry shows.
    analyst = client.get(path(feeds[("subscriber", "energy-analyst")], "json")).json()
    jsonschema.Draft202012Validator(SCHEMA).validate(analyst)
    mena = feedparser.parse(client.get(path(feeds[("watchlist", "mena-security")], "atom")).content)
    mena_names = {t.label for e in mena.entries for t in e.tags if t.term != "mena-security/hostage-talks"}
    analyst_tags = {tag for item in analyst["items"] for tag in item["tags"]}
    assert analyst_tags and not analyst_tags & mena_names
    for item in analyst["items"]:
        assert not any(f"<li><strong>{name}</strong>" in item["content_html"] for name in mena_names)


def test_a_wrong_token_is_a_404_and_the_admin_pages_stay_closed(seeded: Seeded, db: Database) -> None:
    feeds = feeds_of(seeded, db)
    client = locked(seeded, db)
    real = feeds[("watchlist", "mena-security")].token
    wrong = ("0" if real[0] != "0" else "1") + real[1:]
    for url in (f"/feeds/{wrong}.atom", f"/feeds/{wrong}.json", f"/feeds/{'f' * 32}.atom"):
        response = client.get(url)
        assert response.status_code == 404 and "mena" not in response.text.lower()
    assert client.get("/feeds/new", follow_redirects=False).status_code in (303, 401)
    assert client.get("/feeds/short.atom", follow_redirects=False).status_code in (303, 401)


def test_tokens_are_stable_unguessable_and_distinct(seeded: Seeded, db: Database) -> None:
    first = feeds_of(seeded, db)
    again = feeds_of(seeded, Database(seeded.database_url))  # another process: the key is in the database
    assert {k: f.token for k, f in first.items()} == {k: f.token for k, f in again.items()}
    tokens = [f.token for f in first.values()]
    assert len(set(tokens)) == len(tokens) and all(len(t) == 32 for t in tokens)
    assert first[("watchlist", "mena-security")].token != feed_token(b"another key", "watchlist", "mena-security")
    assert ("subscriber", "mena-desk") in first and ("watchlist", "energy-shipping") in first


def test_the_watchlists_page_and_the_command_show_the_feed_urls(seeded: Seeded, db: Database, client: TestClient) -> None:
    from click.testing import CliRunner

    from monitor.cli import main
    from monitor.clock import CommandContext
    from tests.web.seed import seed_clock

    feeds = feeds_of(seeded, db)
    page = client.get("/watchlists")
    assert page.status_code == 200
    for feed in feeds.values():
        assert feed.url(seeded.config.settings.base_url, "atom") in page.text
    env = {"MONITOR_DATABASE_URL": seeded.database_url}
    listed = CliRunner().invoke(main, ["output-feeds", "--json", "--config", str(seeded.config_dir)], env=env,
                                obj=CommandContext(clock=seed_clock))
    assert listed.exit_code == 0, listed.output
    rows = {(r["scope"], r["id"]): r for r in map(json.loads, listed.output.splitlines())}
    assert rows.keys() == feeds.keys()
    assert rows[("watchlist", "mena-security")]["json"].endswith(path(feeds[("watchlist", "mena-security")], "json"))
