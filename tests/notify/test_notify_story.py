"""One alert per story, the hourly cap, mute and snooze, through the real pipeline (SQLite and PostgreSQL)."""

from __future__ import annotations

from monitor.config import load_config
from monitor.refresh.runtime import Runtime
from tests.notify.conftest import body_text
from tests.notify.test_notify_flow_harness import (
    Flow,
    Story,
    checked_requests,
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
