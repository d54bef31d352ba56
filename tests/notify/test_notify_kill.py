"""Crash safety: a delivery worker SIGKILLed mid-send 20 times loses nothing and re-sends with the same ids."""

from __future__ import annotations

import os
from pathlib import Path

from tests.notify.conftest import WEBHOOK_SECRET, WebhookReceiver
from tests.notify.test_notify_flow_harness import (
    SECRET_ENV,
    Flow,
    checked_requests,
    kalin_story,
    utc,
    webhook_subscriber,
)
from tests.support.feedserver import FeedServer
from tests.support.kill_harness import assert_resends_identical, send_through_kills

KILLS = 20
DELIVERIES = 12  # more than the kills can complete (at most one per two kills), so every kill finds work


def test_worker_killed_mid_send_loses_nothing(tmp_path: Path, feed_server: FeedServer,
                                              webhook_receiver: WebhookReceiver) -> None:
    database = f"sqlite:///{tmp_path / 'monitor.db'}"
    flow = Flow(tmp_path, database, feed_server,
                subscribers=[webhook_subscriber("hook", webhook_receiver.url)],
                feeds={"wire": [kalin_story(f"s{i}", utc(2026, 11, 24, 6, i)) for i in range(DELIVERIES)]},
                start=utc(2026, 11, 24, 9, 0))
    flow.poll()
    assert flow.worker.assemble() == DELIVERIES  # one webhook alert per article, sent only by the workers below
    ids = {d.id for d in flow.deliveries()}
    flow.close()

    rows = send_through_kills(flow.config_dir, database, {**os.environ, SECRET_ENV: WEBHOOK_SECRET},
                              webhook_receiver, kills=KILLS, log=tmp_path / "worker.log")

    assert {d.id for d in rows} == ids and all(d.status == "sent" for d in rows), "nothing lost"
    received = checked_requests(webhook_receiver)  # every request verified and schema-valid
    assert {r.headers["webhook-id"] for r in received} == ids
    assert len(received) >= len(ids) + KILLS, "each kill interrupted a request, which was sent again"
    assert_resends_identical(received, lambda r: r.headers["webhook-id"], lambda r: r.payload)
