"""Daily digests in Europe/Istanbul and America/New_York across the 2026-11-01 DST change, clock moved by hand."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from tests.notify.conftest import SmtpServer, body_text
from tests.notify.test_notify_flow_harness import Flow, email_subscriber, kalin_story, utc

START = utc(2026, 10, 30, 0, 0)
STEP = timedelta(minutes=15)


def arrivals(smtp: SmtpServer, seen: int) -> list[tuple[str, datetime, int]]:
    """(subscriber, Date, article count) of the messages received since the first `seen`."""
    out = []
    for message in smtp.handler.received[seen:]:
        subscriber = str(message["To"]).split("@", 1)[0]
        found = re.search(r"^(\d+) new articles? for ", body_text(message, "plain"), re.MULTILINE)
        assert found, body_text(message, "plain")
        count = int(found.group(1))
        out.append((subscriber, parsedate_to_datetime(str(message["Date"])), count))
    return out


def test_daily_digests_across_the_dst_change(tmp_path, database_url, feed_server, smtp_server) -> None:
    stories = [kalin_story("k1", utc(2026, 10, 29, 20)), kalin_story("k2", utc(2026, 10, 29, 21))]
    flow = Flow(
        tmp_path, database_url, feed_server,
        subscribers=[
            email_subscriber("ist", "daily 07:30", "Europe/Istanbul", send_empty="true"),
            email_subscriber("nyc", "daily 07:30", "America/New_York", send_empty="true"),
            email_subscriber("quiet", "daily 07:30", "Europe/Istanbul"),  # empty digests are not sent
        ],
        feeds={"wire": stories}, start=START, smtp_port=smtp_server.settings.port,
    )
    try:
        flow.deliver()  # first sight: periods are counted from now, nothing is back-filled
        flow.poll()
        seen: list[tuple[str, datetime, int]] = []
        while flow.now < utc(2026, 11, 3, 0, 0):
            flow.advance(seconds=STEP.total_seconds())
            if flow.now == utc(2026, 10, 31, 18, 0):
                stories.append(kalin_story("k3", utc(2026, 10, 31, 17)))
                flow.set_feed("wire", stories)
                flow.poll()
                assert all(len(flow.outbox.pending_items(s)) == 1 for s in ("ist", "nyc", "quiet"))
            flow.deliver()
            new = arrivals(smtp_server, len(seen))
            # Each digest is built at the first tick at or after its period: its Date is that instant.
            assert all(date == flow.now for _, date, _ in new), (flow.now, new)
            seen += new

        by = {name: [(date, count) for who, date, count in seen if who == name] for name in ("ist", "nyc", "quiet")}
        # Istanbul is UTC+3 all year: 07:30 is 04:30Z on both sides of 1 November.
        assert by["ist"] == [(utc(2026, 10, 30, 4, 30), 2), (utc(2026, 10, 31, 4, 30), 0),
                             (utc(2026, 11, 1, 4, 30), 1), (utc(2026, 11, 2, 4, 30), 0)]
        # New York leaves EDT (UTC-4) for EST (UTC-5) at 06:00Z on 1 November: 07:30 moves from 11:30Z to 12:30Z.
        assert by["nyc"] == [(utc(2026, 10, 30, 11, 30), 2), (utc(2026, 10, 31, 11, 30), 0),
                             (utc(2026, 11, 1, 12, 30), 1), (utc(2026, 11, 2, 12, 30), 0)]
        assert by["quiet"] == [(utc(2026, 10, 30, 4, 30), 2), (utc(2026, 11, 1, 4, 30), 1)]
        nyc_dst = [m for m in smtp_server.handler.received if m["To"] == "nyc@test.example"][2]
        assert "1 Nov 2026, 07:30 EST" in body_text(nyc_dst, "plain"), "the time is shown in the subscriber's zone"

        # A multi-day outage: the worker next runs on 6 November at 09:00Z. One catch-up digest each,
        # holding everything routed meanwhile, not one per missed day.
        flow.now = utc(2026, 11, 3, 1, 0)
        stories.append(kalin_story("k4", utc(2026, 11, 3, 0, 30)))
        flow.set_feed("wire", stories)
        flow.poll()
        flow.now = utc(2026, 11, 6, 9, 0)
        flow.deliver()
        flow.deliver()
        catch_up = arrivals(smtp_server, len(seen))
        assert sorted(catch_up) == [("ist", flow.now, 1), ("nyc", flow.now, 1), ("quiet", flow.now, 1)]
        keys = {d.subscriber_id: d.period_key for d in flow.deliveries(created_at=flow.now)}
        assert keys == {"ist": "digest@2026-11-06T04:30Z", "quiet": "digest@2026-11-06T04:30Z",
                        "nyc": "digest@2026-11-05T12:30Z"}
        seen += catch_up

        flow.now = utc(2026, 11, 6, 12, 29)
        flow.deliver()
        assert arrivals(smtp_server, len(seen)) == []
        flow.now = utc(2026, 11, 6, 12, 30)
        flow.deliver()
        assert arrivals(smtp_server, len(seen)) == [("nyc", flow.now, 0)]
        assert all(d.status in ("sent", "empty") for d in flow.deliveries())
    finally:
        flow.close()
