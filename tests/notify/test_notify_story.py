"""One alert per story, the hourly cap, mute and snooze, through the real pipeline (SQLite and PostgreSQL)."""

from __future__ import annotations

import pydantic
import pytest
from sqlalchemy import select

from monitor.config import load_config
from monitor.config.models import SubscriberConfig
from monitor.refresh.runtime import Runtime
from monitor.store.rows import ArticleRow
from tests.notify.conftest import body_text
from tests.notify.test_notify_flow_harness import (
    Flow,
    Story,
    checked_requests,
    stories,
    utc,
)

START = utc(2026, 11, 24, 9, 0)
TURKEY = """\
name: Turkey
actors:
  - id: mit
    name: MIT (Turkish intelligence)
    kind: organization
    aliases: ["Turkish intelligence", "MIT"]
topics:
  - id: gaza-ceasefire
    name: Gaza ceasefire
    query: 'Gaza AND ceasefire'
"""
_BODY = (
    "İbrahim Kalın, head of Turkish intelligence, met Hamas officials in Ankara on Tuesday to discuss the captives "
    "held in Gaza and the talks on their release, officials said. The meeting lasted three hours and covered the "
    "exchange of prisoners, the border crossings, humanitarian corridors, the reconstruction conference planned "
    "for the spring and the role of Egypt and Qatar as guarantors of any {word} agreement reached in Cairo."
)


def outlet_story(key: str, word: str, minute: int) -> Story:
    """One outlet's copy of the story: near-duplicates of each other (`word` differs)."""
    return Story(key, f"Kalın meets Hamas officials on Gaza captives ({key})", _BODY.format(word=word),
                 utc(2026, 11, 24, 8, minute))


def subscribers(*extra: str, webhook_url: str) -> list[str]:
    """An email desk and a webhook, both immediate and following both watchlists."""
    follow = "    watchlists: [mena-security, turkey]\n"
    return [
        "  - id: desk\n    email: desk@test.example\n" + follow + "".join(extra),
        f"  - id: hook\n    webhook:\n      url: {webhook_url}\n      secret_env: FLOW_WEBHOOK_SECRET\n" + follow,
    ]


def with_turkey(flow: Flow, subscribers: list[str]) -> Flow:
    """Add the second watchlist, subscribers following both, and reload, as the service does."""
    (flow.config_dir / "watchlists" / "turkey.yaml").write_text(TURKEY, encoding="utf-8")
    (flow.config_dir / "subscribers.yaml").write_text("subscribers:\n" + "".join(subscribers), encoding="utf-8")
    flow.runtime = Runtime.build(load_config(flow.config_dir, flow.env).config)
    return flow


ALL_FOUR = {"ibrahim-kalin", "hostage-talks", "mit", "gaza-ceasefire"}


def test_story_from_three_outlets_matching_four_entries_is_one_alert(
    tmp_path, database_url, feed_server, smtp_server, webhook_receiver
) -> None:
    # The first outlet says "truce": it matches three entries; the others say "ceasefire" (the fourth).
    feeds: dict[str, list[Story]] = {"wire": [outlet_story("wire", "truce", 0)], "observer": [], "gazette": []}
    flow = with_turkey(Flow(tmp_path, database_url, feed_server, subscribers=[], feeds=feeds, start=START,
                            smtp_port=smtp_server.settings.port), subscribers(webhook_url=webhook_receiver.url))
    try:
        # The wire's copy comes first: it is routed for three entries; the two others follow before the
        # deliver tick, one of them routed for the fourth entry (a near-duplicate of a routed story).
        assert flow.poll().new_articles == 1
        flow.set_feed("observer", [outlet_story("observer", "ceasefire", 1)])
        flow.set_feed("gazette", [outlet_story("gazette", "ceasefire", 2)])
        flow.advance(minutes=1)
        assert flow.poll().new_articles == 2
        summary = flow.deliver()
        assert summary.failed == 0
        # Email: one message, one item, the four entries, the other outlets as "also reported by".
        [message] = smtp_server.handler.received
        assert message["Subject"].startswith("[monitor] Alert: Kalın meets Hamas officials on Gaza captives (wire)")
        text = body_text(message, "plain")
        assert text.count("Kalın meets Hamas officials") == 1
        assert "Matched 4 entries:" in text
        for name in ("Ibrahim Kalin", "Hostage talks", "MIT (Turkish intelligence)", "Gaza ceasefire"):
            assert f"> {name} (" in text
        assert "*Gaza*" in text and "*Turkish intelligence*" in text, "each entry with its marked words"
        assert "Also reported by gazette, observer" in text or "Also reported by observer, gazette" in text
        assert "Also reported by" in text
        assert "/articles/" in text
        # Webhook: one alert for the story, its four matches (the schema is checked).
        [alert] = checked_requests(webhook_receiver)
        assert alert.payload["type"] == "alert" and len(alert.payload["items"]) == 1
        item = alert.payload["items"][0]
        assert {m["id"] for m in item["matches"]} == ALL_FOUR
        assert item["article"]["cluster_size"] == 3
        assert [d.item_count for d in flow.deliveries()] == [1, 1]

        # A late copy of the story matching a new entry is not alerted again (it shows on the article page).
        flow.advance(minutes=10)
        late = outlet_story("latecomer", "ceasefire", 9)
        flow.set_feed("wire", [outlet_story("wire", "truce", 0), late])
        flow.poll()
        flow.deliver()
        assert len(smtp_server.handler.received) == 1 and len(webhook_receiver.requests) == 1
    finally:
        flow.close()


