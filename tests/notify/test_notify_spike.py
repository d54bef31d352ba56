"""Spike alerts through every channel: the email (subject, both parts), the webhook payload (schema, signature)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from monitor.config.models import Config, EmailSettings, Settings, SubscriberConfig
from monitor.notify.channels.email_message import build_spike_email, spike_subject
from monitor.notify.channels.webhook import build_payload
from monitor.notify.content import DeliveryContent, build_spike_content, format_usual
from monitor.notify.deliver import DeliveryWorker
from monitor.store.db import Database
from monitor.store.outbox import Outbox
from monitor.store.spike_state import SpikeAlert
from monitor.usecases.spikes import SpikeTicker
from tests.notify.conftest import SCHEMA_PATH, WEBHOOK_SECRET, SmtpServer, WebhookReceiver
from tests.spikes.history import TODAY, add_story, config, quiet_history

AT = datetime(2026, 12, 13, 10, 25, tzinfo=UTC)


def alert(**content: Any) -> SpikeAlert:
    data = {
        "watchlist": "w", "watchlist_name": "W", "entry": "fidan", "name": "Hakan Fidan", "reason": "new",
        "complete": False, "articles": 31,
        "windows": [
            {"window": "hour", "start": "2026-12-13T10:00:00+00:00", "end": "2026-12-13T11:00:00+00:00",
             "stories": 42, "usual": 3.0, "rate": 2.75, "p_value": 1e-20},
            {"window": "day", "start": "2026-12-12T11:00:00+00:00", "end": "2026-12-13T11:00:00+00:00",
             "stories": 60, "usual": 20.5, "rate": 20.2, "p_value": 2e-7},
        ],
        "top_stories": [
            {"title": "Fidan <b>meets</b> Hamas delegation", "url": "https://news.test/1", "outlets": 20,
             "articles": 20, "published_at": "2026-12-13T10:02:00+00:00"},
            {"title": "Second story", "url": "javascript:alert(1)", "outlets": 1, "articles": 1,
             "published_at": "2026-12-13T10:09:00+00:00"},
        ],
        **content,
    }
    return SpikeAlert("spk_1", "w", "fidan", AT, str(data["reason"]), data, AT)


def content(tmp_path: Path, **extra: Any) -> DeliveryContent:
    return build_spike_content("dlv_spike1", "desk", AT, alert(**extra), config(tmp_path, "fidan"))


SUBSCRIBER = SubscriberConfig(id="desk", email="desk@example.org", watchlists=("w",), spikes=True,
                              timezone="Europe/Istanbul")


def test_the_spike_content_says_the_count_against_the_usual(tmp_path: Path) -> None:
    spike = content(tmp_path).spike
    assert spike is not None and spike.headline == "42 stories in the last hour, usually 3"
    assert spike.windows[1].headline == "60 stories in the last 24 hours, usually 20"
    assert spike.entry_url == "http://127.0.0.1:8080/entries/w/fidan"
    assert [format_usual(v) for v in (0.0, 0.125, 3.0, 2.75, 12.4)] == ["0", "0.1", "3", "2.8", "12"]


def test_the_spike_email(tmp_path: Path, part_text: Callable[[EmailMessage, str], str]) -> None:
    settings = EmailSettings.model_validate({"from": "Monitor <monitor@example.org>"})
    message = build_spike_email(content(tmp_path), SUBSCRIBER, settings, base_url="https://monitor.example.org",
                                unsubscribe_secret=b"k" * 32)
    assert message["Subject"] == "[monitor] Spike: Hakan Fidan — 42 stories in the last hour (usually 3)"
    assert message["Message-ID"] == "<dlv_spike1@example.org>" and message["List-Unsubscribe"].startswith("<https://")
    text = part_text(message, "plain")
    assert "42 stories in the last hour, usually 3" in text and "13 Dec 2026, 13:00 +03" in text
    assert "Fidan meets Hamas delegation\n  20 outlets" in text and "https://news.test/1" in text
    assert "javascript:" not in text and "http://127.0.0.1:8080/entries/w/fidan" in text
    html = part_text(message, "html")
    assert 'href="https://news.test/1"' in html and "<b>meets" not in html and "javascript:" not in html
    assert 'href="http://127.0.0.1:8080/entries/w/fidan"' in html
    grew = content(tmp_path, reason="grew").spike
    assert grew is not None and spike_subject(grew).startswith("[monitor] Spike growing: Hakan Fidan — 42 stories")


def test_the_spike_webhook_payload_validates_against_the_schema(tmp_path: Path) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    payload = build_payload(content(tmp_path))
    validator.validate(payload)
    assert payload["type"] == "spike" and payload["items"] == []
    spike = payload["spike"]
    assert spike["entry"] == {"id": "fidan", "name": "Hakan Fidan"} and spike["headline"].startswith("42 stories")
    assert spike["windows"][0] == {"window": "hour", "start": "2026-12-13T10:00:00Z", "end": "2026-12-13T11:00:00Z",
                                   "stories": 42, "usual": 3.0, "p_value": 1e-20}
    assert [s["url"] for s in spike["top_stories"]] == ["https://news.test/1", ""]
    assert spike["top_stories"][0]["title"] == "Fidan meets Hamas delegation"
    # The schema ties `spike` to the type: an alert may not carry one, a spike must.
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**payload, "type": "alert"})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({k: v for k, v in payload.items() if k != "spike"})


def test_a_raised_spike_is_delivered_by_email_and_signed_webhook(
    db: Database, tmp_path: Path, smtp_server: SmtpServer, webhook_receiver: WebhookReceiver,
) -> None:
    quiet_history(db, "fidan")
    noon = TODAY + timedelta(hours=12)
    for i in range(12):
        add_story(db, ["fidan"], noon + timedelta(minutes=i), outlets=12 - i, title=f"Fidan story {i}")
    settings = Settings.model_validate({"email": {"transport": "smtp", "from": "Monitor <monitor@example.org>",
                                                  "smtp": smtp_server.settings.model_dump()},
                                        "fetch": {"allow_private_networks": True}})
    subscribers = (
        SubscriberConfig(id="mail", email="mail@example.org", watchlists=("w",), spikes=True),
        SubscriberConfig.model_validate({"id": "hook", "watchlists": ["w"], "spikes": ["w/fidan"],
                                         "webhook": {"url": webhook_receiver.url, "secret_env": "HOOK_SECRET"}}),
        SubscriberConfig(id="quiet", email="quiet@example.org", watchlists=("w",)),
    )
    cfg: Config = config(tmp_path, "fidan").model_copy(update={"settings": settings, "subscribers": subscribers})
    now = noon + timedelta(minutes=20)
    assert len(SpikeTicker(db).tick(cfg, now)) == 1
    worker = DeliveryWorker(Outbox(db), lambda: cfg, {"HOOK_SECRET": WEBHOOK_SECRET}, owner="t", clock=lambda: now)
    try:
        summary = worker.send_due()
    finally:
        worker.close()
    assert (summary.sent, summary.failed) == (2, 0)
    [message] = smtp_server.handler.received
    assert message["To"] == "mail@example.org"
    assert message["Subject"] == "[monitor] Spike: Fidan — 12 stories in the last hour (usually 1)"
    [request] = webhook_receiver.requests
    assert request.verified, request.error
    assert request.payload["type"] == "spike" and request.payload["subscriber"] == "hook"
    assert [s["outlets"] for s in request.payload["spike"]["top_stories"]] == [12, 11, 10, 9, 8]
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(request.payload)
    # `monitor deliveries --resend`: a new delivery (new Message-ID) showing the same spike.
    resend = Outbox(db).resend(str(message["X-Monitor-Delivery"]), now)
    worker = DeliveryWorker(Outbox(db), lambda: cfg, {"HOOK_SECRET": WEBHOOK_SECRET}, owner="t", clock=lambda: now)
    try:
        assert worker.send_due().sent == 1
    finally:
        worker.close()
    again = smtp_server.handler.received[-1]
    assert again["X-Monitor-Delivery"] == resend.id and again["Subject"] == message["Subject"]
