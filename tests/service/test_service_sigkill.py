"""SIGKILL at random moments, ten times, then restart: no article or delivery lost, duplicates share an id."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.store.db import Database
from monitor.store.rows import ArticleRow, Delivery, RoutedItem
from tests.service.support import (
    Monitor,
    Publisher,
    article_links,
    delivery_id,
    running_farm,
    running_smtp,
    wait_for,
    write_config,
)

FEEDS = 40
KILLS = 10


@pytest.mark.slow
def test_sigkill_ten_times_loses_nothing_and_duplicates_keep_their_id(tmp_path: Path) -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    db_url = f"sqlite:///{tmp_path / 'm.db'}"
    with running_farm() as farm, running_smtp() as smtp:
        for n in range(FEEDS):
            farm.publish(n, f"s{n}", f"Hostages: opening story {n}")
        config = write_config(tmp_path, db_url, [farm.url(n) for n in range(FEEDS)], interval="1s",
                              smtp_port=smtp.port)
        # New items keep arriving while the service is killed and restarted; half are routed.
        publisher = Publisher(farm, lambda _k: rng.randrange(FEEDS))
        publisher.start()
        try:
            for round_ in range(KILLS):
                monitor = Monitor(config, tmp_path / f"run-{round_}.log", tick="0.3s")
                try:
                    monitor.wait_started()
                    time.sleep(rng.uniform(0.0, 1.5))  # somewhere in a poll, a commit, or a send
                    monitor.process.send_signal(signal.SIGKILL)
                    assert monitor.process.wait(30) == -signal.SIGKILL
                    assert "another monitor process" not in monitor.log(), "the kernel released the flock"
                finally:
                    monitor.kill()
        finally:
            publisher.stop()
        # Restart once more and let it finish: every feed polled with its final content, all due sent.
        final = subprocess.run([sys.executable, "-m", "monitor", "run", "--once", "--config", str(config)],
                               capture_output=True, text=True, timeout=120, check=False)
        assert final.returncode == 0, final.stderr
        received = smtp.received()

    db = Database(db_url)
    with db.sessions() as session:
        stored_urls = {a.url for a in session.scalars(select(ArticleRow))}
        deliveries = {d.id: d for d in session.scalars(select(Delivery))}
        routed = list(session.scalars(select(RoutedItem)))
        url_of = {a.id: a.url for a in session.scalars(select(ArticleRow))}
    db.dispose()
    context = f"(seed {seed})"

    # No article lost: everything the feeds carry is stored.
    everything = {f"https://farm.test/{guid}" for items in farm.items.values() for guid, _, _ in items}
    assert everything <= stored_urls, f"lost articles {sorted(everything - stored_urls)[:5]} {context}"
    # No delivery lost: every routed item is in a delivery that was sent, and arrived.
    assert all(r.delivery_id and deliveries[r.delivery_id].status == "sent" for r in routed), context
    routed_urls = {url_of[r.article_id] for r in routed}
    hostage_urls = {f"https://farm.test/{g}" for items in farm.items.values() for g, t, _ in items
                    if t.startswith("Hostages")}
    assert routed_urls == hostage_urls, context
    arrived: dict[str, set[str]] = defaultdict(set)  # article link -> delivery ids it arrived in
    for message in received:
        assert delivery_id(message) in deliveries, context
        for link in article_links(message):
            arrived[link].add(delivery_id(message))
    assert set(arrived) == hostage_urls, f"missing {sorted(hostage_urls - set(arrived))[:5]} {context}"
    # Duplicates only with identical ids: an article re-sent after a kill comes in the same delivery.
    assert all(len(ids) == 1 for ids in arrived.values()), context
    by_id: dict[str, set[str]] = defaultdict(set)
    for message in received:
        by_id[delivery_id(message)].add(str(message["Message-ID"]))
    assert all(len(ids) == 1 for ids in by_id.values()), f"a re-send changed its Message-ID {context}"


RESEND_BOUND = 60.0
"""Seconds from a kill -9 (or from PostgreSQL being back) to the first re-send, at most: a generous hang
guard over DELIVERY_LEASE (30 s) plus a tick and a process start, not a speed assertion (docs/security.md)."""


@pytest.mark.slow
def test_sigkill_while_sending_on_postgres_resends_within_the_lease(tmp_path: Path, postgres_url: str) -> None:
    """kill -9 a process blocked in the middle of a send; another process re-sends it once the lease ends.

    Its lease is renewed while it is alive and lapses DELIVERY_LEASE after it died (before: 5 minutes).
    """
    with running_farm() as farm, running_smtp() as smtp:
        farm.publish(0, "s0", "Hostages: opening story 0")
        config = write_config(tmp_path, postgres_url, [farm.url(0)], interval="1s", smtp_port=smtp.port)
        smtp.hold_next(refuse=True)  # the first send blocks, as on a slow relay
        first = Monitor(config, tmp_path / "first.log", tick="0.3s")
        second = None
        try:
            wait_for(smtp.holding.is_set, 60, "the first send to reach the SMTP server")
            first.process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            assert first.process.wait(30) == -signal.SIGKILL
            smtp.release()
            second = Monitor(config, tmp_path / "second.log", tick="0.3s")  # another host:pid
            wait_for(lambda: smtp.received(), RESEND_BOUND, "the re-send after kill -9", every=0.05)
            elapsed = time.monotonic() - killed_at
            print(f"\nkill -9 -> first re-send: {elapsed:.1f} s")
            [message] = smtp.received()
            assert delivery_id(message).startswith("dlv_") and article_links(message) == {"https://farm.test/s0"}
            assert elapsed < RESEND_BOUND
        finally:
            first.kill()
            if second is not None:
                second.kill()
