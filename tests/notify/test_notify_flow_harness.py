"""Harness for the delivery flow tests (holds no tests): real feeds, poller, worker and a hand-driven clock."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import jsonschema
from click.testing import CliRunner, Result

from monitor.cli import main
from monitor.clock import CommandContext
from monitor.config import load_config
from monitor.notify.deliver import DeliverySummary, DeliveryWorker
from monitor.refresh.poll_report import PollSummary
from monitor.refresh.poller import FeedPoller
from monitor.refresh.runtime import Runtime
from monitor.store.db import Database
from monitor.store.feeds import FeedRepository
from monitor.store.migrate import upgrade
from monitor.store.outbox import Outbox
from monitor.store.rows import Delivery
from tests.notify.conftest import SCHEMA_PATH, WEBHOOK_SECRET, Received, WebhookReceiver
from tests.support.feedserver import FeedServer, Route

SECRET_ENV = "FLOW_WEBHOOK_SECRET"
WATCHLIST = """\
name: MENA security
actors:
  - id: ibrahim-kalin
    name: Ibrahim Kalin
    kind: person
    aliases: ["İbrahim Kalın", "Turkish intelligence chief"]
topics:
  - id: hostage-talks
    name: Hostage talks
    query: '(hostages OR captives) AND (talks OR mediat*)'
