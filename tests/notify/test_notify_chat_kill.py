"""Crash safety of the chat channel: a worker SIGKILLed mid-send loses nothing and re-sends under the same delivery id."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monitor.store.db import Database
from monitor.store.outbox import Outbox
from tests.notify.test_notify_chat_outbox import URL_ENV, chat_flow, chat_subscriber
from tests.notify.test_notify_flow_harness import kalin_story, utc
from tests.notify.test_notify_kill import WAIT, WORKER, wait_for
from tests.support.chatserver import running_chat_receiver
from tests.support.feedserver import FeedServer

KILLS = 10
DELIVERIES = 8  # more than the kills can complete (at most one per two kills), so every kill finds work
RECEIVER_DELAY = 0.3  # seconds the receiver holds each request: the window the kill lands in


def test_chat_worker_killed_mid_send_loses_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    with running_chat_receiver() as receiver:
        url = f"json://{receiver.host}/chat"
        flow = chat_flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server, url,
                         subscribers=[chat_subscriber("desk")],
                         feeds={"wire": [kalin_story(f"s{i}", utc(2026, 11, 24, 6, i)) for i in range(DELIVERIES)]})
        flow.poll()
        assert flow.worker.assemble() == DELIVERIES  # one message per article, sent only by the workers below
        ids = {d.id for d in flow.deliveries()}
        flow.close()

        env = {**os.environ, URL_ENV: url}
        log = tmp_path / "worker.log"

        def start() -> subprocess.Popen[bytes]:
            with log.open("ab") as err:
                return subprocess.Popen([sys.executable, "-c", WORKER, str(flow.config_dir)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=err)

        receiver.delay = RECEIVER_DELAY
        for kill in range(KILLS):
            # Alternate: kill during the first request, or let one finish and kill during the second.
            target = len(receiver.requests) + 1 + kill % 2
            worker = start()
            try:
                wait_for(lambda target=target: len(receiver.requests) >= target,  # type: ignore[misc]
                         f"request {target}", worker, log)
            finally:
                worker.kill()  # SIGKILL: no cleanup, the lease is left to expire
                worker.wait(timeout=WAIT)

        receiver.delay = 0.0
        outbox = Outbox(Database(f"sqlite:///{tmp_path / 'monitor.db'}"))
        worker = start()
        try:
            wait_for(lambda: all(d.status == "sent" for d in outbox.list(limit=1000)), "every delivery sent",
                     worker, log)
        finally:
            worker.kill()
            worker.wait(timeout=WAIT)

        rows = outbox.list(limit=1000)
        assert {d.id for d in rows} == ids and all(d.status == "sent" for d in rows), "nothing lost"
        received = list(receiver.requests)
        assert {r.headers["x-monitor-delivery"] for r in received} == ids
        assert len(received) >= len(ids) + KILLS, "each kill interrupted a request, which was sent again"
        first: dict[str, object] = {}
        for request in received:
            # A duplicate is the same delivery: same id, same message, so a receiver can drop it.
            assert first.setdefault(request.headers["x-monitor-delivery"], request.json) == request.json
