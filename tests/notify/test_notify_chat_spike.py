"""Spike alerts in chat: rendered Markdown and text, fitted to the service's size, sent through the outbox
to a real receiver on 127.0.0.1 (Apprise json:// and ntfy://)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config.models import Config, Settings, SubscriberConfig
from monitor.notify.channels.chat_message import render_message
from monitor.notify.content import build_spike_content
from monitor.notify.deliver import DeliveryWorker
from monitor.store.db import Database
from monitor.store.outbox import Outbox
from monitor.usecases.spikes import SpikeTicker
from tests.notify.test_notify_spike import AT, alert, content
from tests.spikes.history import TODAY, add_story, config, quiet_history
from tests.support.chatserver import ChatReceiver, running_chat_receiver

URL_ENV = "MONITOR_TEST_CHAT_SPIKE_URL"
SUBSCRIBER = SubscriberConfig.model_validate({"id": "desk", "notify": {"url_env": URL_ENV}, "watchlists": ["w"],
                                              "spikes": True, "timezone": "Europe/Istanbul"})


@pytest.fixture
def receiver() -> Iterator[ChatReceiver]:
    """A real HTTP receiver on 127.0.0.1."""
    with running_chat_receiver() as running:
        yield running


def test_the_spike_message_in_markdown(tmp_path: Path) -> None:
    body = render_message(content(tmp_path), SUBSCRIBER, base_url="https://unused.example.org")
    assert body == (
        "**Spike: Hakan Fidan** (W)\n"
        "\n"
        "**42 stories in the last hour, usually 3**\n"
        "13 Dec 2026, 13:00 +03 to 13 Dec 2026, 14:00 +03\n"
        "\n"
        "**60 stories in the last 24 hours, usually 20**\n"
        "12 Dec 2026, 14:00 +03 to 13 Dec 2026, 14:00 +03\n"
        "\n"
        "31 matching articles in all (copies of one story in several outlets count as one story).\n"
        "\n"
        "Top stories of the surge (by outlets carrying them):\n"
        "- [Fidan meets Hamas delegation](https://news.test/1) · 20 outlets · 13 Dec 2026, 13:02 +03\n"
        "- Second story · 1 outlet · 13 Dec 2026, 13:09 +03\n"
        "\n"
        "[The entry's series and spikes](http://127.0.0.1:8080/entries/w/fidan)\n"
    )


def test_the_spike_message_in_plain_text_and_when_it_grew(tmp_path: Path) -> None:
    text = render_message(content(tmp_path, reason="grew"), SUBSCRIBER, base_url="", markdown=False)
    assert text.startswith("Spike growing: Hakan Fidan (W)\n\n42 stories in the last hour, usually 3\n")
    assert "The surge alerted before has grown to twice its size or more." in text
    assert "- Fidan meets Hamas delegation · 20 outlets · 13 Dec 2026, 13:02 +03\n  https://news.test/1\n" in text
    assert "javascript:" not in text and "<b>" not in text and "**" not in text
    assert text.endswith("The entry's series and spikes: http://127.0.0.1:8080/entries/w/fidan\n")


def test_markdown_in_an_entry_name_or_title_is_shown_not_interpreted(tmp_path: Path) -> None:
    body = render_message(content(tmp_path, name="*Fidan* [x](y)", top_stories=[
        {"title": "A [link](https://evil.test) _here_", "url": "https://news.test/(1)", "outlets": 2,
         "articles": 2, "published_at": "2026-12-13T10:02:00+00:00"}]), SUBSCRIBER, base_url="")
    assert body.startswith(r"**Spike: \*Fidan\* \[x\](y)** (W)")
    assert r"- [A \[link\](https://evil.test) \_here\_](https://news.test/%281%29) · 2 outlets" in body


def test_without_base_url_there_is_no_entry_link(tmp_path: Path) -> None:
    cfg = config(tmp_path, "fidan")
    cfg = cfg.model_copy(update={"settings": cfg.settings.model_copy(update={"base_url": ""})})
    spike = build_spike_content("dlv_x", "desk", AT, alert(), cfg)
    for markdown in (True, False):
        body = render_message(spike, SUBSCRIBER, base_url="", markdown=markdown)
        assert "/entries/" not in body and "series and spikes" not in body


def test_a_spike_message_is_fitted_to_the_service_size(tmp_path: Path) -> None:
    stories: list[dict[str, Any]] = [
        {"title": f"Story {n} " + "word " * 28, "url": f"https://news.test/{n}", "outlets": 10 - n, "articles": 9,
         "published_at": "2026-12-13T10:02:00+00:00"} for n in range(5)]
    spiky = content(tmp_path, top_stories=stories)
    full = render_message(spiky, SUBSCRIBER, base_url="")
    assert full.count("\n- [Story") == 5
    fewer = render_message(spiky, SUBSCRIBER, base_url="", limit=1100)
    assert len(fewer) <= 1100 and fewer.count("\n- [Story") == 3 and "- … and 2 more stories" in fewer
    clipped = render_message(spiky, SUBSCRIBER, base_url="", limit=900)
    assert len(clipped) <= 900 and "- … and" in clipped and "…](https://news.test/0)" in clipped
    assert "…](https://news.test/0)" not in fewer
    bare = render_message(spiky, SUBSCRIBER, base_url="", limit=500)
    assert "[Story" not in bare and "Its 5 top stories are on the dashboard." in bare
    assert "42 stories in the last hour, usually 3" in bare and "/entries/w/fidan" in bare


@pytest.mark.parametrize("scheme", ["json", "ntfy"])
def test_a_raised_spike_reaches_the_chat_receiver_once_through_the_outbox(
    db: Database, tmp_path: Path, receiver: ChatReceiver, scheme: str,
) -> None:
    quiet_history(db, "fidan")
    noon = TODAY + timedelta(hours=12)
    for i in range(12):
        add_story(db, ["fidan"], noon + timedelta(minutes=i), outlets=12 - i, title=f"Fidan story {i}")
    settings = Settings.model_validate({"base_url": "https://monitor.example.org",
                                        "fetch": {"allow_private_networks": True}})
    subscribers = (
        SUBSCRIBER,
        SubscriberConfig.model_validate({"id": "quiet", "notify": {"url_env": URL_ENV}, "watchlists": ["w"]}),
    )
    cfg: Config = config(tmp_path, "fidan").model_copy(update={"settings": settings, "subscribers": subscribers})
    now = noon + timedelta(minutes=20)
    env = {URL_ENV: f"{scheme}://{receiver.host}/mena-spikes"}
    receiver.replies.append((503, b'{"error": "busy"}'))

    def deliver(at: Any) -> Any:
        worker = DeliveryWorker(Outbox(db), lambda: cfg, env, owner="t", clock=lambda: at)
        try:
            return worker.send_due()
        finally:
            worker.close()

    assert len(SpikeTicker(db).tick(cfg, now)) == 1
    first = deliver(now)
    assert (first.sent, first.retried, first.failed) == (0, 1, 0), "a 503 is retried like any delivery"
    later = now + timedelta(minutes=5)
    assert SpikeTicker(db).tick(cfg, later) == [], "a continuing surge is not raised again"
    assert deliver(later).sent == 1
    assert deliver(later + timedelta(minutes=5)).sent == 0
    assert len(receiver.requests) == 2, "the subscriber who did not opt in gets nothing"
    failed, request = receiver.requests
    if scheme == "json":
        assert request.path == "/mena-spikes"
        assert request.headers["x-monitor-delivery"] == failed.headers["x-monitor-delivery"]
    else:
        assert request.json["topic"] == "mena-spikes"
    assert request.json == failed.json, "a retry sends the same message"
    message = request.json["message"]
    assert message.startswith("**Spike: Fidan** (W)\n\n**12 stories in the last hour, usually 1**\n")
    assert "15 Dec 2026, 15:00 +03 to 15 Dec 2026, 16:00 +03" in message
    lines = [line for line in message.splitlines() if line.startswith("- [Fidan story")]
    assert [line.split(" · ")[1] for line in lines] == ["12 outlets", "11 outlets", "10 outlets", "9 outlets",
                                                      "8 outlets"]
    assert lines[0].startswith("- [Fidan story 0](https://news.test/")
    assert message.endswith("[The entry's series and spikes](https://monitor.example.org/entries/w/fidan)")
    [delivery] = Outbox(db).list()
    assert (delivery.kind, delivery.status, delivery.channel) == ("spike", "sent", "notify")
