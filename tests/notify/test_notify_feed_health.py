"""Feed-health alerts through the real pipeline: a local feed's scripted outage and silence, judged on an injected
clock, delivered by email to aiosmtpd and by signed webhook; once each, also after a restart."""

from __future__ import annotations

import asyncio

import pytest

from monitor.config import load_config
from monitor.errors import ConfigurationError
from monitor.store.feed_health import feed_health_alerts
from monitor.usecases.feed_health import FeedHealthTicker
from tests.notify.conftest import SmtpServer, WebhookReceiver, body_text
from tests.notify.test_notify_flow_harness import (
    SECRET_ENV,
    Flow,
    checked_requests,
    kalin_story,
    stories,
    utc,
)
from tests.support.feedserver import FeedServer, Route

START = utc(2026, 11, 24, 9, 0)


def operators(webhook_url: str) -> list[str]:
    """An email operator with no watchlists and a webhook operator, both with feed_health: true."""
    return [
        "  - id: ops\n    email: ops@test.example\n    feed_health: true\n    timezone: Europe/Istanbul\n",
        f"  - id: ops-hook\n    webhook:\n      url: {webhook_url}\n      secret_env: {SECRET_ENV}\n      timeout: 5s\n"
        "    feed_health: true\n",
    ]


def make_flow(tmp_path, database_url: str, server: FeedServer, smtp: SmtpServer, hook: WebhookReceiver,
              settings: str = "") -> Flow:
    flow = Flow(tmp_path, database_url, server, subscribers=operators(hook.url), feeds={"wire": stories("k1", "k2")},
                start=START, smtp_port=smtp.settings.port)
    if settings:
        flow.monitor_yaml += settings
        flow.set_allow_private_networks(True)  # rewrites monitor.yaml and reloads
    return flow


def poll(flow: Flow) -> None:
    """Poll every feed now, failures allowed."""
    flow.feeds.make_all_due(flow.now)
    asyncio.run(flow.poller.poll_due())


def test_an_outage_alerts_once_and_its_recovery_once_across_a_restart(
    tmp_path, database_url, feed_server, smtp_server, webhook_receiver,
) -> None:
    flow = make_flow(tmp_path, database_url, feed_server, smtp_server, webhook_receiver)
    ticker = FeedHealthTicker(flow.db)
    try:
        poll(flow)
        body = feed_server.routes["/wire.xml"].body
        feed_server.routes["/wire.xml"] = Route(b"upstream down", status=503, content_type="text/plain")
        raised = []
        for hours in (1, 2, 2, 2, 1):  # failing from 10:00 (polls at 12, 14, 16, 17): alerted at 16:00 (6 h), once
            flow.advance(hours=hours)
            poll(flow)
            raised += ticker.tick(flow.runtime.config, flow.now)
        assert [(r.event, r.recipients, r.feed_id) for r in raised] == [("failing", 2, "wire")]
        flow.deliver()
        [message] = smtp_server.handler.received
        assert message["To"] == "ops@test.example"
        assert message["Subject"] == "[monitor] Feed failing: wire (http_5xx for 6 h)"
        text = body_text(message, "plain")
        assert "Error: http_5xx:" in text and "503" in text
        assert "What to do: The publisher's server fails" in text
        assert "24 Nov 2026, 13:00 +03" in text, "failing since the first failed poll, in the operator's zone"

        # A restart: a new ticker (and worker) on the same database alerts nothing again.
        flow.close()
        flow = make_flow(tmp_path / "again", database_url, feed_server, smtp_server, webhook_receiver)
        flow.now = START.replace(hour=18)
        ticker = FeedHealthTicker(flow.db)
        assert ticker.tick(flow.runtime.config, flow.now) == []

        feed_server.routes["/wire.xml"] = Route(body)
        flow.advance(hours=1)
        poll(flow)
        raised = ticker.tick(flow.runtime.config, flow.now)
        assert [r.event for r in raised] == ["recovered"]
        flow.deliver()
        flow.advance(hours=1)
        poll(flow)
        assert ticker.tick(flow.runtime.config, flow.now) == []
        assert flow.deliver().sent == 0
        subjects = [m["Subject"] for m in smtp_server.handler.received]
        assert subjects == ["[monitor] Feed failing: wire (http_5xx for 6 h)", "[monitor] Feed recovered: wire"]
        hooks = [r.payload for r in checked_requests(webhook_receiver)]
        assert [(p["type"], p["feed_health"][0]["event"], p["feed_health"][0]["error_kind"]) for p in hooks] == [
            ("feed_health", "failing", "http_5xx"), ("feed_health", "recovered", None)]
        assert hooks[0]["feed_health"][0]["failing_since"] == "2026-11-24T10:00:00Z" and hooks[0]["items"] == []
        assert [a.event for a in feed_health_alerts(flow.db)] == ["recovered", "failing"]
        assert {d.status for d in flow.deliveries()} == {"sent"} and len(flow.deliveries()) == 4
    finally:
        flow.close()


