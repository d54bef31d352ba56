"""FeedPoller with clusters and full text, against a real local feed server (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config.loader import load_config
from monitor.refresh.poller import FeedPoller
from monitor.refresh.runtime import Runtime
from monitor.store.clusters import cluster_feeds
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.migrate import upgrade
from monitor.store.outbox import Outbox
from monitor.store.rows import ArticleRow, RoutedItem
from tests.ingest.stories import OTHER, OTHER_TITLE, WIRE, WIRE_TITLE
from tests.support.feedserver import FeedServer, Route, running_feed_server

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WATCHLIST = """\
name: MENA security
actors:
  - id: qatar
    name: Qatar
    kind: place
  - id: ronen-bar
    name: Ronen Bar
    kind: person
"""


def rss(items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 feed of (guid, title, description text) items linking to /pages/<guid>.html."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}-0000000000</guid><title>{html.escape(title)}</title>"
        f"<link>LINK/pages/{guid}.html</link><description>{html.escape(text)}</description></item>"
        for guid, title, text in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


class Setup:
    """A configuration directory, a database and a poller for the served feeds."""

    def __init__(self, root: Path, database_url: str, server: FeedServer, feeds: dict[str, bool]) -> None:
        config = root / "config"
        (config / "watchlists").mkdir(parents=True)
        (config / "monitor.yaml").write_text(
            f"database: {database_url}\nemail:\n  transport: file\n  outbox_dir: {root / 'outbox'}\n"
            "fetch:\n  allow_private_networks: true\n  timeout: 10s\n", encoding="utf-8",
        )
        lines = "".join(
            f"  - url: {server.url(f'/{name}.xml')}\n    id: {name}\n    name: {name.title()}\n"
            f"    full_text: {str(full).lower()}\n"
            for name, full in feeds.items()
        )
        (config / "feeds.yaml").write_text(f"feeds:\n{lines}", encoding="utf-8")
        (config / "watchlists" / "mena.yaml").write_text(WATCHLIST, encoding="utf-8")
        (config / "subscribers.yaml").write_text(
            "subscribers:\n  - id: desk\n    email: desk@test.example\n    watchlists: [mena]\n"
            "    schedule: immediate\n", encoding="utf-8",
        )
        self.runtime = Runtime.build(load_config(config, {}).config)
        self.db = Database(database_url)
        upgrade(self.db)
        FeedRepository(self.db).sync(self.runtime.config.feeds, NOW)
        self.poller = FeedPoller(self.db, lambda: self.runtime, owner="test", clock=lambda: NOW)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        yield running


def serve(server: FeedServer, name: str, items: list[tuple[str, str, str]]) -> None:
    server.routes[f"/{name}.xml"] = Route(rss(items).replace(b"LINK", server.url("").encode()))


def test_syndicated_copy_is_clustered_and_alerts_once(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    wire_text = " ".join(WIRE)
    serve(server, "wire", [("w1", WIRE_TITLE, wire_text), ("w2", OTHER_TITLE, " ".join(OTHER))])
    serve(server, "paper", [("p1", WIRE_TITLE, wire_text)])
    setup = Setup(tmp_path, database_url, server, {"wire": False, "paper": False})
    summary = asyncio.run(setup.poller.poll_due())
    assert summary.new_articles == 3 and summary.errors == 0
    assert summary.suppressed == 1, "the second copy of the Qatar story is not routed again"
    with setup.db.sessions() as session:
        copies = set(session.scalars(select(ArticleRow.id).where(ArticleRow.title == WIRE_TITLE)))
        assert len(copies) == 2, "two URLs, two articles"
        routed = session.execute(select(RoutedItem.article_id, RoutedItem.entry_id)).all()
        qatar = [a for a, entry in routed if entry == "qatar" and a in copies]
        assert len(qatar) == 1
        feeds = cluster_feeds(session, qatar)[qatar[0]]
        assert {f for f, _ in feeds} == {"wire", "paper"}, "also reported by the other outlet"
    items = Outbox(setup.db).preview_items("desk")
    sizes = {item.article.title: item.cluster_size for item in items}
    assert sizes[WIRE_TITLE] == 2, "cluster_size counts the cluster's articles"
    setup.db.dispose()


PAGE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body>
<nav><a href="/">Home</a> Qatar Ronen Bar latest</nav>
<article><h1>{title}</h1>{paragraphs}</article>
<footer>Copyright Ronen Bar Media</footer></body></html>"""


def test_full_text_fetches_linked_pages_for_matching(
    tmp_path: Path, database_url: str, server: FeedServer
) -> None:
    body = [
        "Shin Bet director Ronen Bar travelled to Ankara on Monday for talks with his Turkish counterpart, "
        "officials said, the first such meeting in more than a year.",
        *WIRE[1:],
    ]
    page = PAGE.format(title="Spy chiefs meet", paragraphs="".join(f"<p>{p}</p>" for p in body))
    items = [("s1", "Spy chiefs meet", "Two intelligence chiefs met on Monday.")]
    serve(server, "full", items)
    serve(server, "short", [("s2", "Spy chiefs meet again", "Two intelligence chiefs met on Monday.")])
    server.routes["/pages/s1.html"] = Route(page.encode(), content_type="text/html; charset=utf-8")
    server.routes["/pages/s2.html"] = Route(page.encode(), content_type="text/html; charset=utf-8")
    setup = Setup(tmp_path, database_url, server, {"full": True, "short": False})
    summary = asyncio.run(setup.poller.poll_due())
    assert summary.errors == 0 and summary.new_articles == 2
    assert server.hits("/pages/s1.html") == [200] and server.hits("/pages/s2.html") == []
    with setup.db.sessions() as session:
        rows = {a.url.rsplit("/", 1)[1]: a for a in session.scalars(select(ArticleRow))}
        routed = set(session.execute(select(RoutedItem.article_id, RoutedItem.entry_id)).all())
    full = rows["s1.html"]
    assert "Ronen Bar travelled to Ankara" in full.content_text
    assert "Copyright" not in full.content_text and "Home" not in full.content_text, "page furniture is dropped"
    assert full.summary_text == "Two intelligence chiefs met on Monday.", "the feed's summary is kept"
    assert (full.id, "ronen-bar") in routed, "matched on the page's text"
    assert not any(a == rows["s2.html"].id for a, _ in routed), "a summary-only feed matches its summary only"
    setup.db.dispose()


def test_full_text_page_failure_keeps_the_summary(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    serve(server, "full", [("x1", "Qatar story", "Qatar said on Saturday its role is frozen.")])
    server.routes["/pages/x1.html"] = Route(b"gone", status=404, content_type="text/plain")
    setup = Setup(tmp_path, database_url, server, {"full": True})
    summary = asyncio.run(setup.poller.poll_due())
    assert summary.errors == 0 and summary.new_articles == 1
    with setup.db.sessions() as session:
        assert session.scalar(select(ArticleRow.summary_text)) == "Qatar said on Saturday its role is frozen."
        assert len(session.execute(select(RoutedItem.id)).all()) == 1, "matched on the summary"
    setup.db.dispose()
