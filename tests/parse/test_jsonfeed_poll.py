"""A JSON Feed polled by the FeedPoller from a real local HTTP server: stored, matched, routed, kind recorded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.commands.tables import print_feeds
from monitor.config.loader import load_config
from monitor.refresh.poller import FeedPoller
from monitor.refresh.runtime import Runtime
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow, MatchRow, RoutedItem
from tests.support.feedserver import FeedServer, Route, running_feed_server

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures" / "jsonfeed"
WATCHLIST = "name: MENA\nactors:\n  - id: qatar\n    name: Qatar\n    kind: place\n"
RSS = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>Plain</title><item><guid>plain-guid-000001</guid>"
    b"<title>Weather</title><description>Sunny.</description></item></channel></rss>"
)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        yield running


def setup(root: Path, database_url: str, feeds: dict[str, str]) -> tuple[Database, FeedPoller]:
    config = root / "config"
    (config / "watchlists").mkdir(parents=True)
    (config / "monitor.yaml").write_text(
        f"database: {database_url}\nemail:\n  transport: file\n  outbox_dir: {root / 'outbox'}\n"
        "fetch:\n  allow_private_networks: true\n  timeout: 10s\n", encoding="utf-8",
    )
    lines = "".join(f"  - url: {url}\n    id: {name}\n    name: {name}\n" for name, url in feeds.items())
    (config / "feeds.yaml").write_text(f"feeds:\n{lines}", encoding="utf-8")
    (config / "watchlists" / "mena.yaml").write_text(WATCHLIST, encoding="utf-8")
    (config / "subscribers.yaml").write_text(
        "subscribers:\n  - id: desk\n    email: desk@test.example\n    watchlists: [mena]\n    schedule: immediate\n",
        encoding="utf-8",
    )
    runtime = Runtime.build(load_config(config, {}).config)
    db = Database(database_url)
    upgrade(db)
    FeedRepository(db).sync(runtime.config.feeds, NOW)
    return db, FeedPoller(db, lambda: runtime, owner="test", clock=lambda: NOW, parse_workers=0)


def test_a_json_feed_is_polled_stored_and_matched(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    server.routes["/feed.json"] = Route(
        (FIXTURES / "valid-1.1.json").read_bytes(), content_type="application/feed+json"
    )
    server.routes["/plain.xml"] = Route(RSS)
    db, poller = setup(tmp_path, database_url, {"levant": server.url("/feed.json"), "plain": server.url("/plain.xml")})
    try:
        summary = asyncio.run(poller.poll_due())
        assert summary.errors == 0 and summary.new_articles == 3
        with db.sessions() as session:
            titles = set(session.scalars(select(ArticleRow.title)))
            assert "Qatar keeps Gaza mediation on hold" in titles
            qatar = session.scalar(select(ArticleRow).where(ArticleRow.title == "Qatar keeps Gaza mediation on hold"))
            assert qatar is not None and "<script" not in qatar.content_html
            matched = set(session.execute(select(MatchRow.article_id, MatchRow.entry_id)).all())
            assert (qatar.id, "qatar") in matched
            assert session.scalars(select(RoutedItem.article_id)).all() == [qatar.id]
        kinds = {f.id: f.kind for f in FeedRepository(db).health(NOW)}
        assert kinds == {"levant": "json", "plain": "rss"}
        lines: list[str] = []
        print_feeds(db, as_json=False, now=NOW, out=lines.append)
        table = "\n".join(lines).splitlines()
        assert table[0].split()[:3] == ["feed", "kind", "state"]
        assert any(line.split()[:2] == ["levant", "json"] for line in table)
        lines.clear()
        print_feeds(db, as_json=True, now=NOW, out=lines.append)
        assert {json.loads(line)["kind"] for line in lines} == {"json", "rss"}
    finally:
        poller.close()
        db.dispose()


def test_a_hostile_json_feed_is_a_parse_error_on_the_feed(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    server.routes["/deep.json"] = Route(
        (FIXTURES / "hostile-deep.json").read_bytes(), content_type="application/feed+json"
    )
    db, poller = setup(tmp_path, database_url, {"deep": server.url("/deep.json")})
    try:
        summary = asyncio.run(poller.poll_due())
        assert summary.errors == 1
        (health,) = FeedRepository(db).health(NOW)
        assert health.error_kind == "parse_error" and "deeper than" in (health.error_message or "")
        assert health.kind is None
    finally:
        poller.close()
        db.dispose()
