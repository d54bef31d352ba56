"""WebSub push end to end: a running `monitor run`, the dashboard's callback and a local hub (tests/support/websub_hub.py).

The feed is polled hourly, so an alert that arrives comes from the push. Time bounds are hang guards only.
"""

from __future__ import annotations

import email
import json
import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from monitor.commands.tables import print_feeds
from monitor.config import load_config
from monitor.store.db import Database
from monitor.store.rows import Feed, WebSubSubscription
from monitor.web.auth import AuthSettings
from tests.service.support import Monitor, wait_for, write_config
from tests.support.dashboard import free_port, running_dashboard
from tests.support.feedserver import FeedServer, Route, running_feed_server
from tests.support.websub_hub import WebSubHub, running_hub

GUARD = 60.0  # seconds: a bound against hangs, never a speed assertion
FEED = "/news.xml"
TOKEN = "dashboard-token-the-hub-does-not-know"


def rss(hub: str, self_url: str, items: list[tuple[str, str]]) -> bytes:
    """An RSS feed naming its hub and itself (atom:link), with (guid, title) items."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><guid isPermaLink='false'>{guid}</guid>"
        f"<link>https://news.test/{guid}</link><description>{escape(title)}</description></item>"
        for guid, title in items
    )
    return (
        "<?xml version='1.0'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'><channel>"
        f"<title>News</title><atom:link rel='hub' href='{hub}'/><atom:link rel='self' href='{self_url}'/>"
        f"{entries}</channel></rss>"
    ).encode()


def emails(outbox: Path) -> list[EmailMessage]:
    """Every .eml the file transport wrote, parsed."""
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(outbox.glob("*.eml"))]


def mentioned(outbox: Path, text: str) -> bool:
    """Whether any alert so far mentions `text`."""
    return any(text in m.as_string() for m in emails(outbox))


@dataclass
class Pushed:
    """The running pieces of one test."""

    server: FeedServer
    hub: WebSubHub
    monitor: Monitor
    db: Database
    topic: str
    outbox: Path
    dashboard: str

    def get(self, path: str) -> bytes:
        """A dashboard page or API answer, with the dashboard's token."""
        request = urllib.request.Request(self.dashboard + path, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - the test's own 127.0.0.1
            return bytes(resp.read())


@contextmanager
def pushed_feed(tmp_path: Path, *, websub: str, hub_lease: int | None = None) -> Iterator[Pushed]:
    """A feed naming a local hub, `monitor run` on SQLite, and the dashboard (with a token) serving the callback."""
    with running_feed_server() as server, running_hub(lease_seconds=hub_lease) as hub:
        topic = server.url(FEED)
        server.routes[FEED] = Route(rss(hub.url, topic, [("w1", "Weather calm")]))
        db_url = f"sqlite:///{tmp_path / 'm.db'}"
        config = write_config(tmp_path, db_url, [topic], interval="1h")
        port = free_port()
        with (config / "monitor.yaml").open("a", encoding="utf-8") as handle:
            handle.write(f"base_url: http://127.0.0.1:{port}\nwebsub:\n{websub}")
        monitor = Monitor(config, tmp_path / "run.log", env={"MONITOR_WEBSUB_TICK": "1s"})
        db = Database(db_url)
        try:
            monitor.wait_started()
            # Dashboard credentials are set: the hub, which has none, must still reach the callback.
            auth = AuthSettings(token=TOKEN)
            with running_dashboard(load_config(config, {}).config, db, auth, port=port) as dashboard:
                yield Pushed(server, hub, monitor, db, topic, tmp_path / "outbox", dashboard)
        finally:
            monitor.kill()
            db.dispose()


def subscriptions(db: Database) -> list[WebSubSubscription]:
    with db.sessions() as session:
        return list(session.scalars(select(WebSubSubscription).order_by(WebSubSubscription.created_at)))


def feed_row(db: Database) -> Feed:
    with db.sessions() as session:
        return session.scalars(select(Feed)).one()


def test_push_end_to_end_signatures_renewal_and_fallback_to_polling(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # One service for every step (each start costs seconds). The hub grants 4 s leases (a hub MAY
    # choose): renewed when half is left. No push for 4 s: the feed is polled normally again.
    with pushed_feed(tmp_path, websub="  lease: 1h\n  quiet_after: 4s\n", hub_lease=4) as run:
        wait_for(lambda: run.hub.active(run.topic), GUARD, "the subscription to be verified at the hub")
        [sub] = subscriptions(run.db)
        assert (sub.state, sub.topic, sub.hub) == ("subscribed", run.topic, run.hub.url)
        request = run.hub.requests[0]
        assert request["hub.secret"] == sub.secret and request["hub.lease_seconds"] == "3600"
        assert request["hub.callback"] == f"{run.dashboard}/websub/{sub.id}"

        with caplog.at_level(logging.INFO, logger="monitor.websub"):
            forged = rss(run.hub.url, run.topic, [("f1", "Hostages: forged release")])
            assert run.hub.publish(run.topic, forged, forge=True) == [202], "ignored, but acknowledged (7.1.2)"
            assert run.hub.publish(run.topic, forged, signed=False) == [202]
            assert "websub_push_rejected feed_id=feed-news reason=mismatch" in caplog.text
            assert "websub_push_rejected feed_id=feed-news reason=missing" in caplog.text
            [sub] = subscriptions(run.db)
            assert sub.rejected == 2 and sub.pushes == 0

            # The feed server never serves this item (and polls hourly): only the push can bring it.
            genuine = rss(run.hub.url, run.topic, [("h1", "Hostages: talks resume in Doha")])
            assert run.hub.publish(run.topic, genuine, method="sha1") == [202]
            polls = len(run.server.hits(FEED))  # the push starts a new quiet_after: no fallback poll yet
            wait_for(lambda: mentioned(run.outbox, "talks resume in Doha"), GUARD, "the pushed item's alert")
        assert not mentioned(run.outbox, "forged release"), "a forged body never reaches the pipeline"
        assert "feed_pushed feed_id=feed-news" in run.monitor.log()
        [sub] = subscriptions(run.db)
        assert sub.pushes == 1 and sub.last_push_at is not None

        # The feed health shows the push state: `monitor feeds`, the API and the Feeds page.
        lines: list[str] = []
        print_feeds(run.db, as_json=True, now=datetime.now(UTC), out=lines.append)
        health = json.loads(lines[0])
        assert health["push_state"] == "subscribed" and health["push_hub"] == run.hub.url
        assert health["last_push_at"] and health["push_lease_expires_at"]
        table: list[str] = []
        print_feeds(run.db, as_json=False, now=datetime.now(UTC), out=table.append)
        assert "subscribed" in table[0] and " lease " in table[0]
        [api] = json.loads(run.get("/api/feeds"))["items"]
        assert api["push_state"] == "subscribed" and api["last_push_at"] and api["kind"] == "rss"
        assert "lease ends" in run.get("/feeds").decode()

        # Lease renewal: the same callback and topic, verified again before the lease ends.
        wait_for(lambda: len(run.hub.confirmed("subscribe")) >= 2, GUARD, "a renewal verified by the hub")
        first, second = run.hub.confirmed("subscribe")[:2]
        assert first.callback == second.callback and first.topic == second.topic == run.topic
        assert len(subscriptions(run.db)) == 1, "a renewal is the same subscription"

        # The hub goes quiet: polled at once, then at the normal interval, while the subscription stays.
        wait_for(lambda: "websub_fallback feed_id=feed-news reason=no_push" in run.monitor.log(), GUARD,
                 "the quiet feed to fall back to polling")
        wait_for(lambda: len(run.server.hits(FEED)) > polls, GUARD, "a poll at once, although the interval is 1h")
        assert feed_row(run.db).push_until is None
        assert run.hub.active(run.topic), "the subscription itself stays (and is still renewed)"

        assert run.hub.deny(run.topic) == [200]
        [sub] = subscriptions(run.db)
        assert sub.state == "denied" and sub.last_error == "denied by the test hub"