"""
_VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Story:
    """One feed item; the guid (and so the article id) is shared when two feeds carry the same story."""

    key: str
    title: str
    body: str
    published: datetime

    @property
    def link(self) -> str:
        return f"https://news.test/stories/{self.key}"


_VOCABULARY = (
    "ankara envoy border ceasefire cabinet minister delegation summit pipeline harbour convoy treaty "
    "sanctions election parliament embassy militia airport refinery tanker corridor drone frontier "
    "ministry council statement briefing visit agreement dispute inquiry protest budget reform"
).split()


def kalin_story(key: str, published: datetime) -> Story:
    """A story matching the ibrahim-kalin actor, worded apart from every other (not a near-duplicate)."""
    words = random.Random(key).sample(_VOCABULARY, 20)
    return Story(key, f"Kalın meets counterpart ({key})",
                 f"İbrahim Kalın, Türkiye’s intelligence chief, discussed {' '.join(words)}.", published)


def rss(title: str, stories: list[Story]) -> bytes:
    """An RSS 2.0 document carrying the stories."""
    items = "".join(
        f"<item><title>{escape(s.title)}</title><link>{s.link}</link>"
        f"<guid isPermaLink=\"false\">urn:news-test:story:{s.key}</guid>"
        f"<pubDate>{format_datetime(s.published)}</pubDate><description>{escape(s.body)}</description></item>"
        for s in stories
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://{title.lower().replace(' ', '-')}.test/</link><description>test</description>"
            f"{items}</channel></rss>").encode()


def email_subscriber(id: str, schedule: str = "immediate", timezone: str = "UTC", **extra: str) -> str:
    """A subscribers.yaml entry for an email subscriber of the test watchlist."""
    more = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    return (f"  - id: {id}\n    email: {id}@test.example\n    watchlists: [mena-security]\n"
            f"    schedule: {schedule}\n    timezone: {timezone}\n{more}")


def webhook_subscriber(id: str, url: str, schedule: str = "immediate", timezone: str = "UTC") -> str:
    """A subscribers.yaml entry for a signed webhook subscriber of the test watchlist."""
    return (f"  - id: {id}\n    webhook:\n      url: {url}\n      secret_env: {SECRET_ENV}\n      timeout: 5s\n"
            f"    watchlists: [mena-security]\n    schedule: {schedule}\n    timezone: {timezone}\n")


def checked_requests(receiver: WebhookReceiver) -> list[Received]:
    """Every request the receiver saw, each asserted signed correctly and valid against the schema."""
    for request in receiver.requests:
        assert request.verified, request.error
        assert request.headers["webhook-id"] == request.payload["id"]
        _VALIDATOR.validate(request.payload)
    return list(receiver.requests)


class Flow:
    """A configuration directory on a real feed server, driven through FeedPoller and DeliveryWorker."""

    def __init__(
        self, root: Path, database_url: str, server: FeedServer, *, subscribers: list[str],
        feeds: dict[str, list[Story]], start: datetime, smtp_port: int | None = None,
    ) -> None:
        self.root, self.server, self.now = root, server, start
        self.config_dir = root / "config"
        (self.config_dir / "watchlists").mkdir(parents=True)
        self.outbox_dir = root / "outbox"
        email = (f"  transport: smtp\n  smtp: {{host: 127.0.0.1, port: {smtp_port}, starttls: false, timeout: 5s}}\n"
                 if smtp_port else f"  transport: file\n  outbox_dir: {self.outbox_dir}\n")
        self.monitor_yaml = (f"database: {database_url}\nemail:\n{email}  from: 'Monitor <monitor@test.example>'\n"
                             "fetch:\n  allow_private_networks: ALLOW\n  timeout: 10s\n")
        (self.config_dir / "monitor.yaml").write_text(self.monitor_yaml.replace("ALLOW", "true"), encoding="utf-8")
        feed_lines = "".join(f"  - url: {server.url(f'/{name}.xml')}\n    id: {name}\n" for name in feeds)
        (self.config_dir / "feeds.yaml").write_text(f"defaults:\n  interval: 5m\nfeeds:\n{feed_lines}",
                                                    encoding="utf-8")
        (self.config_dir / "watchlists" / "mena-security.yaml").write_text(WATCHLIST, encoding="utf-8")
        (self.config_dir / "subscribers.yaml").write_text("subscribers:\n" + "".join(subscribers),
                                                          encoding="utf-8")
        for name, stories in feeds.items():
            self.set_feed(name, stories)
        self.env = {SECRET_ENV: WEBHOOK_SECRET}
        self.runtime = Runtime.build(load_config(self.config_dir, self.env).config)
        self.db = Database(self.runtime.config.settings.database)
        upgrade(self.db)
        self.feeds = FeedRepository(self.db)
        self.feeds.sync(self.runtime.config.feeds, self.now)
        self.outbox = Outbox(self.db)
        self.poller = FeedPoller(self.db, lambda: self.runtime, owner="flow-poller", clock=self.clock)
        self.worker = DeliveryWorker(self.outbox, lambda: self.runtime.config, self.env, owner="flow-worker",
                                     clock=self.clock, rng=random.Random(7))

    def set_allow_private_networks(self, allow: bool) -> None:
        """Edit fetch.allow_private_networks in monitor.yaml and reload, as the service does."""
        (self.config_dir / "monitor.yaml").write_text(self.monitor_yaml.replace("ALLOW", str(allow).lower()),
                                                      encoding="utf-8")
        self.runtime = Runtime.build(load_config(self.config_dir, self.env).config)

    def clock(self) -> datetime:
        """The injected clock."""
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by hand."""
        self.now += timedelta(**delta)
        return self.now

    def set_feed(self, name: str, stories: list[Story]) -> None:
        """What the feed server answers for one feed from now on."""
        self.server.routes[f"/{name}.xml"] = Route(rss(name, stories))

    def poll(self) -> PollSummary:
        """Poll every feed now (fetch, parse, store, match, route) on the injected clock."""
        self.feeds.make_all_due(self.now)
        summary = asyncio.run(self.poller.poll_due())
        assert summary.errors == 0, summary.error_kinds
        return summary

    def deliver(self) -> DeliverySummary:
        """One deliver tick: assemble alerts and due digests, then send what is due."""
        assembled = self.worker.assemble()
        summary = self.worker.send_due()
        summary.assembled = assembled
        return summary

    def deliveries(self, **filters: Any) -> list[Delivery]:
        """Deliveries in the outbox, oldest first, optionally filtered by attribute values."""
        rows = sorted(self.outbox.list(limit=10_000), key=lambda d: (d.created_at, d.id))
        return [d for d in rows if all(getattr(d, k) == v for k, v in filters.items())]

    def cli(self, *args: str) -> Result:
        """Run a `monitor` command on this configuration, on the injected clock."""
        return CliRunner().invoke(main, [*args, "--config", str(self.config_dir)], env=self.env,
                                  obj=CommandContext(clock=self.clock))

    def close(self) -> None:
        """Release the worker's HTTP client and the database."""
        self.worker.close()
        self.db.dispose()


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def stories(*keys: str) -> list[Story]:
    """Kalin stories with the given keys, published a minute apart on 2026-11-24 from 06:00."""
    return [kalin_story(k, utc(2026, 11, 24, 6, i)) for i, k in enumerate(keys)]
