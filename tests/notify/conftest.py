"""Fixtures for notify: a real SMTP server (aiosmtpd), a real webhook receiver, fixed delivery content."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from standardwebhooks import Webhook

from monitor.config.models import EmailSettings, SmtpSettings, SubscriberConfig
from monitor.model import Highlight, Match
from monitor.notify.content import (
    DeliveryContent,
    DeliveryItem,
    FeedHealthContent,
    ItemArticle,
    SourceRef,
    SpikeContent,
    SpikeStory,
    SpikeWindow,
)
from tests.support.httpserver import serving_in_thread

GOLDEN_DIR = Path(__file__).parent / "golden"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "webhook.schema.json"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SMTP_USER, SMTP_PASSWORD = "monitor", "s3cret-Pa55word"


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    """Whether golden files should be rewritten instead of compared."""
    opt = request.config.getoption("--regen-golden", default=False)
    return bool(opt) or os.environ.get("MONITOR_REGENERATE_GOLDEN") == "1"


@pytest.fixture
def golden(regen_golden: bool) -> Callable[[str, str], None]:
    """Compare text with tests/notify/golden/<name> (or rewrite it when regenerating)."""

    def check(name: str, actual: str) -> None:
        path = GOLDEN_DIR / name
        if regen_golden or not path.exists():
            GOLDEN_DIR.mkdir(exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            if not regen_golden:
                pytest.fail(f"golden file {path} did not exist; written now, check it and re-run")
            return
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, (
            f"{name} differs from the golden file; if the change is intended, "
            "re-run with MONITOR_REGENERATE_GOLDEN=1 (or pytest --regen-golden)"
        )

    return check


# --------------------------------------------------------------- content


def make_match(watchlist: str, kind: Literal["actor", "topic"], id: str, name: str, snippet: str) -> Match:
    """A match with one highlight taken from the snippet's first mark."""
    start = snippet.find("[[")
    text = snippet[start + 2 : snippet.find("]]")] if start >= 0 else ""
    return Match(watchlist, kind, id, name, (Highlight("body", max(start, 0), max(start, 0) + len(text), text),),
                 snippet)


def make_article(id: str, title: str, *, url: str = "", summary: str = "", source: str = "Daily Sabah",
                 hour: int = 8, also: tuple[str, ...] = ()) -> ItemArticle:
    """An article published on 2024-11-19 at `hour` UTC."""
    return ItemArticle(
        id=id,
        url=url or f"https://news.example.org/{id}",
        title=title,
        source=SourceRef(source.lower().replace(" ", "-"), source),
        published_at=datetime(2024, 11, 19, hour, 0, tzinfo=UTC),
        language="en",
        summary=summary or f"Summary of {title}.",
        cluster_size=1 + len(also),
        also_reported_by=tuple(SourceRef(a.lower().replace(" ", "-"), a) for a in also),
    )


@pytest.fixture
def digest_content() -> DeliveryContent:
    """A fixed morning digest: two watchlists, three articles, one matching two entries."""
    kalin = make_article(
        "a1", "Turkish intelligence chief Kalın meets Shin Bet head on Gaza captives",
        source="Daily Sabah", hour=6, also=("Middle East Eye", "Times of Israel"),
    )
    talks = make_article("a2", "Egypt, not Turkiye, to mediate hostage exchange talks",
                         source="Al-Monitor", hour=9)
    energy = make_article("a3", "Qatar & Egypt sign LNG deal <2025>", source="Reuters", hour=11)
    return DeliveryContent(
        delivery_id="dlv-2024-11-19-mena-desk",
        kind="digest",
        subscriber_id="mena-desk",
        created_at=datetime(2024, 11, 19, 4, 30, tzinfo=UTC),
        period_label="Daily digest, 19 Nov 2024",
        watchlist_names={"mena-security": "MENA security", "energy": "Energy"},
        items=(
            DeliveryItem(kalin, (
                make_match("mena-security", "actor", "ibrahim-kalin", "Ibrahim Kalin",
                           "… head of the Turkish intelligence service, [[İbrahim Kalın]], met with Shin Bet …"),
                make_match("mena-security", "topic", "hostage-talks", "Hostage / prisoner exchange talks",
                           "… talks on the Israeli [[captives]] in Gaza & a possible [[exchange]] …"),
            )),
            DeliveryItem(talks, (
                make_match("mena-security", "topic", "hostage-talks", "Hostage / prisoner exchange talks",
                           "Egypt will mediate the [[hostage exchange talks]] after Qatar froze its role"),
            )),
            DeliveryItem(energy, (
                make_match("energy", "topic", "lng", "LNG trade", "A 15-year [[LNG]] supply deal (<b>not</b> bold)"),
            )),
        ),
    )


@pytest.fixture
def spike_content() -> DeliveryContent:
    """A fixed spike alert: two windows, three top stories (one with a script URL), markup in the names."""
    at = datetime(2026, 12, 13, 10, 25, tzinfo=UTC)
    spike = SpikeContent(
        alert_id="spk_1", watchlist="mena-security", watchlist_name="MENA security & <energy>",
        entry_id="fidan", name="Hakan <b>Fidan</b>", reason="new",
        windows=(
            SpikeWindow("hour", datetime(2026, 12, 13, 10, tzinfo=UTC), datetime(2026, 12, 13, 11, tzinfo=UTC),
                        42, 3.0, 1e-20),
            SpikeWindow("day", datetime(2026, 12, 12, 11, tzinfo=UTC), datetime(2026, 12, 13, 11, tzinfo=UTC),
                        60, 20.5, 2e-7),
        ),
        articles=31,
        top_stories=(
            SpikeStory("Fidan <b>meets</b> Hamas & delegation", "https://news.example.org/s1", 20, 20, at),
            SpikeStory("Second story", "javascript:alert(1)", 1, 1, at),
            SpikeStory("Third story", "https://news.example.org/s3", 2, 3, at),
        ),
        entry_url="https://monitor.example.org/entries/mena-security/fidan",
    )
    return DeliveryContent(delivery_id="dlv_spike_fidan", kind="spike", subscriber_id="mena-desk", created_at=at,
                           items=(), spike=spike)


