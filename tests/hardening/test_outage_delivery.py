"""Outages of the receivers: the SMTP server and a webhook endpoint go down, then come back (or never do).

Real pieces throughout: the feed server, FeedPoller and DeliveryWorker (tests/notify harness), an aiosmtpd
server and a signature-verifying webhook receiver (tests/notify fixtures) behind a Switch that refuses
connections while "down". The clock is the harness's injected one, advanced past each retry delay.
Each test ends with every delivery sent exactly once or failed visibly (`monitor deliveries --failed`).
"""

from __future__ import annotations

from datetime import timedelta

from monitor.notify.retry import JITTER, MAX_ATTEMPTS, SCHEDULE
from tests.hardening.support import (
    Switch,
    assert_nothing_failed,
    failed_deliveries,
    pending,
    requeue_by_hand,
    retry_round,
)
from tests.notify.conftest import SmtpServer, WebhookReceiver, body_text
from tests.notify.test_notify_flow_harness import (
    Flow,
    checked_requests,
    email_subscriber,
    stories,
    utc,
    webhook_subscriber,
)

START = utc(2026, 11, 24, 9, 0)


# --------------------------------------------------------------- SMTP


def test_smtp_down_then_back_sends_every_delivery_once(tmp_path, database_url, feed_server,
                                                       smtp_server: SmtpServer) -> None:
    switch = Switch(smtp_server.settings.port)  # down from the start: connection refused
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1")}, start=START, smtp_port=switch.port)
    refused = f"SMTP 127.0.0.1:{switch.port}: connection refused"
    try:
        flow.poll()
        first = flow.deliver()
        assert (first.assembled, first.sent, first.retried) == (1, 0, 1)
        [a] = pending(flow)
        assert a.last_error == refused and a.attempts == 1
        assert timedelta(seconds=4) <= a.next_attempt_at - START <= timedelta(seconds=6)

        retry_round(flow, expect_error=refused)  # attempt 2 of the first alert

        # A second alert is born while the server is down: it starts its own schedule.
        flow.set_feed("wire", stories("k1", "k2"))
        flow.poll()
        flow.deliver()
        assert len(pending(flow)) == 2
        retry_round(flow, expect_error=refused)

        # Back, but busy at first (421: temporary, RFC 5321), then accepting.
        switch.up()
        smtp_server.handler.data_replies.append("421 4.3.2 Service not available, try again later")
        after = retry_round(flow)
        assert sum(1 for d in after.values() if d.status == "sent") == 1
        assert any("421" in (d.last_error or "") for d in after.values() if d.status == "pending")
        retry_round(flow)

        deliveries = flow.deliveries()
        assert [d.status for d in deliveries] == ["sent", "sent"]
        received = smtp_server.handler.received
        assert sorted(str(m["Message-ID"]) for m in received) == sorted(f"<{d.id}@test.example>" for d in deliveries)
        texts = [body_text(m, "plain") for m in received]
        for key in ("k1", "k2"):
            assert sum(t.count(f"Kalın meets counterpart ({key})") for t in texts) == 1, key

        # Nothing more goes out later: no delivery is left to retry.
        flow.advance(days=3)
        assert flow.deliver().sent == 0
        assert len(smtp_server.handler.received) == 2
        assert_nothing_failed(flow)
    finally:
        flow.close()
        switch.close()


def test_smtp_down_past_the_last_retry_fails_visibly(tmp_path, database_url, feed_server,
                                                     smtp_server: SmtpServer) -> None:
    switch = Switch(smtp_server.settings.port)
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1")}, start=START, smtp_port=switch.port)
    refused = f"SMTP 127.0.0.1:{switch.port}: connection refused"
    try:
        flow.poll()
        flow.deliver()
        for _ in range(MAX_ATTEMPTS - 1):
            retry_round(flow, expect_error=refused)
        [delivery] = flow.deliveries()
        assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
        assert delivery.last_error == f"gave up after {MAX_ATTEMPTS} attempts: {refused}"
        assert flow.now - START > sum(SCHEDULE, timedelta()) * (1 - JITTER), "gave up before the schedule ran out"

        listed = flow.cli("deliveries", "--failed", "--json")
        assert listed.exit_code == 0, listed.output
        failed = failed_deliveries(listed.output)
        assert list(failed) == [delivery.id] and failed[delivery.id]["last_error"] == delivery.last_error
        table = flow.cli("deliveries", "--failed")
        assert delivery.id in table.output and "gave up after 8 attempts" in table.output
        flow.advance(days=7)
        assert flow.deliver().sent == 0, "a failed delivery is not retried by itself"

        # The server is back and the operator re-queues it: sent once.
        switch.up()
        requeue_by_hand(flow, delivery.id)
        assert flow.deliver().sent == 1
        [message] = smtp_server.handler.received
        assert message["Message-ID"] == f"<{delivery.id}@test.example>"
        assert_nothing_failed(flow)
    finally:
        flow.close()
        switch.close()


