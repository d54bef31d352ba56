"""Crash safety of the chat channel: a worker SIGKILLed mid-send loses nothing and re-sends under the same delivery id."""

from __future__ import annotations

import os
from pathlib import Path

from tests.notify.test_notify_chat_outbox import URL_ENV, chat_flow, chat_subscriber
from tests.notify.test_notify_flow_harness import kalin_story, utc
from tests.support.chatserver import running_chat_receiver
from tests.support.feedserver import FeedServer
from tests.support.kill_harness import assert_resends_identical, send_through_kills

KILLS = 10
DELIVERIES = 8  # more than the kills can complete (at most one per two kills), so every kill finds work


def test_chat_worker_killed_mid_send_loses_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    database = f"sqlite:///{tmp_path / 'monitor.db'}"
    with running_chat_receiver() as receiver:
        url = f"json://{receiver.host}/chat"
        flow = chat_flow(tmp_path, database, feed_server, url, subscribers=[chat_subscriber("desk")],
                         feeds={"wire": [kalin_story(f"s{i}", utc(2026, 11, 24, 6, i)) for i in range(DELIVERIES)]})
        flow.poll()
        assert flow.worker.assemble() == DELIVERIES  # one message per article, sent only by the workers below
        ids = {d.id for d in flow.deliveries()}
        flow.close()

        rows = send_through_kills(flow.config_dir, database, {**os.environ, URL_ENV: url}, receiver,
                                  kills=KILLS, log=tmp_path / "worker.log")

        assert {d.id for d in rows} == ids and all(d.status == "sent" for d in rows), "nothing lost"
        received = list(receiver.requests)
        assert {r.headers["x-monitor-delivery"] for r in received} == ids
        assert len(received) >= len(ids) + KILLS, "each kill interrupted a request, which was sent again"
        assert_resends_identical(received, lambda r: r.headers["x-monitor-delivery"], lambda r: r.json)
