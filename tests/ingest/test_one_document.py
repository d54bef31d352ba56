"""One Document per article: live matching, backtest, `monitor match` and the article page see the same one.

The same article must give the same source, fields and highlight offsets whichever way it is matched,
or a `source:` query means one thing live and another in a backtest, and the article page marks the
wrong words. Each path runs for real here: the poller over local feed files into SQLite and
PostgreSQL, the backtest over what it stored, `monitor match` over the same files, and the dashboard.
"""

from __future__ import annotations

import asyncio
import json
import re
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import Markup
from sqlalchemy import select

from monitor.commands.match import run_match
from monitor.config import load_config
from monitor.config.models import Config
from monitor.match.documents import FeedLabel, document_for
from monitor.parse import parse_feed
from monitor.refresh.poller import FeedPoller
from monitor.refresh.runtime import Runtime
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.migrate import upgrade
from monitor.store.rows import MatchRow
from monitor.usecases.backtest import backtest
from monitor.web.app import create_app
from monitor.web.render import highlight_text

DAYS = 3650  # the articles are first seen now (wall clock): any window that includes today

WATCHLIST = """
name: Parity
topics:
  - id: alpha-ceasefire
    name: Alpha Wire on the ceasefire
    query: 'source:"Alpha Wire" AND ceasefire'
  - id: observer-hostages
    name: The Gulf Observer on hostages
    query: 'source:"Gulf Observer" AND hostages'
  - id: untitled-ceasefire
    name: A feed with neither name nor title
    query: 'source:"untitled-feed" AND ceasefire'
  - id: delta-anything
    name: Anything Delta Daily carries
    query: 'source:"Delta Daily" AND (ceasefire OR hostages)'
  - id: every-field
    name: A hit in every field
    query: 'title:ceasefire AND body:hostages AND author:haddad AND url:cairo AND source:wire AND tag:mena'
actors:
  - id: kalin
    name: Ibrahim Kalin
    aliases: ["İbrahim Kalın"]
"""


def rss(title: str | None, items: list[dict[str, str]]) -> str:
    channel_title = f"<title>{title}</title>" if title is not None else ""
    entries = "".join(
        f"<item><guid isPermaLink='false'>{i['guid']}</guid><title>{i['title']}</title><link>{i['link']}</link>"
        f"<dc:creator>{i.get('author', '')}</dc:creator><description><![CDATA[{i['summary']}]]></description>"
        f"<content:encoded><![CDATA[{i.get('content', '')}]]></content:encoded></item>"
        for i in items
    )
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
            "xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
            f"<channel>{channel_title}<link>https://feeds.example/</link>{entries}</channel></rss>")


CAIRO = {
    "guid": "alpha-1", "title": "Ceasefire talks resume in Cairo", "author": "Karim Haddad",
    "link": "https://alpha.example/2025/cairo-ceasefire-talks",
    # The summary is not part of the content: the body is both, and the offsets run across the join.
    "summary": "<p>Mediators met again on Tuesday.</p>",
    "content": "<p>İbrahim Kalın said the ceasefire could free the hostages; “hostages’ families” waited.</p>"
               "<p>A second paragraph mentions the ceasefire again.</p>",
}
FEEDS = {
    "alpha.xml": rss("Alpha Wire (RSS)", [CAIRO]),
    "observer.xml": rss("  The Gulf Observer  ", [{
        "guid": "obs-1", "title": "Families of hostages march", "link": "https://observer.example/hostages-march",
        "summary": "<p>Thousands marched for the hostages and a ceasefire.</p>",
    }]),
    "untitled.xml": rss(None, [{
        "guid": "untitled-1", "title": "A ceasefire note", "link": "https://untitled.example/note",
        "summary": "<p>The ceasefire held overnight.</p>",
    }]),
}
FEEDS_YAML = """
feeds:
  - url: alpha.xml
    id: alpha
    name: Alpha Wire
    tags: [mena]
  - url: observer.xml
    id: observer
  - url: untitled.xml
    id: untitled-feed
"""
# The same story (same guid) carried later by another feed, with changed text: re-matched, it keeps its
# first feed's source.
DELTA_FEED = """
  - url: delta.xml
    id: delta
    name: Delta Daily
"""
DELTA = rss("Delta", [{**CAIRO, "content": CAIRO["content"] + "<p>Updated: the hostages were named.</p>"}])


