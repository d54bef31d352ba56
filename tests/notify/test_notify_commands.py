"""`monitor digest [--subscriber ID] [--preview]` and `monitor deliveries` through the CLI, on real stored data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import jsonschema
import pytest

from tests.notify.conftest import SCHEMA_PATH, WebhookReceiver
from tests.notify.test_notify_flow_harness import Flow, email_subscriber, kalin_story, utc, webhook_subscriber
from tests.support.feedserver import FeedServer


@pytest.fixture
def flow(tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver) -> Iterator[Flow]:
    """Two digest subscribers (email and webhook) with two articles pending, file email transport."""
    flow = Flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server,
                subscribers=[email_subscriber("daily", "daily 07:30", "Europe/Istanbul"),
                             webhook_subscriber("hookd", webhook_receiver.url, "weekly mon 08:00")],
                feeds={"wire": [kalin_story("k1", utc(2026, 11, 24, 6)), kalin_story("k2", utc(2026, 11, 24, 7))]},
                start=utc(2026, 11, 24, 9, 0))
    flow.poll()
    try:
        yield flow
    finally:
        flow.close()


def test_digest_preview_renders_and_marks_nothing(flow: Flow) -> None:
    result = flow.cli("digest", "--preview")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "== daily: 2 pending article(s) ==" in out
    assert "Subject: [monitor] 2 new articles: Kalın meets counterpart (k1) — MENA security" in out
    assert "Kalın meets counterpart (k1)" in out and "*İbrahim Kalın*" in out, "text part, matches marked"
    assert "== hookd: 2 pending article(s) ==" in out
    payload = json.loads(out.split("== hookd: 2 pending article(s) ==\n", 1)[1])
    jsonschema.validate(payload, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert payload["type"] == "digest" and len(payload["items"]) == 2

    assert flow.deliveries() == [], "a preview creates no delivery"
    assert len(flow.outbox.pending_items("daily")) == 2 and len(flow.outbox.pending_items("hookd")) == 2
    assert not flow.outbox_dir.exists() or not list(flow.outbox_dir.iterdir())


def test_digest_preview_of_one_subscriber(flow: Flow) -> None:
    result = flow.cli("digest", "--preview", "--subscriber", "hookd")
    assert result.exit_code == 0, result.output
    assert "== hookd:" in result.output and "== daily:" not in result.output


def test_digest_for_one_subscriber_sends_now(flow: Flow, webhook_receiver: WebhookReceiver) -> None:
    result = flow.cli("digest", "--subscriber", "daily")
    assert result.exit_code == 0, result.output
    assert "1 digest(s) built; 1 sent, 0 to retry, 0 failed" in result.output
    [eml] = sorted(flow.outbox_dir.glob("*.eml"))
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "daily@test.example" and message["Subject"] == (
        "[monitor] 2 new articles: Kalın meets counterpart (k1) — MENA security")
    [delivery] = flow.deliveries()
    assert (delivery.subscriber_id, delivery.kind, delivery.status, delivery.item_count) == ("daily", "digest", "sent", 2)
    assert flow.outbox.pending_items("daily") == []
    assert len(flow.outbox.pending_items("hookd")) == 2 and webhook_receiver.requests == [], "others untouched"

    again = flow.cli("digest", "--subscriber", "daily")
    assert again.exit_code == 0 and "0 digest(s) built" in again.output, "nothing pending: no empty digest"
    assert len(list(flow.outbox_dir.glob("*.eml"))) == 1


def test_digest_unknown_subscriber_fails(flow: Flow) -> None:
    result = flow.cli("digest", "--subscriber", "nobody")
    assert result.exit_code == 1
    assert "unknown subscriber 'nobody'; known: daily, hookd" in result.output


def test_deliveries_table_json_failed_and_retry(flow: Flow, webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.replies.append((400, {}))
    assert flow.cli("digest").exit_code == 0  # daily: sent to the file outbox; hookd: 400, a permanent failure
    sent = flow.deliveries(subscriber_id="daily")[0]
    failed = flow.deliveries(subscriber_id="hookd")[0]
    assert (sent.status, failed.status) == ("sent", "failed")

    table = flow.cli("deliveries")
    assert table.exit_code == 0, table.output
    header, rule, *lines = table.output.splitlines()
    assert header.split() == ["id", "subscriber", "what", "status", "attempts", "items", "created", "next", "try",
                              "last", "error"]
    assert set(rule) <= {"-", " "}
    row = next(line for line in lines if line.startswith(failed.id))
    assert "hookd" in row and "webhook/digest" in row and "failed" in row and "HTTP 400" in row
    assert any(line.startswith(sent.id) and "email/digest" in line and " sent " in line for line in lines)

    only_failed = flow.cli("deliveries", "--failed")
    assert failed.id in only_failed.output and sent.id not in only_failed.output

    rows = [json.loads(line) for line in flow.cli("deliveries", "--json").output.splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {sent.id, failed.id}
    assert by_id[failed.id]["status"] == "failed" and "HTTP 400" in by_id[failed.id]["last_error"]
    assert by_id[sent.id]["sent_at"] and by_id[sent.id]["items"] == 2 and by_id[sent.id]["kind"] == "digest"

    retried = flow.cli("deliveries", "--retry", failed.id)
    assert retried.exit_code == 0 and f"re-queued {failed.id}" in retried.output
    assert flow.deliveries(subscriber_id="hookd")[0].status == "pending"
    assert flow.cli("deliveries", "--failed").output.count(failed.id) == 0

    unknown = flow.cli("deliveries", "--retry", "dlv_nope")
    assert unknown.exit_code == 1 and "no failed or pending delivery with id 'dlv_nope'" in unknown.output
    assert flow.cli("deliveries", "--retry", sent.id).exit_code == 1, "a sent delivery is not re-queued"
