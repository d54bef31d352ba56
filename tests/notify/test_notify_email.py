"""The email message: parts, headers, stable ids, RFC 8058 unsubscribe."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from monitor.config.models import EmailSettings, SubscriberConfig
from monitor.errors import DeliveryError
from monitor.notify.channels.email_message import build_email, message_id
from monitor.notify.unsubscribe import token_valid, unsubscribe_token

BASE = "https://monitor.example.org"
SECRET = b"test-unsubscribe-secret"
TOKEN = unsubscribe_token(SECRET, "mena-desk", "mena-desk@example.org")


def test_message_structure_and_headers(digest_content, subscriber, email_settings, part_text) -> None:
    msg = build_email(digest_content, subscriber, email_settings, base_url=BASE, unsubscribe_secret=SECRET)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"] == "Monitor <monitor@example.org>"
    assert msg["To"] == "MENA desk <mena-desk@example.org>"
    assert msg["Subject"] == (
        "[monitor] 3 new articles: Turkish intelligence chief Kalın meets Shin Bet head on Gaza captives"
        " — MENA security, Energy")
    assert parsedate_to_datetime(msg["Date"]) == digest_content.created_at
    assert msg["Message-ID"] == "<dlv-2024-11-19-mena-desk@example.org>"
    assert msg["List-Unsubscribe"] == f"<{BASE}/unsubscribe/mena-desk/{TOKEN}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["X-Monitor-Delivery"] == "dlv-2024-11-19-mena-desk"
    text, html = part_text(msg, "plain"), part_text(msg, "html")
    assert "*İbrahim Kalın*" in text and "<mark" in html
    assert f"{BASE}/unsubscribe/mena-desk/{TOKEN}" in html and f"{BASE}/unsubscribe/mena-desk/{TOKEN}" in text
    # Each item links to its dashboard article page (base_url is the dashboard's public address).
    assert f'href="{BASE}/articles/a1"' in html and f"{BASE}/articles/a3" in text


def test_round_trips_through_bytes(digest_content, subscriber, email_settings, part_text) -> None:
    msg = build_email(digest_content, subscriber, email_settings, base_url=BASE, unsubscribe_secret=SECRET)
    raw = msg.as_bytes(policy=policy.SMTP)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == (
        "[monitor] 3 new articles: Turkish intelligence chief Kalın meets Shin Bet head on Gaza captives"
        " — MENA security, Energy")
    assert isinstance(parsed, EmailMessage)
    assert "İbrahim Kalın" in part_text(parsed, "html")


def test_same_delivery_builds_the_same_message(digest_content, subscriber, email_settings) -> None:
    a = build_email(digest_content, subscriber, email_settings, base_url=BASE, unsubscribe_secret=SECRET)
    b = build_email(digest_content, subscriber, email_settings, base_url=BASE, unsubscribe_secret=SECRET)
    assert a.as_bytes() == b.as_bytes()


def test_configured_unsubscribe_url(digest_content, subscriber) -> None:
    settings = EmailSettings.model_validate(
        {"from": "x@lists.example.net", "unsubscribe_url": "https://lists.example.net/unsub?s={subscriber}&t={token}"})
    msg = build_email(digest_content, subscriber, settings, base_url=BASE, unsubscribe_secret=SECRET)
    assert msg["List-Unsubscribe"] == f"<https://lists.example.net/unsub?s=mena-desk&t={TOKEN}>"
    assert msg["Message-ID"].endswith("@lists.example.net>")


def test_message_id_is_safe_for_odd_delivery_ids() -> None:
    assert message_id("a b@c<d>", "Monitor <m@example.org>") == "<a-b-c-d-@example.org>"
    assert message_id("x", "no address") == "<x@monitor.local>"


def test_alert_subject_in_message(digest_content, subscriber, email_settings) -> None:
    alert = dataclasses.replace(digest_content, kind="alert", items=digest_content.items[:1])
    msg = build_email(alert, subscriber, email_settings, base_url=BASE, unsubscribe_secret=SECRET)
    assert msg["Subject"].startswith("[monitor] Alert: Turkish intelligence chief Kalın")


def test_webhook_subscriber_has_no_email(digest_content, email_settings) -> None:
    hook = SubscriberConfig(id="case-system", webhook={"url": "https://h.example.org/x"},  # type: ignore[arg-type]
                            watchlists=("mena-security",))
    with pytest.raises(DeliveryError) as err:
        build_email(digest_content, hook, email_settings, base_url=BASE, unsubscribe_secret=SECRET)
    assert err.value.permanent


def test_unsubscribe_token_is_signed_per_subscriber_and_address() -> None:
    """The token is an HMAC: it cannot be made from the id, differs per subscriber, address and key."""
    assert len(TOKEN) == 22 and "mena-desk" not in TOKEN
    assert token_valid(SECRET, "mena-desk", "Mena-Desk@Example.org", TOKEN), "addresses compare case-insensitively"
    assert not token_valid(SECRET, "energy-desk", "mena-desk@example.org", TOKEN)
    assert not token_valid(SECRET, "mena-desk", "someone-else@example.org", TOKEN)
    assert not token_valid(b"another-key", "mena-desk", "mena-desk@example.org", TOKEN)
    assert not token_valid(SECRET, "mena-desk", "mena-desk@example.org", TOKEN[:-1] + ("A" if TOKEN[-1] != "A" else "B"))
    assert not token_valid(SECRET, "mena-desk", "mena-desk@example.org", "")
    assert not token_valid(SECRET, "mena-desk", "mena-desk@example.org", "ü" * 22)