def test_a_feed_that_stops_publishing_warns_once_and_once_when_it_publishes_again(
    tmp_path, feed_server, smtp_server, webhook_receiver,
) -> None:
    # SQLite only: the rule is the same on both, and the outage test above runs the stored state on both.
    flow = make_flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server, smtp_server, webhook_receiver,
                     settings="feed_stale_factor: 4\nfeed_stale_min: 2h\n")
    ticker = FeedHealthTicker(flow.db)
    try:
        published = []
        for n in range(6):  # a new story every hour: a usual interval of 1 h after five gaps
            published.append(kalin_story(f"s{n}", flow.now))
            flow.set_feed("wire", published)
            poll(flow)
            flow.advance(hours=1)
        events = []
        for _ in range(6):  # then six quiet hours of successful polls: stale from 4 h of silence
            poll(flow)
            events += [r.event for r in ticker.tick(flow.runtime.config, flow.now)]
            flow.advance(hours=1)
        assert events == ["stale"]
        published.append(kalin_story("back", flow.now))
        flow.set_feed("wire", published)
        poll(flow)
        events += [r.event for r in ticker.tick(flow.runtime.config, flow.now)]
        assert events == ["stale", "resumed"]
        flow.deliver()
        subjects = [m["Subject"] for m in smtp_server.handler.received]
        assert subjects == ["[monitor] Feed stopped publishing: wire (no new item for 4 h)",
                            "[monitor] Feed publishing again: wire"]
        stale = body_text(smtp_server.handler.received[0], "plain")
        assert "it usually brings one every 1 h" in stale
        [[hook], _] = [r.payload["feed_health"] for r in checked_requests(webhook_receiver)]
        assert hook["usual_interval_seconds"] == 3600 and hook["silent_seconds"] == 4 * 3600
    finally:
        flow.close()


def test_a_subscriber_needs_watchlists_or_feed_health(tmp_path) -> None:
    config = tmp_path / "config"
    (config / "watchlists").mkdir(parents=True)
    (config / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    (config / "subscribers.yaml").write_text(
        "subscribers:\n  - id: nobody\n    email: a@test.example\n  - id: ops\n    email: o@test.example\n"
        "    feed_health: true\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_config(config, {})
    [problem] = info.value.problems
    assert "subscriber 'nobody'" in problem.format() and "feed_health: true" in problem.format()


def test_a_chat_message_of_a_feed_health_alert() -> None:
    from datetime import timedelta

    from monitor.config.models import SubscriberConfig
    from monitor.notify.channels.chat_message import render_message
    from monitor.notify.content import DeliveryContent, FeedHealthContent

    health = FeedHealthContent(
        alert_id="fh_1", feed_id="wire", feed_name="Levant *Wire*", feed_url="https://wire.example/feed.xml",
        event="failing", at=START + timedelta(hours=7), error_kind="dns", error_message="no such host",
        hint="Check the URL for typos.", failing_since=START + timedelta(hours=1), consecutive_errors=7,
        last_success_at=START, feeds_url="https://monitor.example.org/my_monitor/feeds",
    )
    content = DeliveryContent(delivery_id="dlv_1", kind="feed_health", subscriber_id="ops", created_at=health.at,
                              items=(), feed_health=(health,))
    ops = SubscriberConfig.model_validate({"id": "ops", "notify": {"url_env": "OPS_URL"}, "feed_health": True,
                                           "timezone": "Europe/Istanbul"})
    markdown = render_message(content, ops, base_url="https://monitor.example.org")
    assert markdown.splitlines()[0] == r"**Feed failing: Levant \*Wire\***"
    assert "Error: dns: no such host" in markdown and "What to do: Check the URL for typos" in markdown
    assert "24 Nov 2026, 13:00 +03" in markdown, "failing since, in the subscriber's zone"
    assert "https://monitor.example.org/my_monitor/feeds" in markdown, "URLs are not escaped"
    text = render_message(content, ops, base_url="https://monitor.example.org", markdown=False)
    assert text.startswith("Feed failing: Levant *Wire*\n") and "https://monitor.example.org/my_monitor/feeds" in text


def test_a_mass_outage_is_one_delivery_per_operator_listing_every_feed(
    tmp_path, feed_server, smtp_server, webhook_receiver,
) -> None:
    flow = Flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server, subscribers=operators(webhook_receiver.url),
                feeds={name: stories(f"{name}-1") for name in ("alpha", "beta", "gamma")}, start=START,
                smtp_port=smtp_server.settings.port)
    ticker = FeedHealthTicker(flow.db)
    try:
        poll(flow)
        for name in ("alpha", "beta", "gamma"):
            feed_server.routes[f"/{name}.xml"] = Route(b"", status=500, content_type="text/plain")
        for hours in (1, 6):
            flow.advance(hours=hours)
            poll(flow)
        raised = ticker.tick(flow.runtime.config, flow.now)
        assert sorted((r.feed_id, r.event) for r in raised) == [("alpha", "failing"), ("beta", "failing"),
                                                                  ("gamma", "failing")]
        assert flow.deliver().sent == 2, "one email and one webhook, not one per feed"
        [message] = smtp_server.handler.received
        assert message["Subject"] == "[monitor] Feed health: 3 failing"
        text = body_text(message, "plain")
        assert all(f"Feed failing: {name}" in text for name in ("alpha", "beta", "gamma"))
        [hook] = checked_requests(webhook_receiver)
        assert [a["feed"]["id"] for a in hook.payload["feed_health"]] == ["alpha", "beta", "gamma"]
    finally:
        flow.close()
