"""The spike and feed-health emails (golden HTML and text parts) and the one layout every email extends."""

from __future__ import annotations

import dataclasses
from email.message import EmailMessage
from pathlib import Path

from monitor.config.models import EmailSettings, SubscriberConfig
from monitor.notify.channels.email_message import build_feed_health_email, build_spike_email
from monitor.notify.content import DeliveryContent
from monitor.notify.render import PACKAGED_TEMPLATES, render_email_text
from tests.notify.conftest import body_text

BASE = "https://monitor.example.org"
SECRET = b"golden-unsubscribe-secret-32-bytes"


def spike_email(content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings) -> EmailMessage:
    return build_spike_email(content, subscriber, settings, base_url=BASE, unsubscribe_secret=SECRET)


def feed_health_email(content: DeliveryContent, subscriber: SubscriberConfig,
                      settings: EmailSettings) -> EmailMessage:
    return build_feed_health_email(content, subscriber, settings, base_url=BASE, unsubscribe_secret=SECRET)


def test_spike_html_golden(spike_content, subscriber, email_settings, golden) -> None:
    golden("spike.html", body_text(spike_email(spike_content, subscriber, email_settings), "html"))


def test_spike_text_golden(spike_content, subscriber, email_settings, golden) -> None:
    golden("spike.txt", body_text(spike_email(spike_content, subscriber, email_settings), "plain"))


def test_feed_health_html_golden(feed_health_content, subscriber, email_settings, golden) -> None:
    golden("feed_health.html", body_text(feed_health_email(feed_health_content, subscriber, email_settings), "html"))


def test_feed_health_text_golden(feed_health_content, subscriber, email_settings, golden) -> None:
    golden("feed_health.txt", body_text(feed_health_email(feed_health_content, subscriber, email_settings), "plain"))


def test_every_email_extends_the_one_layout() -> None:
    # The frame (head, styles, header, footer, signature) is written once: a message only fills blocks.
    for ext, frame in (("html", "<!DOCTYPE html>"), ("txt", "\n-- \n")):
        messages = sorted(p for p in PACKAGED_TEMPLATES.glob(f"*.{ext}") if p.name != f"layout.{ext}")
        assert messages, f"no packaged .{ext} email templates"
        for path in messages:
            source = path.read_text(encoding="utf-8")
            assert source.startswith(f'{{% extends "layout.{ext}" %}}\n'), path.name
            assert frame not in source, path.name


def test_an_operator_layout_frames_every_email(tmp_path: Path, digest_content, spike_content, subscriber) -> None:
    (tmp_path / "layout.txt").write_text("{% block body %}{% endblock %}\n== our desk ==\n")
    settings = EmailSettings.model_validate({"from": "Monitor <monitor@example.org>", "templates_dir": tmp_path})
    assert render_email_text(digest_content, subscriber, settings).endswith("\n== our desk ==\n")
    assert body_text(spike_email(spike_content, subscriber, settings), "plain").endswith("\n== our desk ==\n")


def test_a_single_feed_health_alert_is_headed_by_its_own_heading(feed_health_content, subscriber,
                                                                  email_settings) -> None:
    one = dataclasses.replace(feed_health_content, feed_health=feed_health_content.feed_health[:1])
    message = feed_health_email(one, subscriber, email_settings)
    assert message["Subject"] == "[monitor] Feed failing: Levant Wire & Co (dns for 6 h)"
    html = body_text(message, "html")
    assert ">Feed failing: Levant Wire &amp; Co</h1>" in html and "<h2" not in html
    assert "Error: dns: no such host wire.example</p>" in html
    text = body_text(message, "plain")
    assert text.startswith("Feed failing: Levant Wire & Co\n\nFeed: wire https://wire.example/feed.xml?a=1&b=2\n")
    assert text.endswith("\n\n-- \nmonitor feed-health alert dlv_feed_health_1\nUnsubscribe: "
                         f"{message['List-Unsubscribe'].strip('<>')}\n")
