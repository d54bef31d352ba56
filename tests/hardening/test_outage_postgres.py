"""PostgreSQL restarted under load, on a private cluster (the shared server on 5432 is left alone).

A real `monitor run` process polls a local feed farm whose items keep appearing and sends alerts to a
local SMTP server, while its PostgreSQL is restarted (`pg_ctl restart -m fast`) and then stopped for a
while and started again. Afterwards: the process never died, the errors of the outage were logged and
work resumed, every item the feeds served is stored, and every routed item is in exactly one sent
delivery that arrived exactly once.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, defaultdict
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from monitor.errors import DatabaseUnavailable
from monitor.notify.channels.email import EmailChannel
from monitor.notify.channels.email_transports import Transport
from monitor.store.db import Database
from monitor.store.rows import ArticleRow, Delivery, RoutedItem
from tests.hardening.support import PrivatePostgres, private_postgres
from tests.notify.conftest import SmtpServer
from tests.notify.test_notify_flow_harness import Flow, email_subscriber, stories, utc
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
from tests.support.feedserver import running_feed_server

FEEDS = 12
START = utc(2026, 11, 24, 9, 0)
DB_ERROR = re.compile(r"ERROR +\w+_crashed")  # e.g. poll_tick_crashed / deliver_tick_crashed with the traceback


def snapshot(db: Database) -> tuple[set[str], dict[str, Delivery], list[RoutedItem], dict[str, str]]:
    """Stored article URLs, deliveries by id, routed items, article id -> URL."""
    with db.sessions() as session:
        articles = list(session.scalars(select(ArticleRow)))
        deliveries = {d.id: d for d in session.scalars(select(Delivery))}
        routed = list(session.scalars(select(RoutedItem)))
    return {a.url for a in articles}, deliveries, routed, {a.id: a.url for a in articles}


def test_postgres_restart_under_load_loses_nothing(tmp_path: Path) -> None:
    with private_postgres() as pg, running_farm() as farm, running_smtp() as smtp:
        url = pg.create_database("monitor")
        for n in range(FEEDS):
            farm.publish(n, f"s{n}", f"Hostages: opening story {n}")
        config = write_config(tmp_path, url, [farm.url(n) for n in range(FEEDS)], interval="1s",
                              smtp_port=smtp.port)
        publisher = Publisher(farm, lambda k: k % FEEDS)
        monitor = Monitor(config, tmp_path / "monitor.log", tick="0.3s")
        db = Database(url)
        try:
            monitor.wait_started()
            publisher.start()
            wait_for(lambda: len(smtp.received()) >= 2, 30, "alerts flowing before the restart")

            # 1. A fast restart in the middle of the load (sessions cut, down for a moment).
            pg.restart()
            assert monitor.process.poll() is None, monitor.log()
            after_restart = len(smtp.received())
            wait_for(lambda: len(smtp.received()) > after_restart, 30, "alerts after the restart")
            sent_before_outage = len(smtp.received())

            # 2. A longer outage: stopped until the service has noticed and logged it, then started.
            log_before = len(monitor.log())
            pg.shutdown()
            wait_for(lambda: DB_ERROR.search(monitor.log()[log_before:]), 30, "the outage to be logged")
            time.sleep(1.0)  # a few more ticks fail while it is down
            assert monitor.process.poll() is None, "the service died while PostgreSQL was down:\n" + monitor.log()
            pg.start()
            wait_for(lambda: len(smtp.received()) > sent_before_outage, 30, "alerts after PostgreSQL came back")

            publisher.stop()
            everything = {f"https://farm.test/{g}" for items in farm.items.values() for g, _, _ in items}
            hostage_urls = {f"https://farm.test/{g}" for items in farm.items.values() for g, t, _ in items
                            if t.startswith("Hostages")}

            def settled() -> bool:
                stored, deliveries, routed, url_of = snapshot(db)
                arrived = {link for m in smtp.received() for link in article_links(m)}
                return (everything <= stored and hostage_urls <= arrived
                        and all(d.status == "sent" for d in deliveries.values()))

            wait_for(settled, 45, "every item stored and every alert sent after the outage", every=0.5)
            assert monitor.process.poll() is None, "the service died:\n" + monitor.log()
            assert monitor.stop() == 0, monitor.log()
        finally:
            publisher.stop()
            monitor.kill()
        received = smtp.received()
        stored, deliveries, routed, url_of = snapshot(db)
        db.dispose()
        log = monitor.log()

    # The outage was seen, logged, and the service went on working after it.
    first_error = DB_ERROR.search(log)
    assert first_error is not None, "no error was logged while PostgreSQL was down"
    after = log[first_error.start():]
    assert "delivery_sent" in after and "feed_polled" in after, "no work resumed after the outage:\n" + after[-3000:]

    # No article lost: everything the feeds served is stored.
    served = {f"https://farm.test/{g}" for g in farm.served_guids()}
    assert served <= stored, f"lost articles: {sorted(served - stored)[:5]}"
    # Every routed item is in exactly one delivery (one row: delivery_id), that delivery was sent ...
    assert routed and all(r.delivery_id and deliveries[r.delivery_id].status == "sent" for r in routed)
    assert {url_of[r.article_id] for r in routed} == hostage_urls
    assert not [d for d in deliveries.values() if d.status != "sent"]
    # ... and arrived exactly once.
    per_delivery = Counter(delivery_id(m) for m in received)
    assert set(per_delivery) == set(deliveries), "a sent delivery never arrived (or an unknown one did)"
    assert [d for d, n in per_delivery.items() if n > 1] == [], "a delivery arrived twice"
    arrived: dict[str, list[str]] = defaultdict(list)
    for message in received:
        for link in article_links(message):
            arrived[link].append(delivery_id(message))
    assert set(arrived) == hostage_urls
    assert all(len(ids) == 1 for ids in arrived.values()), "an article was alerted twice"


# --------------------------------------------------------------- the database gone between a send and its record


class DatabaseDiesAfterSend:
    """Sends through the real transport, then takes PostgreSQL down before the worker can record it."""

    def __init__(self, inner: Transport, pg: PrivatePostgres) -> None:
        self.inner, self.pg = inner, pg

    def send(self, msg: EmailMessage) -> str:
        info = self.inner.send(msg)
        self.pg.shutdown()
        return info


def send_while_the_database_dies(tmp_path: Path, smtp_server: SmtpServer) -> list[EmailMessage]:
    """One alert sent while PostgreSQL goes down before mark_sent; then an hour of deliver ticks."""
    with private_postgres() as pg, running_feed_server() as feed_server:
        flow = Flow(tmp_path, pg.create_database("monitor"), feed_server, subscribers=[email_subscriber("desk")],
                    feeds={"wire": stories("k1")}, start=START, smtp_port=smtp_server.settings.port)
        try:
            flow.poll()
            email = cast(EmailChannel, flow.worker.channel("email"))
            real = email.transport
            email.transport = lambda context: DatabaseDiesAfterSend(real(context), pg)  # type: ignore[method-assign]
            with pytest.raises(DatabaseUnavailable):  # the service logs this as deliver_tick_crashed
                flow.deliver()
            email.transport = real  # type: ignore[method-assign]
            assert len(smtp_server.handler.received) == 1
            pg.start()
            for _ in range(60):  # the service's deliver ticks over the next hour
                flow.advance(minutes=1)
                flow.deliver()
            [delivery] = flow.deliveries()
            assert delivery.status == "sent", "recovered: the delivery is not stuck"
            received = list(smtp_server.handler.received)
            assert {str(m["Message-ID"]) for m in received} == {f"<{delivery.id}@test.example>"}
            return received
        finally:
            flow.close()


def test_database_down_between_send_and_record_loses_nothing(tmp_path: Path, smtp_server: SmtpServer) -> None:
    # At least once, and a repeat keeps its Message-ID (receivers can de-duplicate).
    assert len(send_while_the_database_dies(tmp_path, smtp_server)) >= 1


def test_database_down_between_send_and_record_sends_once(tmp_path: Path, smtp_server: SmtpServer) -> None:
    assert len(send_while_the_database_dies(tmp_path, smtp_server)) == 1


# --------------------------------------------------------------- leases given back when a transaction fails (issue 13.6)


def test_a_batch_claimed_before_the_database_died_is_sent_on_the_first_tick_after(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Two deliveries claimed together; PostgreSQL dies after the first is sent. Before, the second sat out its
    5-minute lease (held by the very process that could send it); now its lease is given back and it goes out
    on the first tick after PostgreSQL is back."""
    caplog.set_level(logging.INFO, logger="monitor")
    with private_postgres() as pg, running_feed_server() as feed_server:
        flow = Flow(tmp_path, pg.create_database("monitor"), feed_server,
                    subscribers=[email_subscriber("desk"), email_subscriber("night")],
                    feeds={"wire": stories("k1")}, start=START, smtp_port=smtp_server.settings.port)
        try:
            flow.poll()
            email = cast(EmailChannel, flow.worker.channel("email"))
            real = email.transport
            email.transport = lambda context: DatabaseDiesAfterSend(real(context), pg)  # type: ignore[method-assign]
            with pytest.raises(DatabaseUnavailable):
                flow.deliver()
            email.transport = real  # type: ignore[method-assign]
            assert len(smtp_server.handler.received) == 1
            assert "lease_release_deferred deliveries=1 reason=tick_failed" in caplog.text
            pg.start()
            flow.advance(seconds=5)  # the next deliver tick
            summary = flow.deliver()
            assert summary.sent == 1, "the rest of the batch waited for its own lease to end"
            assert re.search(r"lease_released delivery_id=dlv_\w+ owner=flow-worker reason=tick_failed", caplog.text)
            assert [d.status for d in flow.deliveries()] == ["sent", "sent"]
            assert len(smtp_server.handler.received) == 2, "each sent once"
        finally:
            flow.close()


