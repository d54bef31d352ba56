"""The file outbox's disk fills up: a real 128 KiB tmpfs is mounted on the outbox directory and filled.

The delivery is retried (a temporary DeliveryError saying "disk full"), no half-written .eml (or temporary
file) is ever left behind, and once space is freed the retry writes it exactly once.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from monitor.notify.retry import MAX_ATTEMPTS
from tests.hardening.support import assert_nothing_failed, fill, pending, retry_round, small_filesystem
from tests.notify.conftest import body_text
from tests.notify.test_notify_flow_harness import Flow, Story, email_subscriber, kalin_story, utc

START = utc(2026, 11, 24, 9, 0)


def stories(*keys: str) -> list[Story]:
    return [kalin_story(k, utc(2026, 11, 24, 6, i)) for i, k in enumerate(keys)]


def outbox_files(directory: Path) -> list[Path]:
    """What the transport left in the outbox (the filler files aside)."""
    return sorted(p for p in directory.iterdir() if not p.name.startswith("filler-"))


def test_disk_full_is_retried_and_written_once_when_space_is_freed(tmp_path, database_url, feed_server) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": stories("k1", "k2", "k3")}, start=START)
    try:
        with small_filesystem(flow.outbox_dir, "128k"):
            fillers = fill(flow.outbox_dir)
            assert fillers, "the tmpfs took no filler at all"
            flow.poll()
            first = flow.deliver()
            assert (first.assembled, first.sent, first.retried, first.failed) == (1, 0, 1, 0)
            [delivery] = pending(flow)
            error = delivery.last_error or ""
            assert error.startswith(f"file outbox {flow.outbox_dir}: disk full writing "), error
            assert "No space left on device" in error and "will be retried" in error
            assert outbox_files(flow.outbox_dir) == [], "nothing is left behind by a failed write"

            # Space comes back a page (4 KiB) at a time: attempts in between may get the .html written and not the
            # .eml (or neither), and must never leave a partial .eml or a temporary file.
            states = []
            while pending(flow):
                assert delivery.attempts < MAX_ATTEMPTS - 1, "freed space too slowly for the retry schedule"
                if fillers:
                    fillers.pop().unlink()
                retry_round(flow, expect_error="disk full")
                [delivery] = flow.deliveries()
                names = [p.name for p in outbox_files(flow.outbox_dir)]
                states.append((delivery.status, names))
                assert not [n for n in names if n.endswith(".tmp")], names
                if delivery.status == "pending":
                    assert not [n for n in names if n.endswith(".eml")], f"an .eml for an unsent delivery: {names}"

            assert delivery.status == "sent", states
            # The interesting window was crossed: room for the .html but not for the .eml.
            assert any(status == "pending" and names and names[0].endswith(".html") for status, names in states), states
            assert delivery.attempts >= 2
            files = outbox_files(flow.outbox_dir)
            [eml] = [p for p in files if p.suffix == ".eml"]
            assert [p.suffix for p in files] == [".eml", ".html"] and files[1].stem == eml.stem
            assert eml.name.endswith(f"-{delivery.id}.eml") and delivery.transport_info == f"wrote {eml}"
            message = message_from_bytes(eml.read_bytes(), policy=policy.default)
            assert message["X-Monitor-Delivery"] == delivery.id
            text = body_text(message, "plain")  # type: ignore[arg-type]
            for key in ("k1", "k2", "k3"):
                assert f"Kalın meets counterpart ({key})" in text
            assert files[1].read_text(encoding="utf-8") == body_text(message, "html").replace("\r\n", "\n")  # type: ignore[arg-type]

            # Exactly once: nothing is written again later.
            written = eml.stat().st_mtime_ns
            flow.advance(days=3)
            assert flow.deliver().sent == 0
            assert outbox_files(flow.outbox_dir) == files and eml.stat().st_mtime_ns == written
            assert_nothing_failed(flow)
    finally:
        flow.close()
