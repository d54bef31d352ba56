"""The spike and feed-health emails: golden HTML and text parts, escaping of feed text in both."""

from __future__ import annotations

from email.message import EmailMessage

from monitor.config.models import EmailSettings, SubscriberConfig
from monitor.notify.channels.email_message import build_feed_health_email, build_spike_email
from monitor.notify.content import DeliveryContent
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
