"""The chat channel's messages and services: rendered Markdown, real receivers on 127.0.0.1, captured Slack/Teams/Telegram."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from monitor.config.models import Config, EmailSettings, Settings, SubscriberConfig
from monitor.errors import DeliveryError, EndpointGone
from monitor.notify.channels.base import SendContext
from monitor.notify.channels.chat import ChatChannel
from monitor.notify.channels.chat_message import md_escape, render_message
from monitor.notify.channels.chat_transport import (
    DELIVERY_HEADER,
    classify_failure,
    load_service,
    notify_service,
)
from monitor.notify.channels.registry import channel_for
from monitor.notify.content import DeliveryContent
from tests.notify.conftest import make_article, make_match
from tests.support.chatserver import ChatReceiver, running_chat_receiver

URL_ENV = "MONITOR_TEST_CHAT_URL"
BASE = "https://monitor.example.org"


@pytest.fixture
def receiver() -> Iterator[ChatReceiver]:
    """A real HTTP receiver on 127.0.0.1."""
    with running_chat_receiver() as running:
        yield running


@pytest.fixture
def chat_subscriber() -> SubscriberConfig:
    """A chat subscriber in Istanbul (UTC+3)."""
    return SubscriberConfig(id="mena-chat", notify={"url_env": URL_ENV}, watchlists=("mena-security", "energy"),  # type: ignore[arg-type]
                            timezone="Europe/Istanbul")


def alert_of(content: DeliveryContent, index: int = 0) -> DeliveryContent:
    """One article of the fixed digest as an immediate alert."""
    return dataclasses.replace(content, kind="alert", items=content.items[index : index + 1], period_label="",
                               delivery_id=f"dlv-alert-{index}")


def context(url: str, tmp_path: Path, *, base_url: str = BASE, templates_dir: Path | None = None) -> SendContext:
    settings = Settings(base_url=base_url, email=EmailSettings(templates_dir=templates_dir))
    return SendContext(Config(directory=tmp_path, settings=settings), {URL_ENV: url}, lambda: b"k" * 32)


# --------------------------------------------------------------- rendering


def test_an_alert_shows_headline_outlet_local_time_every_entry_marked_and_the_dashboard_link(
    digest_content: DeliveryContent, chat_subscriber: SubscriberConfig
) -> None:
    body = render_message(alert_of(digest_content), chat_subscriber, base_url=BASE)
    assert body == (
        "**[Turkish intelligence chief Kalın meets Shin Bet head on Gaza captives](https://news.example.org/a1)**\n"
        "Daily Sabah · 19 Nov 2024, 09:00 +03 · also Middle East Eye, Times of Israel\n"
        "\n"
        "- Ibrahim Kalin (MENA security): … head of the Turkish intelligence service, **İbrahim Kalın**, "
        "met with Shin Bet …\n"
        "- Hostage / prisoner exchange talks (MENA security): … talks on the Israeli **captives** in Gaza & a "
        "possible **exchange** …\n"
        "\n"
        "[Why this matched](https://monitor.example.org/articles/a1)\n"
    )


def test_without_base_url_there_is_no_dashboard_link(digest_content: DeliveryContent,
                                                     chat_subscriber: SubscriberConfig) -> None:
    body = render_message(alert_of(digest_content), chat_subscriber, base_url="")
    assert "Why this matched" not in body and "/articles/" not in body


def test_markup_in_feed_text_is_shown_not_interpreted(chat_subscriber: SubscriberConfig,
                                                      digest_content: DeliveryContent) -> None:
    article = make_article("x*1", "Rates *up* [again] _now_ <b>bold</b>", url="https://n.test/a_(b)")
    match = make_match("energy", "topic", "rates", "Rates", "rates went [[up]] by `2%` *today*")
    content = dataclasses.replace(alert_of(digest_content), items=(dataclasses.replace(
        digest_content.items[0], article=article, matches=(match,)),))
    body = render_message(content, chat_subscriber, base_url=BASE)
    assert body.startswith(r"**[Rates \*up\* \[again\] \_now\_ bold](https://n.test/a_%28b%29)**")
    assert r"rates went **up** by \`2%\` \*today\*" in body
    assert "/articles/x%2A1)" in body
    assert md_escape("a  \n b") == "a b"


def test_a_digest_is_one_message_with_the_top_ten_and_n_more_linking_to_the_dashboard(
    digest_content: DeliveryContent, chat_subscriber: SubscriberConfig
) -> None:
    item = digest_content.items[2]  # energy only: the "more" link filters on its one watchlist
    items = tuple(dataclasses.replace(item, article=dataclasses.replace(item.article, id=f"e{n}", title=f"LNG {n}"))
                  for n in range(13))
    content = dataclasses.replace(digest_content, items=items)
    body = render_message(content, chat_subscriber, base_url=BASE)
    assert body.startswith("**Daily digest, 19 Nov 2024: 13 new articles**\n")
    assert [f"LNG {n}]" in body for n in range(13)] == [True] * 10 + [False] * 3
    assert "10. **[LNG 9]" in body
    assert body.endswith("[3 more in the dashboard](https://monitor.example.org/matches?watchlist=energy)\n")
    plain = render_message(content, chat_subscriber, base_url=BASE, markdown=False)
    assert "**" not in plain and "«LNG»" in plain
    assert plain.endswith("3 more: https://monitor.example.org/matches?watchlist=energy\n")


def test_an_operator_template_overrides_the_packaged_one(tmp_path: Path, digest_content: DeliveryContent,
                                                         chat_subscriber: SubscriberConfig) -> None:
    (tmp_path / "chat").mkdir()
    (tmp_path / "chat" / "alert.md").write_text("NEWS: {% for i in items %}{{ i.title | md }}{% endfor %}\n")
    channel = ChatChannel()
    preview = channel.preview(alert_of(digest_content, 1), chat_subscriber,
                              context("json://x", tmp_path, templates_dir=tmp_path))
    assert preview == "NEWS: Egypt, not Turkiye, to mediate hostage exchange talks\n"


# --------------------------------------------------------------- real receivers on 127.0.0.1


def send(url: str, content: DeliveryContent, subscriber: SubscriberConfig, tmp_path: Path) -> str:
    channel = channel_for("notify")
    try:
        return channel.send(content, subscriber, context(url, tmp_path))
    finally:
        channel.close()


def test_json_receiver_gets_the_markdown_and_the_delivery_id_as_header(
    receiver: ChatReceiver, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    content = alert_of(digest_content)
    info = send(f"json://{receiver.host}/hooks/chat", content, chat_subscriber, tmp_path)
    assert info == "JSON accepted"
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/chat")
    assert request.headers[DELIVERY_HEADER.lower()] == "dlv-alert-0" == request.headers["idempotency-key"]
    assert request.json["message"] == render_message(content, chat_subscriber, base_url=BASE).rstrip("\n")
    assert "**İbrahim Kalın**" in request.json["message"]


def test_ntfy_receiver_gets_the_message_on_its_topic(
    receiver: ChatReceiver, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    assert send(f"ntfy://{receiver.host}/mena-alerts", alert_of(digest_content), chat_subscriber, tmp_path)
    [request] = receiver.requests
    assert request.method == "POST" and request.json["topic"] == "mena-alerts"
    assert "İbrahim Kalın" in request.json["message"]


def test_gotify_receiver_gets_the_message_with_its_app_token(
    receiver: ChatReceiver, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    token = "AbCdEfGhIjKlMnO"
    # format=markdown: Gotify's clients render the message as Markdown (docs/chat.md).
    assert send(f"gotify://{receiver.host}/{token}?format=markdown", alert_of(digest_content), chat_subscriber, tmp_path)
    [request] = receiver.requests
    assert request.path == "/message"
    assert token in (request.headers.get("x-gotify-key", ""), *request.query.get("token", []))
    assert "**İbrahim Kalın**" in request.json["message"]
    assert request.json["extras"]["client::display"]["contentType"] == "text/markdown"


def test_mattermost_receiver_gets_an_incoming_webhook_text(
    receiver: ChatReceiver, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    token = "abcdefghijklmnopqrstuvwxyz"
    assert send(f"mmost://{receiver.host}/{token}", alert_of(digest_content), chat_subscriber, tmp_path)
    [request] = receiver.requests
    assert request.path == f"/hooks/{token}"
    assert "**İbrahim Kalın**" in request.json["text"]


def test_matrix_homeserver_gets_the_message_in_the_room_as_html(
    receiver: ChatReceiver, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    # One reply serves the three calls of a raw-token send: whoami, join the room, send the event.
    receiver.ok_reply = (200, b'{"user_id": "@monitor:localhost", "room_id": "!room:localhost", "event_id": "$1"}')
    url = f"matrix://:syt_access_token@{receiver.host}/!room:localhost?discovery=no&image=no"
    assert send(url, alert_of(digest_content), chat_subscriber, tmp_path) == "Matrix accepted"
    *_, event = receiver.requests
    assert event.method == "PUT"
    assert event.path.startswith("/_matrix/client/v3/rooms/%21room%3Alocalhost/send/m.room.message/")
    assert event.headers["authorization"] == "Bearer syt_access_token"
    assert event.json["msgtype"] == "m.text" and event.json["format"] == "org.matrix.custom.html"
    assert "<strong>İbrahim Kalın</strong>" in event.json["formatted_body"]
    assert 'href="https://monitor.example.org/articles/a1"' in event.json["formatted_body"]


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (429, False), (401, True),
                                                   (404, True), (400, True)])
def test_a_refusal_is_classified_by_its_status(
    receiver: ChatReceiver, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path,
    status: int, permanent: bool,
) -> None:
    receiver.replies.append((status, b'{"error": "scripted"}'))
    with pytest.raises(DeliveryError) as raised:
        send(f"json://{receiver.host}/hook", alert_of(digest_content), chat_subscriber, tmp_path)
    assert raised.value.permanent is permanent
    assert f"error={status}" in str(raised.value) and str(raised.value).startswith("notify (JSON): ")


def test_a_quiet_logging_configuration_does_not_hide_the_status(
    receiver: ChatReceiver, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path,
) -> None:
    logger = logging.getLogger("apprise")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        receiver.replies.append((401, b""))
        with pytest.raises(DeliveryError, match="error=401") as raised:
            send(f"json://{receiver.host}/hook", alert_of(digest_content), chat_subscriber, tmp_path)
        assert raised.value.permanent and logger.level == logging.CRITICAL
    finally:
        logger.setLevel(level)


def test_gone_disables_and_unreachable_is_retried(
    receiver: ChatReceiver, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path,
    closed_port: int,
) -> None:
    receiver.replies.append((410, b""))
    with pytest.raises(EndpointGone):
        send(f"json://{receiver.host}/hook", alert_of(digest_content), chat_subscriber, tmp_path)
    with pytest.raises(DeliveryError, match="Connection error") as raised:
        send(f"json://127.0.0.1:{closed_port}/hook", alert_of(digest_content), chat_subscriber, tmp_path)
    assert raised.value.permanent is False


def test_two_sends_at_once_each_read_only_their_own_failure(receiver: ChatReceiver) -> None:
    """The deliver and digest jobs send from two threads: one's 410 must not be read as the other's failure."""
    listener = socket.create_server(("127.0.0.1", 0))
    got_request, gone_sent = threading.Event(), threading.Event()

    def hangs_up() -> None:  # reads the request, waits (for the other send, while it may run), closes unanswered
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            got_request.set()
            gone_sent.wait(2)

    errors: dict[str, BaseException] = {}

    def send_to(name: str, url: str) -> None:
        try:
            notify_service(load_service(url, f"dlv-{name}"), title="t", body="b", markdown=False)
        except DeliveryError as exc:
            errors[name] = exc

    server = threading.Thread(target=hangs_up)
    server.start()
    first = threading.Thread(target=send_to, args=("hung-up", f"json://127.0.0.1:{listener.getsockname()[1]}/hook"))
    first.start()
    assert got_request.wait(30)
    receiver.replies.append((410, b""))
    send_to("gone", f"json://{receiver.host}/hook")  # at once, or after the first (one send at a time)
    gone_sent.set()
    first.join(30)
    server.join(30)
    listener.close()
    assert isinstance(errors["gone"], EndpointGone)
    assert not isinstance(errors["hung-up"], EndpointGone) and errors["hung-up"].permanent is False
    assert "error=410" not in str(errors["hung-up"])


def test_a_url_apprise_cannot_use_or_an_unset_variable_fails_for_good_without_showing_the_url(
    digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    with pytest.raises(DeliveryError, match=r"Apprise URL \(nosuchservice://…\)") as raised:
        send("nosuchservice://secret-token@host/x", alert_of(digest_content), chat_subscriber, tmp_path)
    assert raised.value.permanent and "secret-token" not in str(raised.value)
    channel = ChatChannel()
    ctx = dataclasses.replace(context("", tmp_path), env={})
    with pytest.raises(DeliveryError, match=f"{URL_ENV} is not set") as unset:
        channel.send(alert_of(digest_content), chat_subscriber, ctx)
    assert unset.value.permanent


def test_an_unrecognised_failure_is_retried() -> None:
    assert classify_failure("X", []).permanent is False
    assert classify_failure("X", ["Failed to send: Bad Request, error=400."]).permanent is True


# --------------------------------------------------------------- fixed hosts: captured at Apprise's HTTP layer


@dataclasses.dataclass
class Captured:
    """Requests Apprise made through `requests`, answered without leaving the machine."""

    requests: list[requests.PreparedRequest] = dataclasses.field(default_factory=list)
    reply: bytes = b'{"ok": true, "result": {"message_id": 1}}'
    status: int = 200

    def json(self, index: int = 0) -> Any:
        body = self.requests[index].body
        return json.loads(body.decode() if isinstance(body, bytes) else str(body))


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Captured:
    """Every request any Apprise service sends is recorded and answered 200 (no network)."""
    seen = Captured()

    def fake_send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        seen.requests.append(request)
        response = requests.Response()
        response.status_code, response._content = seen.status, seen.reply
        response.url, response.request = str(request.url), request
        return response

    monkeypatch.setattr(requests.Session, "send", fake_send)
    return seen


def test_slack_gets_an_incoming_webhook_payload_in_mrkdwn(
    captured: Captured, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    captured.reply = b"ok"  # what Slack's incoming webhooks answer
    info = send("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", alert_of(digest_content),
                chat_subscriber, tmp_path)
    assert info == "Slack accepted"
    [request] = captured.requests
    assert request.method == "POST"
    assert request.url == "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    payload = captured.json()
    # Slack's documented incoming-webhook body: `text`, `blocks` or (legacy, what Apprise sends) `attachments[].text`.
    texts = [payload.get("text")] + [a.get("text") for a in payload.get("attachments", [])]
    [text] = [t for t in texts if t]
    assert text.startswith("*<https://news.example.org/a1|Turkish intelligence chief Kalın meets")
    assert "*İbrahim Kalın*" in text  # Markdown's **bold** as mrkdwn's *bold*
    assert "<https://monitor.example.org/articles/a1|Why this matched>" in text
    assert payload["mrkdwn"] is True


def test_teams_workflows_gets_an_adaptive_card(
    captured: Captured, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    assert send("workflows://prod-00.westus.logic.azure.com/8a1b2c3d4e/SIGabc123", alert_of(digest_content),
                chat_subscriber, tmp_path)
    [request] = captured.requests
    assert str(request.url).startswith(
        "https://prod-00.westus.logic.azure.com/workflows/8a1b2c3d4e/triggers/manual/paths/invoke?")
    payload = captured.json()
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    text = "\n".join(b["text"] for b in card["body"] if b["type"] == "TextBlock")
    assert "**İbrahim Kalın**" in text and "[Why this matched](https://monitor.example.org/articles/a1)" in text


def test_telegram_gets_send_message_with_chat_id_text_and_parse_mode(
    captured: Captured, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    bot = "123456789:AABBCCDDEEFFgghhiijjkkllmmnnoopp"
    assert send(f"tgram://{bot}/-1001234567890", alert_of(digest_content), chat_subscriber, tmp_path)
    [request] = captured.requests
    assert request.url == f"https://api.telegram.org/bot{bot}/sendMessage"
    payload = captured.json()
    assert payload["chat_id"] == -1001234567890
    assert payload["parse_mode"].lower() in ("markdown", "markdownv2", "html")
    assert "İbrahim Kalın" in payload["text"] and "https://monitor.example.org/articles/a1" in payload["text"]


@pytest.mark.parametrize("url", ["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
                                 "workflows://prod-00.westus.logic.azure.com/8a1b2c3d4e/SIGabc123",
                                 "tgram://123456789:AABBCCDDEEFFgghhiijjkkllmmnnoopp/-1001234567890"])
@pytest.mark.parametrize(("status", "permanent"), [(404, True), (403, True), (502, False), (429, False)])
def test_fixed_host_services_refusals_are_classified(
    captured: Captured, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path,
    url: str, status: int, permanent: bool,
) -> None:
    captured.status, captured.reply = status, b'{"ok": false}'
    with pytest.raises(DeliveryError) as raised:
        send(url, alert_of(digest_content), chat_subscriber, tmp_path)
    assert raised.value.permanent is permanent and f"error={status}" in str(raised.value)
    assert not any(secret in str(raised.value) for secret in ("TIiajkdnlazkcOXrIdevi7FQ", "SIGabc123", "AABBCCDD"))


def long_digest(content: DeliveryContent, articles: int, entries: int) -> DeliveryContent:
    """A digest of `articles` articles each matching `entries` entries with long snippets."""
    snippet = "… " + "the delegation met again " * 8 + "[[İbrahim Kalın]] " + "and talks went on " * 6
    matches = tuple(make_match("mena-security", "actor", f"e{n}", f"Entry {n}", snippet) for n in range(entries))
    items = tuple(dataclasses.replace(content.items[0], matches=matches, article=dataclasses.replace(
        content.items[0].article, id=f"k{n}", title=f"Kalın story {n:02}")) for n in range(articles))
    return dataclasses.replace(content, items=items)


def test_a_digest_is_fitted_to_telegrams_message_size_and_counts_what_it_leaves_out(
    captured: Captured, digest_content: DeliveryContent, chat_subscriber: SubscriberConfig, tmp_path: Path
) -> None:
    content = long_digest(digest_content, articles=13, entries=4)
    unfitted = render_message(content, chat_subscriber, base_url=BASE)
    assert len(unfitted) > 4096, "the test needs a digest Telegram would refuse"
    assert send("tgram://123456789:AABBCCDDEEFFgghhiijjkkllmmnnoopp/-1001234567890", content, chat_subscriber,
                tmp_path)
    [request] = captured.requests
    text = captured.json()["text"]
    assert len(text) <= 4096
    shown = sum(f"Kalın story {n:02}" in text for n in range(13))
    assert 1 <= shown < 13 and f"{13 - shown} more in the dashboard" in text
    assert "… and 3 more entries" in text


def test_an_alert_with_many_entries_lists_fewer_and_counts_the_rest_when_it_must(
    digest_content: DeliveryContent, chat_subscriber: SubscriberConfig
) -> None:
    content = alert_of(long_digest(digest_content, articles=1, entries=12))
    full = render_message(content, chat_subscriber, base_url=BASE)
    assert full.count("- Entry ") == 12 and "more entries" not in full
    fitted = render_message(content, chat_subscriber, base_url=BASE, limit=1500)
    assert len(fitted) <= 1500 and fitted.count("- Entry ") == 3 and "- … and 9 more entries" in fitted
    assert fitted.startswith("**[Kalın story 00]")
