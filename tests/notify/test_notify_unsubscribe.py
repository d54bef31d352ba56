"""Unsubscribe end to end: the link in a real email (aiosmtpd), the dashboard over real HTTP, routing, resubscribe."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from monitor.store.outbox import add_routed_items
from monitor.store.rows import Delivery, RoutedItem
from monitor.store.subscriptions import Subscriptions
from monitor.web.auth import AuthSettings
from tests.notify.conftest import SmtpServer, body_text
from tests.notify.test_notify_flow_harness import Flow, email_subscriber, stories, utc
from tests.support.dashboard import running_dashboard
from tests.support.feedserver import FeedServer

START = utc(2026, 11, 24, 9, 0)
FORM = {"content-type": "application/x-www-form-urlencoded"}


def received_by(smtp: SmtpServer, address: str) -> list[str]:
    """Titles of the stories in every message the address received, per message."""
    return [body_text(m, "plain") for m in smtp.handler.received if m["To"] == address]


def test_unsubscribe_link_in_an_email_stops_everything_and_resubscribe_brings_it_back(
    tmp_path, database_url: str, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk"), email_subscriber("other")],
                feeds={"wire": stories("k1")}, start=START, smtp_port=smtp_server.settings.port)
    try:
        flow.poll()
        assert flow.deliver().sent == 2
        [message] = [m for m in smtp_server.handler.received if m["To"] == "desk@test.example"]
        header = message["List-Unsubscribe"].strip()  # folded on the wire when long (RFC 5322)
        assert header.startswith("<http://127.0.0.1:8080/unsubscribe/desk/") and header.endswith(">")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = header[1:-1]
        assert link in body_text(message, "plain") and link in body_text(message, "html"), "the footer link too"

        # k2 is matched and its alerts assembled, but not sent yet, when desk clicks.
        flow.set_feed("wire", stories("k1", "k2"))
        flow.advance(minutes=10)
        flow.poll()
        assert flow.worker.assemble() == 2

        # The dashboard requires sign-in; the mail provider's one-click POST carries none, nor a CSRF cookie.
        with running_dashboard(flow.runtime.config, flow.db, AuthSettings(token="dashboard-token")) as base:
            target = base + urlsplit(link).path
            assert httpx.get(base + "/deliveries").headers["location"].startswith("/login"), "the dashboard is closed"
            confirm = httpx.get(target)
            assert confirm.status_code == 200 and "desk@test.example" in confirm.text
            assert Subscriptions(flow.db).opt_out("desk") is None, "opening the link changes nothing"
            done = httpx.post(target, content=b"List-Unsubscribe=One-Click", headers=FORM)
            assert done.status_code == 200 and "You are unsubscribed" in done.text

        [cancelled] = flow.deliveries(subscriber_id="desk", status="cancelled")
        assert "desk@test.example unsubscribed" in (cancelled.last_error or "")
        assert [d.status for d in flow.deliveries(subscriber_id="other")] == ["sent", "pending"]

        flow.set_feed("wire", stories("k1", "k2", "k3"))
        flow.advance(minutes=10)
        assert flow.poll().routed == 1, "k3 is routed to `other` only"
        assert flow.outbox.pending_items("desk") == []
        flow.deliver()
        assert len(received_by(smtp_server, "desk@test.example")) == 1, "nothing more reached desk"
        later = received_by(smtp_server, "other@test.example")[1:]
        assert any("(k2)" in text for text in later) and any("(k3)" in text for text in later)

        listed = flow.cli("subscribers")
        assert listed.exit_code == 0, listed.output
        desk_line = next(line for line in listed.output.splitlines() if line.startswith("desk "))
        assert "unsubscribed" in desk_line and "by desk@test.example" in desk_line
        assert "subscribed" in next(line for line in listed.output.splitlines() if line.startswith("other "))
        rows = [json.loads(line) for line in flow.cli("subscribers", "--json").output.splitlines()]
        assert {r["id"]: r["state"] for r in rows} == {"desk": "unsubscribed", "other": "subscribed"}
        outbox = flow.cli("deliveries")
        assert cancelled.id in outbox.output and "cancelled" in outbox.output

        back = flow.cli("subscribers", "--resubscribe", "desk")
        assert back.exit_code == 0 and "resubscribed desk (desk@test.example" in back.output
        flow.set_feed("wire", stories("k1", "k2", "k3", "k4"))
        flow.advance(minutes=10)
        assert flow.poll().routed == 2
        flow.deliver()
        [_, after] = received_by(smtp_server, "desk@test.example")
        assert "(k4)" in after and "(k2)" not in after and "(k3)" not in after, "what was cancelled stays cancelled"

        again = flow.cli("subscribers", "--resubscribe", "desk")
        assert again.exit_code == 1 and "has not unsubscribed" in again.output
        unknown = flow.cli("subscribers", "--resubscribe", "nobody")
        assert unknown.exit_code == 1 and "unknown subscriber 'nobody'; known: desk, other" in unknown.output
    finally:
        flow.close()


def test_items_that_slip_past_an_opt_out_are_cancelled_not_sent(
    tmp_path, database_url: str, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    """A routing transaction that read the opt-outs just before one committed, and a send in flight, send nothing more."""
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1", "k2")}, start=START, smtp_port=smtp_server.settings.port)
    try:
        flow.poll()
        flow.worker.assemble()
        # A worker holds the lease on desk's alert (it is being sent) when the opt-out is written.
        [claimed] = flow.outbox.claim_due("flow-worker", flow.now, limit=10, lease=timedelta(minutes=5))
        done = Subscriptions(flow.db).unsubscribe("desk", "desk@test.example", flow.now)
        assert done.cancelled_deliveries == 0, "a delivery being sent is left to its worker"
        flow.outbox.mark_retry(claimed.id, "flow-worker", "451 try later", flow.now)  # ... and it failed for now
        # An item routed by a transaction that read the opt-outs before this one committed.
        with flow.db.transaction() as session:
            match_id, article_id = session.execute(
                select(RoutedItem.match_id, RoutedItem.article_id).where(RoutedItem.subscriber_id == "desk")).first()
        with flow.db.transaction() as session:
            add_routed_items(session, [("desk", article_id, "mena-security", "stray-entry", match_id)], flow.now)

        flow.advance(minutes=1)
        summary = flow.worker.send_due()  # the retry comes due: the worker checks the opt-out before sending
        assert (summary.sent, summary.cancelled) == (0, 1)
        flow.deliver()  # the deliver tick cancels the stray item
        assert smtp_server.handler.received == []
        assert [d.status for d in flow.deliveries()] == ["cancelled", "cancelled"], "the alert, then the stray item"
        assert flow.outbox.pending_items("desk") == [], "the stray item is held by a cancelled delivery"
        with flow.db.sessions() as session:
            reasons = session.scalars(select(Delivery.last_error).where(Delivery.subscriber_id == "desk")).all()
        assert all("unsubscribed" in (r or "") for r in reasons)
    finally:
        flow.close()


def test_an_unsubscribed_digest_is_neither_built_nor_previewed(tmp_path, feed_server: FeedServer) -> None:
    flow = Flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server,
                subscribers=[email_subscriber("daily", "daily 07:30"), email_subscriber("weekly", "weekly mon 08:00")],
                feeds={"wire": stories("k1")}, start=START)
    try:
        flow.poll()
        assert flow.deliver().assembled == 0  # the digests' first sight: periods are counted from now
        Subscriptions(flow.db).unsubscribe("daily", "daily@test.example", flow.now)
        assert flow.outbox.pending_items("daily") == [], "what was waiting for the digest was cancelled"
        result = flow.cli("digest")
        assert result.exit_code == 0, result.output
        assert "== daily: unsubscribed; no digest (monitor subscribers --resubscribe daily) ==" in result.output
        assert "1 digest(s) built; 1 sent" in result.output, "the other subscriber's digest only"
        assert [d.subscriber_id for d in flow.deliveries(status="sent")] == ["weekly"]
        assert "== daily: unsubscribed" in flow.cli("digest", "--preview").output
        flow.set_feed("wire", stories("k1", "k2"))
        flow.advance(days=2)  # two 07:30s: without the opt-out, the daily digest's catch-up would carry k2 now
        assert flow.poll().routed == 1, "k2 is routed to weekly only"
        assert flow.deliver().assembled == 0, "no scheduled digest either"
        assert flow.cli("subscribers", "--resubscribe", "daily").exit_code == 0
        flow.advance(days=1)
        assert flow.deliver().assembled == 0, "nothing new since the resubscribe: no empty digest"
        assert [d.subscriber_id for d in flow.deliveries(status="sent")] == ["weekly"]
    finally:
        flow.close()


def test_subscribers_lists_webhooks_without_their_secret_path(tmp_path, feed_server: FeedServer) -> None:
    from tests.notify.test_notify_flow_harness import webhook_subscriber

    hook = webhook_subscriber("chat", "https://hooks.example.net/services/T0/B0/s3cretPathToken")
    flow = Flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server, subscribers=[hook],
                feeds={"wire": stories("k1")}, start=START)
    try:
        result = flow.cli("subscribers")
        assert result.exit_code == 0, result.output
        assert "https://hooks.example.net/…" in result.output and "s3cretPathToken" not in result.output
        assert "unsubscribed" not in result.output
    finally:
        flow.close()