class Setup:
    """A configuration of local feeds, a database, and the service's poller."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.config_dir = root / "config"
        (self.config_dir / "watchlists").mkdir(parents=True)
        (self.config_dir / "monitor.yaml").write_text(
            f"database: {database_url}\nallow_local_feeds: true\n", encoding="utf-8")
        (self.config_dir / "watchlists" / "parity.yaml").write_text(textwrap.dedent(WATCHLIST), encoding="utf-8")
        for name, text in {**FEEDS, "delta.xml": DELTA}.items():
            (self.config_dir / name).write_text(text, encoding="utf-8")
        self.write_feeds(FEEDS_YAML)
        self.db = Database(database_url)
        upgrade(self.db)

    def write_feeds(self, text: str) -> None:
        (self.config_dir / "feeds.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        self.config: Config = load_config(self.config_dir, {}).config

    def poll(self) -> None:
        """What `monitor run` does for the due feeds (the wall clock throughout, as the backtest's window)."""
        runtime = Runtime.build(self.config)
        FeedRepository(self.db).sync(self.config.feeds, datetime.now(UTC))
        poller = FeedPoller(self.db, lambda: runtime, owner="test", parse_workers=0)
        summary = asyncio.run(poller.poll_due())
        assert summary.errors == 0, summary

    def stored(self) -> dict[tuple[str, str], list[dict[str, object]]]:
        """(article id, entry) -> the highlights live matching stored."""
        with self.db.sessions() as session:
            return {(m.article_id, m.entry_id): list(m.highlights) for m in session.scalars(select(MatchRow))}

    def backtested(self) -> dict[tuple[str, str], list[dict[str, object]]]:
        """(article id, entry) -> the highlights a backtest of each entry finds."""
        found = {}
        for entry in ("alpha-ceasefire", "observer-hostages", "untitled-ceasefire", "delta-anything", "every-field",
                      "kalin"):
            for hit in backtest(self.config, self.db, f"parity/{entry}", days=DAYS, now=datetime.now(UTC)):
                found[(hit.article_id, entry)] = [h.to_json() for h in hit.match.highlights]
        return found

    def matched_by_command(self, *sources: str) -> dict[tuple[str, str], list[dict[str, object]]]:
        """(article id, entry) -> the highlights `monitor match --json` prints for these files."""
        lines: list[str] = []
        run_match(self.config, [str(self.config_dir / s) for s in sources], watchlists=None, as_json=True,
                  out=lines.append, err=lines.append)
        found = {}
        for line in lines:
            record = json.loads(line)
            for match in record["matches"]:
                found[(record["article"]["id"], match["id"])] = match["highlights"]
        return found


@pytest.fixture
def setup(tmp_path: Path, database_url: str) -> Iterator[Setup]:
    made = Setup(tmp_path, database_url)
    yield made
    made.db.dispose()


def test_live_backtest_match_and_page_see_the_same_document(setup: Setup) -> None:
    setup.poll()
    live = setup.stored()
    # Every rule of the source: the configured name, else the feed's own title, else its id.
    entries = {entry for _, entry in live}
    assert {"alpha-ceasefire", "observer-hostages", "untitled-ceasefire", "every-field", "kalin"} <= entries
    assert "delta-anything" not in entries
    fields = {h["field"] for highlights in live.values() for h in highlights}
    assert fields == {"title", "body", "author", "url", "source"}, "every field is compared"
    assert setup.backtested() == live
    assert setup.matched_by_command("alpha.xml", "observer.xml", "untitled.xml") == live
    # An ad-hoc `source:` query finds the same articles live matching labelled so.
    assert {hit.article_id for hit in backtest(setup.config, setup.db, 'source:"Gulf Observer"', days=DAYS, now=datetime.now(UTC))} == {
        article for article, entry in live if entry == "observer-hostages"}
    # The article page marks the live highlights in the live Document's text.
    parsed = parse_feed((setup.config_dir / "alpha.xml").read_bytes(), base_url=setup.config.feeds[0].url,
                        content_type=None)
    [article] = parsed.articles
    document = document_for(article, FeedLabel("Alpha Wire", frozenset({"mena"})))
    highlights = [h for (article_id, _), hs in live.items() if article_id == article.id for h in hs]
    assert any(h["field"] == "body" and h["start"] > len("Mediators met again on Tuesday.") for h in highlights)
    with TestClient(create_app(setup.config, setup.db), base_url="http://127.0.0.1") as client:
        page = client.get(f"/articles/{article.id}").text
        api = client.get(f"/api/articles/{article.id}").json()
    # The API gives the strings its highlights index.
    assert (api["body"], api["source"]) == (document.body, document.source)
    for match in api["matches"]:
        for h in match["highlights"]:
            text = {"body": api["body"], "source": api["source"], "title": api["title"], "url": api["url"]}.get(
                h["field"], document.author)
            assert text[h["start"]:h["end"]] == h["text"], h
    body = re.search(r'<div class="text" id="article-text">(.*?)</div>', page, re.S)
    title = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert body and title
    assert body.group(1) == str(highlight_text(document.body, highlights, "body"))
    assert title.group(1) == str(highlight_text(document.title, highlights, "title"))
    assert body.group(1).count("<mark>") >= 3 and Markup(body.group(1)).striptags() == Markup(
        highlight_text(document.body, [], "body")).striptags()


def test_an_article_updated_through_another_feed_keeps_its_first_feeds_document(setup: Setup) -> None:
    setup.poll()
    setup.write_feeds(FEEDS_YAML + DELTA_FEED)
    setup.poll()  # only delta is due: it carries the Cairo story again, with more text
    live = setup.stored()
    cairo = next(article for article, entry in live if entry == "alpha-ceasefire")
    assert (cairo, "delta-anything") not in live, "the re-matched story's source is still Alpha Wire"
    body = next(h for h in live[(cairo, "every-field")] if h["field"] == "body")
    assert body["start"] > 0
    assert setup.backtested() == live