def test_a_feed_whose_write_failed_is_polled_again_on_the_first_tick_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL dies while a feed is being fetched: the write fails. Before, the feed stayed leased for the
    lease (timeout x 3 + 60 s = 75 s here) with no log line; now the lease is given back (logged) and
    the feed is polled on the next tick."""
    caplog.set_level(logging.INFO, logger="monitor")
    import asyncio
    import threading

    from monitor.config import load_config
    from monitor.refresh.poller import FeedPoller
    from monitor.refresh.runtime import Runtime
    from monitor.store.feeds import FeedRepository
    from monitor.store.migrate import upgrade
    from monitor.store.rows import Feed

    with private_postgres() as pg, running_farm() as farm:
        farm.publish(0, "s0", "Hostages: opening story 0")
        config = write_config(tmp_path, pg.create_database("monitor"), [farm.url(0)], interval="5m")
        runtime = Runtime.build(load_config(config, {}).config)
        db = Database(runtime.config.settings.database)
        try:
            upgrade(db)
            FeedRepository(db).sync(runtime.config.feeds, START)
            poller = FeedPoller(db, lambda: runtime, owner="poller-1", clock=lambda: START, parse_workers=0)
            farm.slow[farm.path(0)] = 1.0
            failed: list[BaseException] = []

            def poll() -> None:
                try:
                    asyncio.run(poller.poll_due())
                except BaseException as exc:  # noqa: BLE001 - handed to the test
                    failed.append(exc)

            thread = threading.Thread(target=poll)
            thread.start()
            wait_for(lambda: farm.hits_for(farm.path(0)), 30, "the fetch to start")
            pg.shutdown()  # while the feed is being fetched: its write will fail
            thread.join(60)
            assert failed and isinstance(failed[0], OperationalError), failed
            assert "lease_release_deferred feeds=1 reason=tick_failed" in caplog.text
            pg.start()
            del farm.slow[farm.path(0)]
            summary = asyncio.run(poller.poll_due())  # the next tick, at the same moment
            assert summary.feeds == 1 and summary.ok == 1, "the feed sat out its lease"
            assert "lease_released feed_id=feed-0 owner=poller-1 reason=tick_failed" in caplog.text
            with db.sessions() as session:
                feed = session.get(Feed, "feed-0")
                assert feed is not None and feed.lease_owner is None and feed.last_status == 200
            poller.close()
        finally:
            db.dispose()


RESEND_BOUND = 60.0
"""Seconds from PostgreSQL being back to the re-send of the batch claimed before it went, at most: a
generous hang guard (a tick after the database returns; before: the rest of the 5-minute lease)."""


def test_postgres_restart_during_a_send_resends_the_claimed_batch_when_it_is_back(tmp_path: Path) -> None:
    """A real process claims three deliveries; PostgreSQL is stopped while the first is being sent (so
    recording it fails and the tick fails) and started again. The other two go out on the first tick
    after, instead of waiting out the lease their own (living) process holds."""
    with private_postgres() as pg, running_farm() as farm, running_smtp() as smtp:
        farm.publish(0, "s0", "Hostages: opening story 0")
        config = write_config(tmp_path, pg.create_database("monitor"), [farm.url(0)], interval="1s",
                              smtp_port=smtp.port)
        subscribers = config / "subscribers.yaml"
        subscribers.write_text(subscribers.read_text(encoding="utf-8") + "".join(
            f"  - id: desk{n}\n    email: desk{n}@test.example\n    watchlists: [farm]\n    schedule: immediate\n"
            for n in (1, 2)), encoding="utf-8")
        smtp.hold_next()
        monitor = Monitor(config, tmp_path / "monitor.log", tick="0.3s")
        try:
            wait_for(smtp.holding.is_set, 60, "the first send of the batch to reach the SMTP server")
            pg.shutdown()
            smtp.release()  # the first one is delivered; recording it fails
            wait_for(lambda: "delivery_record_deferred" in monitor.log(), 30, "the failed record to be logged")
            pg.start()
            back_at = time.monotonic()
            wait_for(lambda: len(smtp.received()) >= 3, RESEND_BOUND, "the rest of the batch", every=0.05)
            elapsed = time.monotonic() - back_at
            print(f"\nPostgreSQL back -> rest of the claimed batch sent: {elapsed:.1f} s")
            assert elapsed < RESEND_BOUND
            assert "lease_released delivery_id=" in monitor.log()
            assert monitor.process.poll() is None, monitor.log()
            assert monitor.stop() == 0, monitor.log()
        finally:
            monitor.kill()
        received = smtp.received()
    assert len(received) == 3 and len({delivery_id(m) for m in received}) == 3, "each delivery arrived once"
    assert {str(m["To"]) for m in received} == {"alerts@test.example", "desk1@test.example", "desk2@test.example"}