def article_id(flow: Flow, title: str) -> str:
    """The id of the stored article with this title."""
    with flow.db.sessions() as session:
        return str(session.scalar(select(ArticleRow.id).where(ArticleRow.title == title)))


def capped_webhook(url: str, cap: str = "3", extra: str = "") -> str:
    """An immediate webhook subscriber of the test watchlist with an hourly cap."""
    return (f"  - id: hook\n    webhook:\n      url: {url}\n      secret_env: FLOW_WEBHOOK_SECRET\n"
            f"    watchlists: [mena-security]\n    max_alerts_per_hour: {cap}\n{extra}")


def test_cap_sends_n_alerts_then_one_k_more(tmp_path, database_url, feed_server, webhook_receiver) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[capped_webhook(webhook_receiver.url)],
                feeds={"wire": stories("k1", "k2", "k3", "k4", "k5")}, start=START)
    try:
        flow.poll()
        flow.deliver()
        alerts = checked_requests(webhook_receiver)
        assert [r.payload["type"] for r in alerts] == ["alert"] * 3, "the cap: 3 alerts in the hour"
        flow.advance(minutes=30)
        flow.set_feed("wire", stories("k1", "k2", "k3", "k4", "k5", "k6", "k7"))
        flow.poll()
        flow.deliver()
        assert len(webhook_receiver.requests) == 3, "over the cap: held until the hour is over"
        flow.advance(minutes=30, seconds=5)  # 10:00:05, the first tick of the next hour
        flow.deliver()
        requests = checked_requests(webhook_receiver)
        assert len(requests) == 4
        overflow = requests[3].payload
        assert overflow["type"] == "digest" and len(overflow["items"]) == 4, "one delivery: 4 more alerts"
        assert [d.kind for d in flow.deliveries()] == ["alert"] * 3 + ["overflow"]
        # The new hour has its own budget: a new story is an alert again.
        flow.advance(minutes=5)
        flow.set_feed("wire", stories("k8"))
        flow.poll()
        flow.deliver()
        assert checked_requests(webhook_receiver)[4].payload["type"] == "alert"
    finally:
        flow.close()


def test_cap_email_subject_says_how_many_more(tmp_path, database_url, feed_server, smtp_server) -> None:
    desk = ("  - id: desk\n    email: desk@test.example\n    watchlists: [mena-security]\n"
            "    max_alerts_per_hour: 2\n")
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[desk], feeds={"wire": stories("k1", "k2")},
                start=START, smtp_port=smtp_server.settings.port)
    try:
        flow.poll()
        flow.deliver()
        flow.advance(minutes=10)
        flow.set_feed("wire", stories("k1", "k2", "k3", "k4", "k5"))
        flow.poll()
        flow.deliver()
        assert len(smtp_server.handler.received) == 1
        flow.advance(hours=1)
        flow.deliver()
        first, overflow = smtp_server.handler.received
        assert first["Subject"].startswith("[monitor] Alert: 2 new articles: ")
        assert overflow["Subject"].startswith("[monitor] 3 more alerts: Kalın meets counterpart (k3)")
        assert "3 more alerts (over your limit of 2 an hour)" in body_text(overflow, "plain")
    finally:
        flow.close()


