"""Delivery through the real pipeline: feed server -> FeedPoller -> DeliveryWorker -> aiosmtpd / webhook receiver."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

from tests.notify.conftest import SmtpServer, body_text
from tests.notify.test_notify_flow_harness import (
    Flow,
    checked_requests,
    email_subscriber,
    stories,
    utc,
    webhook_subscriber,
)

START = utc(2026, 11, 24, 9, 0)


def record_data_attempts(smtp: SmtpServer) -> list[str]:
    """Message-IDs of every DATA the server saw, refused or accepted (the handler keeps only accepted)."""
    attempts: list[str] = []
    handler = smtp.handler
    original = handler.handle_DATA

    async def handle_data(server: Any, session: Any, envelope: Any) -> str:
        attempts.append(str(message_from_bytes(envelope.content, policy=policy.default)["Message-ID"]))
        return await original(server, session, envelope)

    handler.handle_DATA = handle_data  # type: ignore[method-assign]
    return attempts


def test_immediate_email_then_repoll_sends_nothing(tmp_path, database_url, feed_server, smtp_server) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk", timezone="Europe/Istanbul")],
                feeds={"wire": stories("k1", "k2")}, start=START, smtp_port=smtp_server.settings.port)
    try:
        assert flow.poll().new_articles == 2
        summary = flow.deliver()
        assert (summary.assembled, summary.sent, summary.failed) == (1, 1, 0)
        [message] = smtp_server.handler.received
        assert message["To"] == "desk@test.example"
        assert message["Subject"].startswith("[monitor] Alert: 2 new articles")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        [delivery] = flow.deliveries()
        assert delivery.status == "sent" and message["Message-ID"] == f"<{delivery.id}@test.example>"
        text = body_text(message, "plain")
        assert "Kalın meets counterpart (k1)" in text and "Kalın meets counterpart (k2)" in text
        assert "24 Nov 2026, 09:00 +03" in text, "times are shown in the subscriber's zone"
        assert re.search(r"<mark[^>]*>İbrahim Kalın</mark>", body_text(message, "html"))

        flow.advance(minutes=10)
        again = flow.poll()
        assert (again.new_articles, again.updated_articles, again.routed) == (0, 0, 0)
        assert flow.deliver().sent == 0
        assert len(smtp_server.handler.received) == 1, "a re-poll with no new items sends nothing"
    finally:
        flow.close()


def test_article_in_two_feeds_is_sent_once(tmp_path, database_url, feed_server, smtp_server,
                                           webhook_receiver) -> None:
    shared = stories("shared")
    flow = Flow(tmp_path, database_url, feed_server,
                subscribers=[email_subscriber("desk"), webhook_subscriber("hook", webhook_receiver.url)],
                feeds={"wire": shared + stories("own"), "observer": shared},
                start=START, smtp_port=smtp_server.settings.port)
    try:
        flow.poll()
        flow.deliver()
        [message] = smtp_server.handler.received
        text = body_text(message, "plain")
        assert text.count("Kalın meets counterpart (shared)") == 1
        assert "Also reported by" in text
        alerts = checked_requests(webhook_receiver)
        titles = sorted(r.payload["items"][0]["article"]["title"] for r in alerts)
        assert titles == ["Kalın meets counterpart (own)", "Kalın meets counterpart (shared)"]
        shared_alert = next(r for r in alerts if "shared" in r.payload["items"][0]["article"]["title"])
        assert shared_alert.payload["items"][0]["article"]["cluster_size"] == 2

        flow.advance(minutes=5)
        flow.poll()  # both feeds again, unchanged
        flow.deliver()
        assert len(smtp_server.handler.received) == 1 and len(webhook_receiver.requests) == 2
    finally:
        flow.close()


def test_webhook_alert_per_article_and_daily_digest(tmp_path, database_url, feed_server, webhook_receiver) -> None:
    flow = Flow(tmp_path, database_url, feed_server,
                subscribers=[webhook_subscriber("alerts", webhook_receiver.url),
                             webhook_subscriber("daily", webhook_receiver.url, "daily 08:00", "Europe/Istanbul")],
                feeds={"wire": stories("k1", "k2", "k3")}, start=START)
    try:
        flow.deliver()  # the digest subscriber's periods start counting now
        flow.poll()
        flow.deliver()
        alerts = checked_requests(webhook_receiver)
        assert [r.payload["type"] for r in alerts] == ["alert"] * 3
        assert all(len(r.payload["items"]) == 1 and r.payload["subscriber"] == "alerts" for r in alerts)
        assert len({r.headers["webhook-id"] for r in alerts}) == 3

        flow.advance(hours=19, minutes=59)  # 2026-11-25 04:59Z = 07:59 in Istanbul
        flow.deliver()
        assert len(webhook_receiver.requests) == 3
        flow.advance(minutes=1)
        flow.deliver()
        digest = checked_requests(webhook_receiver)[3]
        assert digest.payload["type"] == "digest" and digest.payload["subscriber"] == "daily"
        assert digest.payload["created_at"] == "2026-11-25T05:00:00Z"
        assert sorted(i["article"]["title"][-3:-1] for i in digest.payload["items"]) == ["k1", "k2", "k3"]
        [row] = flow.deliveries(subscriber_id="daily")
        assert row.period_key == "digest@2026-11-25T05:00Z" and row.status == "sent"
    finally:
        flow.close()


def test_smtp_421_is_retried_with_the_same_message_id(tmp_path, database_url, feed_server, smtp_server) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1")}, start=START, smtp_port=smtp_server.settings.port)
    attempts = record_data_attempts(smtp_server)
    smtp_server.handler.data_replies.append("421 4.3.2 Service busy, try again later")
    try:
        flow.poll()
        assert flow.deliver().retried == 1
        [delivery] = flow.deliveries()
        assert delivery.status == "pending" and "421" in (delivery.last_error or "")
        assert flow.deliver().sent == 0, "not before the retry time"
        flow.advance(seconds=7)  # first retry after 5 s ± 20 %
        assert flow.deliver().sent == 1
        [message] = smtp_server.handler.received
        assert attempts == [message["Message-ID"], message["Message-ID"]]
        [delivery] = flow.deliveries()
        assert (delivery.status, delivery.attempts) == ("sent", 2)
    finally:
        flow.close()


def test_smtp_550_fails_visibly_and_is_requeued_by_hand(tmp_path, database_url, feed_server, smtp_server) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1")}, start=START, smtp_port=smtp_server.settings.port)
    smtp_server.handler.data_replies.append("550 5.7.1 Message rejected by policy")
    try:
        flow.poll()
        assert flow.deliver().failed == 1
        [delivery] = flow.deliveries()
        assert delivery.status == "failed" and "550" in (delivery.last_error or "")
        flow.advance(days=1)
        assert flow.deliver().sent == 0, "a permanent failure is not retried by itself"

        listed = flow.cli("deliveries", "--failed")
        assert listed.exit_code == 0, listed.output
        assert delivery.id in listed.output and "failed" in listed.output and "550" in listed.output

        requeued = flow.cli("deliveries", "--retry", delivery.id)
        assert requeued.exit_code == 0 and f"re-queued {delivery.id}" in requeued.output
        assert flow.deliver().sent == 1
        [message] = smtp_server.handler.received
        assert message["Message-ID"] == f"<{delivery.id}@test.example>"
        assert flow.cli("deliveries", "--failed").output.count(delivery.id) == 0
    finally:
        flow.close()


def test_webhook_500_is_retried_with_the_same_webhook_id(tmp_path, database_url, feed_server,
                                                         webhook_receiver) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[webhook_subscriber("hook", webhook_receiver.url)],
                feeds={"wire": stories("k1")}, start=START)
    webhook_receiver.replies.append((500, {}))
    try:
        flow.poll()
        assert flow.deliver().retried == 1
        flow.advance(seconds=7)
        assert flow.deliver().sent == 1
        first, second = checked_requests(webhook_receiver)
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == flow.deliveries()[0].id
        assert first.payload == second.payload
    finally:
        flow.close()


def test_webhook_410_disables_the_endpoint(tmp_path, database_url, feed_server, webhook_receiver) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[webhook_subscriber("hook", webhook_receiver.url)],
                feeds={"wire": stories("k1")}, start=START)
    webhook_receiver.replies.append((410, {}))
    try:
        flow.poll()
        assert flow.deliver().failed == 1
        [gone] = flow.deliveries()
        assert gone.status == "failed" and "410" in (gone.last_error or "")

        flow.advance(minutes=10)
        flow.set_feed("wire", stories("k1", "k2"))
        flow.poll()
        assert flow.deliver().failed == 1
        assert len(webhook_receiver.requests) == 1, "a disabled endpoint is not called again"
        later = flow.deliveries()[1]
        assert later.status == "failed" and (later.last_error or "").startswith("endpoint disabled: ")
        listed = flow.cli("deliveries", "--failed")
        assert gone.id in listed.output and later.id in listed.output
        checked_requests(webhook_receiver)
    finally:
        flow.close()


def test_webhook_to_a_private_address_is_refused(tmp_path, feed_server, webhook_receiver) -> None:
    flow = Flow(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", feed_server,
                subscribers=[webhook_subscriber("hook", webhook_receiver.url)],
                feeds={"wire": stories("k1")}, start=START)
    try:
        flow.poll()  # the feed server is on 127.0.0.1 as well: poll before closing the policy
        flow.set_allow_private_networks(False)
        assert flow.deliver().failed == 1
        [delivery] = flow.deliveries()
        assert delivery.status == "failed"
        assert "refused by the address policy: 127.0.0.1" in (delivery.last_error or "")
        assert "allow_private_networks" in (delivery.last_error or "")
        assert webhook_receiver.requests == []

        # Allowed again (a reload): the same delivery, re-queued, now goes through.
        flow.set_allow_private_networks(True)
        assert flow.outbox.requeue(delivery.id, flow.now)
        assert flow.deliver().sent == 1
        assert [r.headers["webhook-id"] for r in checked_requests(webhook_receiver)] == [delivery.id]
    finally:
        flow.close()
