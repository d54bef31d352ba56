"""`monitor deliveries --failed` shows what is still retrying; `--resend ID` sends a sent delivery again (real SMTP)."""

from __future__ import annotations

import json
from datetime import timedelta

from monitor.store.rows import Delivery
from monitor.store.subscriptions import Subscriptions
from tests.notify.conftest import SmtpServer, body_text
from tests.notify.test_notify_flow_harness import Flow, email_subscriber, stories, utc
from tests.support.feedserver import FeedServer

START = utc(2026, 11, 24, 9, 0)


def catch_up(flow: Flow, delivery: Delivery) -> None:
    """Move the test clock to a delivery the CLI queued (it stamps the wall clock) if that is later."""
    flow.now = max(flow.now, delivery.next_attempt_at) + timedelta(seconds=1)


def test_failed_lists_deliveries_still_retrying_with_error_and_next_attempt(
    tmp_path, database_url: str, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk"), email_subscriber("ops")],
                feeds={"wire": stories("k1")}, start=START, smtp_port=smtp_server.settings.port)
    smtp_server.handler.refuse_rcpt["ops@test.example"] = "550 5.1.1 no such mailbox"
    smtp_server.handler.data_replies.append("451 4.3.0 mailbox busy, try again later")
    try:
        flow.poll()
        summary = flow.deliver()
        assert (summary.sent, summary.retried, summary.failed) == (0, 1, 1)
        retrying = flow.deliveries(status="pending")[0]
        failed = flow.deliveries(status="failed")[0]

        listed = flow.cli("deliveries", "--failed")
        assert listed.exit_code == 0, listed.output
        lines = {line.split()[0]: line for line in listed.output.splitlines()[2:]}
        assert set(lines) == {retrying.id, failed.id}
        assert " retrying " in lines[retrying.id] and "451 4.3.0 mailbox busy" in lines[retrying.id]
        assert " failed " in lines[failed.id] and "550 5.1.1" in lines[failed.id]
        rows = {r["id"]: r for r in map(json.loads, flow.cli("deliveries", "--failed", "--json").output.splitlines())}
        assert rows[retrying.id]["status"] == "pending" and rows[retrying.id]["retrying"] is True
        assert rows[retrying.id]["next_attempt_at"] == retrying.next_attempt_at.isoformat()
        assert retrying.next_attempt_at > flow.now, "the next attempt is in the future"
        assert rows[failed.id]["retrying"] is False

        flow.advance(seconds=7)  # the first retry: 5 s ± 20 %
        assert flow.deliver().sent == 1
        remaining = flow.cli("deliveries", "--failed").output
        assert retrying.id not in remaining and failed.id in remaining
    finally:
        flow.close()


def test_resend_sends_a_sent_delivery_again_under_a_new_id(
    tmp_path, database_url: str, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1", "k2")}, start=START, smtp_port=smtp_server.settings.port)
    try:
        flow.poll()
        assert flow.deliver().sent == 1
        [original] = flow.deliveries()
        result = flow.cli("deliveries", "--resend", original.id)
        assert result.exit_code == 0, result.output
        [resend] = [d for d in flow.deliveries() if d.id != original.id]
        assert f"resending {original.id} as {resend.id} (2 item(s) to desk)" in result.output
        assert (resend.status, resend.resend_of, resend.kind, resend.item_count) == ("pending", original.id, "alert", 2)
        catch_up(flow, resend)
        assert flow.deliver().sent == 1
        first, second = smtp_server.handler.received
        assert first["Message-ID"] == f"<{original.id}@test.example>"
        assert second["Message-ID"] == f"<{resend.id}@test.example>", "a new id, so no server drops it as a duplicate"
        assert second["X-Monitor-Delivery"] == resend.id and second["Subject"] == first["Subject"]
        for key in ("k1", "k2"):
            assert f"Kalın meets counterpart ({key})" in body_text(second, "plain")
        assert [d.status for d in flow.deliveries()] == ["sent", "sent"]
        assert flow.outbox.pending_items("desk") == [], "the items stay with the original"
        rows = [json.loads(line) for line in flow.cli("deliveries", "--json").output.splitlines()]
        assert {r["id"]: r["resend_of"] for r in rows} == {original.id: None, resend.id: original.id}

        # A resend of the resend is recorded against the delivery that holds the items.
        again = flow.cli("deliveries", "--resend", resend.id)
        assert again.exit_code == 0, again.output
        [third] = [d for d in flow.deliveries() if d.id not in (original.id, resend.id)]
        assert third.resend_of == original.id
    finally:
        flow.close()


def test_resend_refuses_what_it_cannot_resend(
    tmp_path, database_url: str, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1")}, start=START, smtp_port=smtp_server.settings.port)
    smtp_server.handler.data_replies.append("550 5.7.1 rejected")
    try:
        flow.poll()
        assert flow.deliver().failed == 1
        [failed] = flow.deliveries()
        refused = flow.cli("deliveries", "--resend", failed.id)
        assert refused.exit_code == 1 and f"delivery {failed.id} is failed, not sent; re-queue it with --retry" in refused.output
        unknown = flow.cli("deliveries", "--resend", "dlv_nope")
        assert unknown.exit_code == 1 and "no delivery with id 'dlv_nope'" in unknown.output
        both = flow.cli("deliveries", "--resend", failed.id, "--retry", failed.id)
        assert both.exit_code == 1 and "give --retry or --resend, not both" in both.output

        with flow.db.transaction() as session:
            row = session.get(Delivery, failed.id)
            assert row is not None
            row.status = "sent"
        Subscriptions(flow.db).unsubscribe("desk", "desk@test.example", flow.now)
        opted_out = flow.cli("deliveries", "--resend", failed.id)
        assert opted_out.exit_code == 1 and "desk unsubscribed on" in opted_out.output
        assert "monitor subscribers --resubscribe desk" in opted_out.output
        assert len(flow.deliveries()) == 1, "nothing was queued"
        assert "Traceback" not in refused.output + unknown.output + both.output + opted_out.output
    finally:
        flow.close()
