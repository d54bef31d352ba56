"""Crash safety of a delivery channel: delivery workers SIGKILLed mid-send, again and again, lose nothing.

A test assembles its deliveries (not sent) against a real receiver on 127.0.0.1 that holds each request
open for a moment; `send_through_kills` then starts a worker process, waits until it is inside a
request, SIGKILLs it, and repeats; a last worker sends what is left. The test asserts that every
delivery was sent, and `assert_resends_identical` that each resend repeated its
delivery exactly, under the same id. Used by tests/notify/test_notify_kill.py (webhook) and
tests/notify/test_notify_chat_kill.py (chat).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from monitor.store.db import Database
from monitor.store.outbox import Outbox
from monitor.store.rows import Delivery

WAIT = 30.0
"""Generous bound on any single wait, so a hang fails instead of blocking the suite (not a speed bound)."""
RECEIVER_DELAY = 0.3
"""Seconds the receiver holds each request before answering: the window the kill lands in."""

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

Request = TypeVar("Request")


class SlowReceiver(Protocol):
    """A test receiver that records its requests and can hold each one open for `delay` seconds."""

    delay: float

    @property
    def requests(self) -> Sequence[object]:
        """Every request received so far, in order."""


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


def send_through_kills(config_dir: Path, database: str, env: Mapping[str, str], receiver: SlowReceiver, *,
                       kills: int, log: Path) -> list[Delivery]:
    """SIGKILL `kills` workers mid-request, let one more send everything that is left; every delivery after."""

    def start() -> subprocess.Popen[bytes]:
        with log.open("ab") as err:
            return subprocess.Popen([sys.executable, "-c", WORKER, str(config_dir)], env=dict(env),
                                    stdout=subprocess.DEVNULL, stderr=err)

    receiver.delay = RECEIVER_DELAY
    for kill in range(kills):
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
    db = Database(database)
    outbox = Outbox(db)
    try:
        worker = start()
        try:
            wait_for(lambda: all(d.status == "sent" for d in outbox.list(limit=1000)), "every delivery sent",
                     worker, log)
        finally:
            worker.kill()
            worker.wait(timeout=WAIT)
        return outbox.list(limit=1000)
    finally:
        db.dispose()


def assert_resends_identical(requests: Iterable[Request], delivery_id: Callable[[Request], str],
                             content: Callable[[Request], object]) -> None:
    """A duplicate is the same delivery: same id, same content, so a receiver can drop it."""
    first: dict[str, object] = {}
    for request in requests:
        assert first.setdefault(delivery_id(request), content(request)) == content(request)
