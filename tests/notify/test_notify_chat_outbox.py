"""The chat channel through the outbox: real feeds, poller and worker, a real receiver on 127.0.0.1 (Apprise json://)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.config import load_config
from monitor.errors import ConfigurationError
from monitor.refresh.runtime import Runtime
from tests.notify.test_notify_flow_harness import Flow, email_subscriber, kalin_story, stories, utc
from tests.support.chatserver import ChatReceiver, running_chat_receiver
from tests.support.dashboard import running_dashboard
from tests.support.feedserver import FeedServer

URL_ENV = "MONITOR_FLOW_CHAT_URL"
START = utc(2026, 11, 24, 9, 0)


@pytest.fixture
def receiver() -> Iterator[ChatReceiver]:
    """A real HTTP receiver on 127.0.0.1."""
    with running_chat_receiver() as running:
        yield running


def chat_subscriber(id: str, schedule: str = "immediate", timezone: str = "UTC") -> str:
    """A subscribers.yaml entry for a chat subscriber of the test watchlist."""
    return (f"  - id: {id}\n    notify:\n      url_env: {URL_ENV}\n    watchlists: [mena-security]\n"
            f"    schedule: {schedule}\n    timezone: {timezone}\n")


def chat_flow(root: Path, database_url: str, server: FeedServer, url: str, *, subscribers: list[str],
              feeds: dict[str, list]) -> Flow:  # type: ignore[type-arg]
    """A Flow whose subscribers are the chat ones given, the Apprise URL in the worker's environment."""
    flow = Flow(root, database_url, server, subscribers=[email_subscriber("placeholder")], feeds=feeds, start=START)
    flow.env[URL_ENV] = url  # the worker holds this very mapping
    (flow.config_dir / "subscribers.yaml").write_text("subscribers:\n" + "".join(subscribers), encoding="utf-8")
    flow.runtime = Runtime.build(load_config(flow.config_dir, flow.env).config)
    return flow


def test_an_alert_per_article_retried_after_500_with_the_same_delivery_id(
    tmp_path: Path, database_url: str, feed_server: FeedServer, receiver: ChatReceiver
) -> None:
    flow = chat_flow(tmp_path, database_url, feed_server, f"json://{receiver.host}/chat",
                     subscribers=[chat_subscriber("desk")], feeds={"wire": stories("k1", "k2")})
    receiver.replies.append((500, b'{"error": "down"}'))
    try:
        flow.poll()
        summary = flow.deliver()
        assert (summary.assembled, summary.sent, summary.retried) == (2, 1, 1), "one message per article"
        [retrying] = [d for d in flow.deliveries() if d.status != "sent"]
        assert retrying.channel == "notify" and "error=500" in (retrying.last_error or "")
        flow.advance(seconds=7)
        assert flow.deliver().sent == 1
        assert {d.status for d in flow.deliveries()} == {"sent"}
        first, *_ = [r for r in receiver.requests if r.headers["x-monitor-delivery"] == retrying.id]
        again = [r for r in receiver.requests if r.headers["x-monitor-delivery"] == retrying.id]
        assert len(again) == 2 and again[0].json == again[1].json, "a retry sends the same message"
        assert "**Kalın**" in first.json["message"] or "**İbrahim Kalın**" in first.json["message"]
    finally:
        flow.close()