@pytest.fixture
def feed_health_content() -> DeliveryContent:
    """A fixed feed-health delivery of one tick: a feed failing (markup in its name and error), one recovered,
    one stopped publishing, one publishing again."""
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    feeds = "https://monitor.example.org/feeds"
    failing = FeedHealthContent(
        alert_id="fh_1", feed_id="wire", feed_name="Levant <b>Wire</b> & Co",
        feed_url="https://wire.example/feed.xml?a=1&b=2", event="failing", at=start + timedelta(hours=7),
        error_kind="dns", error_message="no such host <i>wire.example</i>",
        hint="Check the URL for typos.", failing_since=start + timedelta(hours=1), consecutive_errors=7,
        last_success_at=start, feeds_url=feeds,
    )
    recovered = FeedHealthContent(alert_id="fh_2", feed_id="gulf", feed_name="Gulf Observer",
                                  feed_url="https://gulf.example/rss", event="recovered", at=start, feeds_url=feeds)
    stale = FeedHealthContent(
        alert_id="fh_3", feed_id="quiet", feed_name="Quiet Times", feed_url="javascript:alert(1)", event="stale",
        at=start, last_new_item_at=start - timedelta(days=3, hours=4), usual_interval=timedelta(hours=6),
        silent_for=timedelta(days=3, hours=4), feeds_url=feeds,
    )
    resumed = FeedHealthContent(alert_id="fh_4", feed_id="back", feed_name="Back Again",
                                feed_url="https://back.example/", event="resumed", at=start,
                                last_new_item_at=start - timedelta(minutes=5))
    return DeliveryContent(delivery_id="dlv_feed_health_1", kind="feed_health", subscriber_id="mena-desk",
                           created_at=start + timedelta(hours=7), items=(),
                           feed_health=(failing, recovered, stale, resumed))


@pytest.fixture
def subscriber() -> SubscriberConfig:
    """An email subscriber in Istanbul (UTC+3)."""
    return SubscriberConfig(id="mena-desk", email="mena-desk@example.org", name="MENA desk",
                            watchlists=("mena-security", "energy"), schedule="daily 07:30",  # type: ignore[arg-type]
                            timezone="Europe/Istanbul")


@pytest.fixture
def email_settings() -> EmailSettings:
    """Email settings with a From on example.org and the packaged templates."""
    return EmailSettings.model_validate({"from": "Monitor <monitor@example.org>"})


# --------------------------------------------------------------- SMTP server


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body_text(msg: EmailMessage, subtype: str) -> str:
    """The decoded text of the message's text/<subtype> part."""
    part = msg.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage), f"no text/{subtype} part"
    return str(part.get_content())


@pytest.fixture
def part_text() -> Callable[[EmailMessage, str], str]:
    """body_text as a fixture, so test modules need not import conftest."""
    return body_text


@dataclass
class ScriptedHandler:
    """An aiosmtpd handler that records messages; DATA and RCPT replies can be scripted."""

    data_replies: list[str] = field(default_factory=list)  # popped per DATA; empty → 250
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address → reply
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A running local SMTP server and the settings that reach it."""

    handler: ScriptedHandler
    settings: SmtpSettings


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real aiosmtpd server on 127.0.0.1 (plain, AUTH allowed without TLS for the test)."""
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            authenticator=_authenticator, auth_require_tls=False)
    controller.start()
    try:
        yield SmtpServer(handler, SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout=5))  # type: ignore[arg-type]
    finally:
        controller.stop()


@pytest.fixture
def smtp_credentials() -> tuple[str, str]:
    """The username and password the test SMTP server accepts."""
    return SMTP_USER, SMTP_PASSWORD


@pytest.fixture
def closed_port() -> int:
    """A local port with no listener (connection refused)."""
    return free_port()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says anything (to provoke timeouts)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


# --------------------------------------------------------------- webhook receiver


@dataclass
class Received:
    """One request the webhook receiver saw, and whether its signature verified."""

    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str | None
    payload: Any


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint verifying Standard Webhooks signatures; replies can be scripted."""

    url: str
    secret: str
    requests: list[Received] = field(default_factory=list)
    replies: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # popped per request; empty → 200
    delay: float = 0.0


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP server on 127.0.0.1 that verifies with standardwebhooks.Webhook(secret).verify."""
    receiver = WebhookReceiver(url="", secret=WEBHOOK_SECRET)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                payload = Webhook(receiver.secret).verify(body, headers)
                verified, error = True, None
            except Exception as exc:  # any failure is recorded for the test to assert on
                payload, verified, error = json.loads(body or b"null"), False, f"{type(exc).__name__}: {exc}"
            receiver.requests.append(Received(headers, body, verified, error, payload))
            if receiver.delay:
                time.sleep(receiver.delay)
            status, extra = receiver.replies.pop(0) if receiver.replies else (200, {})
            reply = b'{"ok": true}' if status < 300 else b'{"error": "scripted failure"}'
            try:
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving_in_thread(Handler) as server:
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/monitor"
        yield receiver
