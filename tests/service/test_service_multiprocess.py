"""Two and four real `monitor run` processes on one PostgreSQL, 500 local feeds: polls, deliveries and digests happen once."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.store.db import Database
from monitor.store.migrate import upgrade
from monitor.store.outbox import Outbox
from monitor.store.rows import ArticleRow, Delivery, RoutedItem
from tests.service.support import (
    Monitor,
    article_links,
    delivery_id,
    running_farm,
    running_smtp,
    wait_for,
    write_config,
)

FEEDS = 500
INTERVAL = 4.0
RUN_SECONDS = 20.0
CLOCK_SLACK = 0.05
"""Server and services read the same wall clock; this only absorbs rounding between them."""


@pytest.mark.slow
@pytest.mark.parametrize("processes", [2, 4])
def test_processes_share_polling_delivery_and_digests(tmp_path: Path, postgres_url: str, processes: int) -> None:
    with running_farm() as farm, running_smtp() as smtp:
        for n in range(FEEDS):
            farm.publish(n, f"s{n}-0", f"Feed {n} opening: markets and weather")
        config = write_config(
            tmp_path, postgres_url, [farm.url(n) for n in range(FEEDS)],
            interval=f"{INTERVAL:g}s", smtp_port=smtp.port, digest_cron="* * * * *",
        )
        db = Database(postgres_url)
        upgrade(db)
        # The digest subscriber's last digest was two minutes ago: every process sees a catch-up period
        # due at start and they race for it; the unique period key must leave exactly one.
        Outbox(db).set_last_digest("digest", datetime.now(UTC) - timedelta(minutes=2))
        monitors = [Monitor(config, tmp_path / f"monitor-{i}.log") for i in range(processes)]
        try:
            for monitor in monitors:
                monitor.wait_started()
            deadline = time.monotonic() + RUN_SECONDS
            k = 0
            while time.monotonic() < deadline:
                # New items keep arriving: half of them about hostages (routed), half not.
                k += 1
                about = "Hostages: talks resume in Cairo" if k % 2 else "Weather: rain in Ankara"
                farm.publish((k * 37) % FEEDS, f"n{k}", f"{about} ({k})")
                time.sleep(0.5)
            # Let the last items be polled and sent before stopping (an outcome, polled for).
            wait_for(lambda: farm.hits_for(farm.path((k * 37) % FEEDS))[-1].guids[:1] == (f"n{k}",), 30,
                     "the last item to be fetched")
            time.sleep(3)
            codes = [monitor.stop() for monitor in monitors]
        finally:
            for monitor in monitors:
                monitor.kill()
        logs = [m.log() for m in monitors]
        received = smtp.received()
        hits = list(farm.hits)

    assert codes == [0] * processes, logs
    for log in logs:
        assert "Traceback" not in log and "_crashed" not in log, log
    assert all("feed_polled" in log for log in logs), "every process took a share of the polling"

    # Every feed polled once per interval: never two fetches of a feed less than an interval apart
    # (a poll's next_poll_at is set after its fetch, so the gap is at least the interval) ...
    by_feed: dict[str, list[float]] = {}
    for hit in hits:
        by_feed.setdefault(hit.path, []).append(hit.at)
    assert len(by_feed) == FEEDS
    too_soon = [
        (path, round(b - a, 3)) for path, times in by_feed.items()
        for a, b in zip(sorted(times), sorted(times)[1:], strict=False) if b - a < INTERVAL - CLOCK_SLACK
    ]
    assert not too_soon, f"feeds fetched twice within one interval: {too_soon[:10]}"
    # ... and none starved: each was polled in (nearly) every interval of the run.
    counts = sorted(len(t) for t in by_feed.values())
    assert counts[0] >= RUN_SECONDS / (INTERVAL * 2), f"a feed was starved: polls per feed {counts[:5]}..."

    # Every delivery sent once: one message per delivery id, and exactly the deliveries marked sent.
    ids = [delivery_id(m) for m in received]
    assert len(ids) == len(set(ids)), f"duplicate deliveries: {[i for i, c in Counter(ids).items() if c > 1]}"
    message_ids = [str(m["Message-ID"]) for m in received]
    assert len(message_ids) == len(set(message_ids))
    with db.sessions() as session:
        deliveries = {d.id: d for d in session.scalars(select(Delivery))}
        routed = list(session.scalars(select(RoutedItem)))
        urls = {a.id: a.url for a in session.scalars(select(ArticleRow))}
    db.dispose()
    sent = {i for i, d in deliveries.items() if d.status == "sent"}
    assert set(ids) == sent

    # Each routed item in exactly one sent delivery, and its article in exactly one message.
    for subscriber in ("alerts", "digest"):
        mine = [m for m in received if str(m["To"]).startswith(subscriber + "@")]
        links = Counter(link for m in mine for link in article_links(m))
        assert all(c == 1 for c in links.values()), f"{subscriber}: an article in two messages {links.most_common(3)}"
        delivered = {urls[r.article_id] for r in routed if r.subscriber_id == subscriber and r.delivery_id in sent}
        assert delivered == set(links), subscriber
    alerts = [m for m in received if str(m["To"]).startswith("alerts@")]
    assert alerts and sum(len(article_links(m)) for m in alerts) >= 5, "alerts were routed and sent"

    # One digest per subscriber per period: the catch-up at start, then one per minute boundary.
    digests = [d for d in deliveries.values() if d.kind == "digest"]
    keys = Counter(d.period_key for d in digests)
    assert digests and all(c == 1 for c in keys.values()), keys
    digest_messages = [m for m in received if str(m["To"]).startswith("digest@")]
    assert sorted(delivery_id(m) for m in digest_messages) == sorted(d.id for d in digests if d.status == "sent")