# --------------------------------------------------------------- webhooks


def test_webhook_down_then_503_then_back_sends_every_alert_once(tmp_path, database_url, feed_server,
                                                                 webhook_receiver: WebhookReceiver) -> None:
    switch = Switch(int(webhook_receiver.url.split(":")[2].split("/")[0]))
    url = webhook_receiver.url.replace(webhook_receiver.url.split("/")[2], f"127.0.0.1:{switch.port}")
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[webhook_subscriber("hook", url)],
                feeds={"wire": stories("k1", "k2", "k3")}, start=START)
    try:
        flow.poll()
        assert flow.deliver().retried == 3  # one alert per article, all refused
        assert all("Connection refused" in (d.last_error or "") and url in (d.last_error or "")
                   for d in flow.deliveries()), [d.last_error for d in flow.deliveries()]
        retry_round(flow, expect_error="Connection refused")
        assert webhook_receiver.requests == []

        # Up again but overloaded: 503s, one asking to wait an hour.
        switch.up()
        webhook_receiver.replies[:] = [(503, {}), (503, {"retry-after": "3600"}), (503, {})]
        attempted_at = flow.now + max(d.next_attempt_at - flow.now for d in pending(flow))
        after = retry_round(flow, expect_error="HTTP 503 Service Unavailable", retry_after=3600)
        told_to_wait = webhook_receiver.requests[1].headers["webhook-id"]
        assert after[told_to_wait].next_attempt_at - attempted_at >= timedelta(seconds=3600), "Retry-After ignored"
        others = [d for id, d in after.items() if id != told_to_wait]
        assert all(d.next_attempt_at - attempted_at <= SCHEDULE[2] * (1 + JITTER) for d in others)

        # Healthy now.
        while pending(flow):
            retry_round(flow)
        deliveries = flow.deliveries()
        assert {d.status for d in deliveries} == {"sent"} and len(deliveries) == 3
        requests = checked_requests(webhook_receiver)  # every one signed right and valid against the schema
        ids = [r.headers["webhook-id"] for r in requests]
        assert len(requests) == 6 and sorted(ids[3:]) == sorted(d.id for d in deliveries), ids
        assert sorted(ids[:3]) == sorted(ids[3:]), "a retry has the same webhook-id"
        for id in set(ids):
            payloads = [r.payload for r in requests if r.headers["webhook-id"] == id]
            assert payloads[0] == payloads[1], "a retry carries the same payload"
        titles = sorted(r.payload["items"][0]["article"]["title"] for r in requests[3:])
        assert titles == [f"Kalın meets counterpart (k{i})" for i in (1, 2, 3)]

        flow.advance(days=3)
        assert flow.deliver().sent == 0 and len(webhook_receiver.requests) == 6
        assert_nothing_failed(flow)
    finally:
        flow.close()
        switch.close()


def test_webhook_503_past_the_last_retry_fails_visibly(tmp_path, database_url, feed_server,
                                                       webhook_receiver: WebhookReceiver) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[webhook_subscriber("hook", webhook_receiver.url)],
                feeds={"wire": stories("k1")}, start=START)
    webhook_receiver.replies[:] = [(503, {})] * MAX_ATTEMPTS
    try:
        flow.poll()
        flow.deliver()
        for _ in range(MAX_ATTEMPTS - 1):
            retry_round(flow, expect_error="HTTP 503")
        [delivery] = flow.deliveries()
        assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
        assert (delivery.last_error or "").startswith(
            f"gave up after {MAX_ATTEMPTS} attempts: webhook {webhook_receiver.url}: HTTP 503 Service Unavailable")
        requests = checked_requests(webhook_receiver)
        assert [r.headers["webhook-id"] for r in requests] == [delivery.id] * MAX_ATTEMPTS

        listed = flow.cli("deliveries", "--failed", "--json")
        failed = failed_deliveries(listed.output)
        assert list(failed) == [delivery.id] and failed[delivery.id]["last_error"] == delivery.last_error
        flow.advance(days=7)
        assert flow.deliver().failed == 0 and len(webhook_receiver.requests) == MAX_ATTEMPTS

        requeue_by_hand(flow, delivery.id)  # the endpoint is healthy again (no scripted replies left)
        assert flow.deliver().sent == 1
        assert [r.headers["webhook-id"] for r in checked_requests(webhook_receiver)] == [delivery.id] * (
            MAX_ATTEMPTS + 1)
        assert_nothing_failed(flow)
    finally:
        flow.close()
