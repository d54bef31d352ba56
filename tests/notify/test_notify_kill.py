"""Crash safety: a delivery worker SIGKILLed mid-send 20 times loses nothing and re-sends with the same ids."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.store.db import Database
from monitor.store.outbox import Outbox
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

KILLS = 20
DELIVERIES = 12  # more than the kills can complete (at most one per two kills), so every kill finds work
RECEIVER_DELAY = 0.3  # seconds the receiver holds each request before answering: the window the kill lands in
WAIT = 30.0  # generous bound on any single wait, so a hang fails instead of blocking the suite

# The worker process: real clock, a 1 s lease (so a killed worker's delivery is re-claimed quickly),
# one delivery claimed at a time, looping until killed.
WORKER = """
import os, sys, time
from datetime import timedelta
from pathlib import Path
from monitor.config import load_config
from monitor.notify.deliver import DeliveryWorker
from monitor.store.db import Database
from monitor.store.outbox import Outbox

config = load_config(Path(sys.argv[1]), os.environ).config
worker = DeliveryWorker(Outbox(Database(config.settings.database)), lambda: config, os.environ,
                        owner=f"kill-test-{os.getpid()}", lease=timedelta(seconds=1))
while True:
    worker.send_due(limit=1)
    time.sleep(0.05)
"""


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes] | None = None,
             log: Path | None = None) -> None:
    """Poll until `condition` holds; fail (with the worker's stderr) after WAIT seconds or if it died."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}) while waiting for {what}:\n"
                        f"{log.read_text() if log else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT:g}s waiting for {what}")
        time.sleep(0.01)


def test_worker_killed_mid_send_loses_nothing(tmp_path: Path, feed_server: FeedServer,
                                              webhook_receiver: WebhookReceiver) -> None:
    flow = Flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server,
                subscribers=[webhook_subscriber("hook", webhook_receiver.url)],
                feeds={"wire": [kalin_story(f"s{i}", utc(2026, 11, 24, 6, i)) for i in range(DELIVERIES)]},
                start=utc(2026, 11, 24, 9, 0))
    flow.poll()
    assert flow.worker.assemble() == DELIVERIES  # one webhook alert per article, sent only by the workers below
    ids = {d.id for d in flow.deliveries()}
    flow.close()

    env = {**os.environ, SECRET_ENV: WEBHOOK_SECRET}
    log = tmp_path / "worker.log"

    def start() -> subprocess.Popen[bytes]:
        with log.open("ab") as err:
            return subprocess.Popen([sys.executable, "-c", WORKER, str(flow.config_dir)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)

    webhook_receiver.delay = RECEIVER_DELAY
    for kill in range(KILLS):
        # Alternate: kill during the first request, or let one finish and kill during the second.
        target = len(webhook_receiver.requests) + 1 + kill % 2
        worker = start()
        try:
            wait_for(lambda target=target: len(webhook_receiver.requests) >= target,  # type: ignore[misc]
                     f"request {target}", worker, log)
        finally:
            worker.kill()  # SIGKILL: no cleanup, the lease is left to expire
            worker.wait(timeout=WAIT)

    webhook_receiver.delay = 0.0
    outbox = Outbox(Database(f"sqlite:///{tmp_path / 'monitor.db'}"))
    worker = start()
    try:
        wait_for(lambda: all(d.status == "sent" for d in outbox.list(limit=1000)), "every delivery sent", worker, log)
    finally:
        worker.kill()
        worker.wait(timeout=WAIT)

    rows = outbox.list(limit=1000)
    assert {d.id for d in rows} == ids and all(d.status == "sent" for d in rows), "nothing lost"
    received = checked_requests(webhook_receiver)  # every request verified and schema-valid
    assert {r.headers["webhook-id"] for r in received} == ids
    assert len(received) >= len(ids) + KILLS, "each kill interrupted a request, which was sent again"
    first: dict[str, object] = {}
    for request in received:
        # A duplicate is the same delivery: same webhook-id, same payload, so receivers can drop it.
        assert first.setdefault(request.headers["webhook-id"], request.payload) == request.payload