@pytest.mark.parametrize("status", [401, 404])
def test_a_permanent_refusal_fails_visibly_in_monitor_deliveries_and_the_dashboard(
    tmp_path: Path, feed_server: FeedServer, receiver: ChatReceiver, status: int
) -> None:
    flow = chat_flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server, f"json://{receiver.host}/chat",
                     subscribers=[chat_subscriber("desk")], feeds={"wire": stories("k1")})
    receiver.replies.append((status, b'{"error": "no such hook"}'))
    try:
        flow.poll()
        assert flow.deliver().failed == 1
        [failed] = flow.deliveries()
        assert failed.status == "failed" and f"error={status}" in (failed.last_error or "")
        assert len(receiver.requests) == 1, "a permanent failure is not retried"
        listed = flow.cli("deliveries", "--failed")
        assert listed.exit_code == 0, listed.output
        assert failed.id in listed.output and f"error={status}" in listed.output
        with running_dashboard(flow.runtime.config, flow.db) as base:
            page = httpx.get(f"{base}/deliveries?status=failed", timeout=10)
            api = httpx.get(f"{base}/api/deliveries?status=failed", timeout=10).json()
        assert page.status_code == 200 and failed.id in page.text and f"error={status}" in page.text
        assert [(d["id"], d["channel"]) for d in api["items"]] == [(failed.id, "notify")]
    finally:
        flow.close()


def test_a_digest_is_one_message_with_the_top_items_and_n_more(
    tmp_path: Path, feed_server: FeedServer, receiver: ChatReceiver
) -> None:
    keys = [f"d{n:02}" for n in range(13)]
    flow = chat_flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server, f"json://{receiver.host}/chat",
                     subscribers=[chat_subscriber("daily", "daily 08:00", "Europe/Istanbul")],
                     feeds={"wire": [kalin_story(k, utc(2026, 11, 24, 6, n)) for n, k in enumerate(keys)]})
    try:
        flow.deliver()  # the digest's periods start counting now
        flow.poll()
        flow.deliver()
        assert receiver.requests == []
        flow.advance(hours=20)  # past 08:00 in Istanbul
        summary = flow.deliver()
        assert (summary.assembled, summary.sent) == (1, 1)
        [request] = receiver.requests
        message = request.json["message"]
        assert message.startswith("**Daily digest, 25 Nov 2026: 13 new articles**")
        assert sum(f"({k})" in message for k in keys) == 10
        assert "[3 more in the dashboard](http://127.0.0.1:8080/matches?watchlist=mena-security)" in message
        [row] = flow.deliveries()
        assert row.kind == "digest" and row.status == "sent" and request.headers["x-monitor-delivery"] == row.id
    finally:
        flow.close()


def test_an_unset_url_variable_is_a_located_config_problem(tmp_path: Path, feed_server: FeedServer,
                                                          receiver: ChatReceiver) -> None:
    flow = chat_flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server, f"json://{receiver.host}/c",
                     subscribers=[chat_subscriber("desk")], feeds={"wire": stories("k1")})
    try:
        with pytest.raises(ConfigurationError) as raised:
            load_config(flow.config_dir, {URL_ENV: "  "})
        [problem] = raised.value.problems
        assert problem.file.name == "subscribers.yaml" and problem.line == 4
        assert problem.entry == "subscriber 'desk'"
        assert f"environment variable {URL_ENV} is not set or empty" in problem.message

        text = (flow.config_dir / "subscribers.yaml").read_text()
        (flow.config_dir / "subscribers.yaml").write_text(text.replace(URL_ENV, "slack://T0/B0/secret"))
        with pytest.raises(ConfigurationError) as named:
            load_config(flow.config_dir, flow.env)
        [problem] = named.value.problems
        assert "secrets are never written in YAML" in problem.message and problem.line == 4
        assert "slack://" not in problem.format(), "the value may be a secret: it is never printed"
    finally:
        flow.close()


def test_monitor_subscribers_shows_the_channel_and_the_variable_not_the_url(
    tmp_path: Path, feed_server: FeedServer, receiver: ChatReceiver
) -> None:
    flow = chat_flow(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", feed_server,
                     f"json://user:tok3n@{receiver.host}/c", subscribers=[chat_subscriber("desk")],
                     feeds={"wire": stories("k1")})
    try:
        listed = flow.cli("subscribers")
        assert listed.exit_code == 0, listed.output
        [row] = [line for line in listed.output.splitlines() if line.startswith("desk")]
        assert "notify" in row and f"${URL_ENV}" in row and "tok3n" not in listed.output
    finally:
        flow.close()