def test_no_cap_when_null(tmp_path, database_url, feed_server, webhook_receiver) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[capped_webhook(webhook_receiver.url, "null")],
                feeds={"wire": stories(*(f"k{i}" for i in range(25)))}, start=START)
    try:
        flow.poll()
        flow.deliver()
        assert len(checked_requests(webhook_receiver)) == 25
    finally:
        flow.close()


def test_muted_entry_is_not_routed_to_that_subscriber(tmp_path, database_url, feed_server, webhook_receiver) -> None:
    muted = capped_webhook(webhook_receiver.url, "null", "    mute: [mena-security/ibrahim-kalin]\n")
    other = muted.replace("id: hook", "id: other").replace("    mute: [mena-security/ibrahim-kalin]\n", "")
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[muted, other], feeds={"wire": stories("k1")},
                start=START)
    try:
        assert flow.poll().routed == 1, "only the subscriber that did not mute the entry"
        flow.deliver()
        assert [r.payload["subscriber"] for r in checked_requests(webhook_receiver)] == ["other"]
    finally:
        flow.close()


def test_snooze_an_entry_from_the_cli(tmp_path, database_url, feed_server, webhook_receiver) -> None:
    hook = capped_webhook(webhook_receiver.url, "null")
    other = hook.replace("id: hook", "id: other")
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[hook, other], feeds={"wire": []}, start=START)
    try:
        result = flow.cli("snooze", "mena-security/ibrahim-kalin", "--for", "4h", "--subscriber", "hook")
        assert result.exit_code == 0, result.output
        listed = flow.cli("snooze", "--list")
        assert "entry mena-security/ibrahim-kalin" in listed.output and "hook" in listed.output
        flow.set_feed("wire", stories("k1"))
        flow.poll()
        flow.deliver()
        assert [r.payload["subscriber"] for r in checked_requests(webhook_receiver)] == ["other"]
        # Once the snooze ends, the entry's new matches are alerted again (the skipped one is not).
        flow.advance(hours=4, minutes=1)
        flow.set_feed("wire", stories("k1", "k2"))
        flow.poll()
        flow.deliver()
        received = [(r.payload["subscriber"], r.payload["items"][0]["article"]["title"])
                    for r in checked_requests(webhook_receiver)[1:]]
        assert sorted(received) == [("hook", "Kalın meets counterpart (k2)"), ("other", "Kalın meets counterpart (k2)")]
        assert flow.cli("snooze", "--list").output.strip() == ""
    finally:
        flow.close()


def test_snooze_a_story_from_the_cli_holds_pending_items(tmp_path, database_url, feed_server, webhook_receiver) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[capped_webhook(webhook_receiver.url, "null")],
                feeds={"wire": stories("k1", "k2")}, start=START)
    try:
        flow.poll()
        k1 = article_id(flow, "Kalın meets counterpart (k1)")
        result = flow.cli("snooze", "--story", k1, "--for", "1d")
        assert result.exit_code == 0, result.output
        flow.deliver()
        titles = [r.payload["items"][0]["article"]["title"] for r in checked_requests(webhook_receiver)]
        assert titles == ["Kalın meets counterpart (k2)"]
        [held] = flow.deliveries(status="cancelled")
        assert held.last_error == "not sent: snoozed"
        # It does not come back when the snooze ends.
        assert flow.cli("snooze", "--clear").exit_code == 0
        flow.advance(days=2)
        flow.deliver()
        assert len(webhook_receiver.requests) == 1
    finally:
        flow.close()


def test_snooze_refuses_unknown_entries_and_missing_duration(tmp_path, database_url, feed_server) -> None:
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[], feeds={"wire": []}, start=START)
    try:
        assert "unknown entry" in flow.cli("snooze", "nobody", "--for", "1h").output
        assert "--for" in flow.cli("snooze", "ibrahim-kalin").output
        assert "no article" in flow.cli("snooze", "--story", "nope", "--for", "1h").output
        assert flow.cli("snooze", "ibrahim-kalin", "--for", "1h").exit_code == 0
    finally:
        flow.close()


def test_the_cap_is_off_by_default_and_refuses_nonsense() -> None:
    assert SubscriberConfig(id="x", email="x@test.example", watchlists=("a",)).max_alerts_per_hour is None
    with pytest.raises(pydantic.ValidationError):
        SubscriberConfig(id="x", email="x@test.example", watchlists=("a",), max_alerts_per_hour=0)
