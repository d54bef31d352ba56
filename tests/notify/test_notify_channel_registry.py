"""A channel is a plug-in: one registered here (and its subscriber field) is reached through the outbox, no other code changed."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import ValidationError

from monitor.config.models import CHANNEL, Config, SubscriberConfig
from monitor.model import Article, Highlight, Match
from monitor.notify.channels.base import DeliveryKind, SendContext
from monitor.notify.channels.registry import register, registered, unregister
from monitor.notify.content import DeliveryContent
from monitor.notify.deliver import DeliveryWorker
from monitor.store.articles import save_articles, save_matches
from monitor.store.db import Database
from monitor.store.outbox import Outbox, add_routed_items
from monitor.store.outbox_assembly import Grouping

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MATCH = Match("mena", "actor", "ibrahim-kalin", "Ibrahim Kalin", (Highlight("title", 0, 5, "Kalin"),), "[[Kalin]]")


class PigeonSubscriber(SubscriberConfig):
    """A subscriber configuration with one more channel field: `pigeon: <loft>`."""

    pigeon: Annotated[str | None, CHANNEL] = None


@dataclass
class Sent:
    delivery_id: str
    loft: str
    article_ids: list[str]
    more_items: int


class PigeonChannel:
    """Two articles a bird, and the bird says how many follow; remembers what it carried."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.closed = False

    def grouping(self, kind: DeliveryKind) -> Grouping:
        return Grouping(per_delivery=2)

    def send(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        assert isinstance(subscriber, PigeonSubscriber) and subscriber.pigeon is not None
        self.sent.append(Sent(content.delivery_id, subscriber.pigeon, [i.article.id for i in content.items],
                              content.more_items))
        return f"pigeon to {subscriber.pigeon}"

    def preview(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        return f"{len(content.items)} article(s) by pigeon"

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def pigeon() -> Iterator[PigeonChannel]:
    channel = PigeonChannel()
    register("pigeon", lambda: channel)
    try:
        yield channel
    finally:
        unregister("pigeon")
    assert "pigeon" not in registered()


def article(n: int) -> Article:
    return Article(
        id=f"x{n}", guid=f"x{n}", url=f"https://news.test/x{n}", title=f"Kalin meets Bar ({n})",
        summary_html="<p>text</p>", content_html="", summary_text="text", content_text="", author="",
        published_at=NOW - timedelta(hours=1), language="en", content_hash=f"h{n}",
    )


def route_to_loft(db: Database, count: int) -> None:
    """Articles x1..x<count>, each matched and routed to the subscriber `loft`."""
    for n in range(1, count + 1):
        with db.transaction() as session:
            save_articles(session, "feed-a", [article(n)], NOW)
            [(match_id, *_)] = save_matches(session, f"x{n}", f"h{n}", [MATCH], NOW)
            add_routed_items(session, [("loft", f"x{n}", "mena", "ibrahim-kalin", match_id)], NOW)


def test_a_registered_channel_gets_its_deliveries_through_the_outbox(
    db: Database, pigeon: PigeonChannel, tmp_path: Path
) -> None:
    subscriber = PigeonSubscriber(id="loft", pigeon="coop-7", watchlists=("mena",))
    assert subscriber.channel == "pigeon"
    # The message names every channel field, the throwaway one last (built from the fields, not a list kept by hand).
    *others, last = PigeonSubscriber.channel_names()
    assert last == "pigeon" and {"email", "webhook"} <= set(others)
    expected = "exactly one of " + ", ".join(f"'{name}'" for name in others) + f" or '{last}'"
    with pytest.raises(ValidationError, match=re.escape(expected)):
        PigeonSubscriber(id="loft", pigeon="coop-7", email="loft@test.example", watchlists=("mena",))
    config = Config(directory=tmp_path, subscribers=(subscriber,))
    route_to_loft(db, 5)

    worker = DeliveryWorker(Outbox(db), lambda: config, {}, owner="w", clock=lambda: NOW)
    try:
        assert worker.assemble() == 3, "five articles, two a delivery, as the channel asked"
        summary = worker.send_due()
    finally:
        worker.close()

    assert (summary.sent, summary.failed, summary.retried) == (3, 0, 0)
    assert [s.article_ids for s in pigeon.sent] == [["x1", "x2"], ["x3", "x4"], ["x5"]]
    assert [s.more_items for s in pigeon.sent] == [3, 1, 0]
    assert {s.loft for s in pigeon.sent} == {"coop-7"}
    rows = {d.id: d for d in Outbox(db).list()}
    assert {rows[s.delivery_id].channel for s in pigeon.sent} == {"pigeon"}
    assert {rows[s.delivery_id].transport_info for s in pigeon.sent} == {"pigeon to coop-7"}
    assert all(d.status == "sent" for d in rows.values())
    assert pigeon.closed, "the worker closes the channels it used"


def test_two_ticks_sending_at_once_take_turns(db: Database, tmp_path: Path) -> None:
    """The deliver and digest ticks call one worker's send_due from two threads: the second waits for the first."""
    entered, release = threading.Event(), threading.Event()

    class HeldPigeon(PigeonChannel):
        def send(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
            entered.set()
            assert release.wait(30)
            return super().send(content, subscriber, context)

    channel = HeldPigeon()
    register("pigeon", lambda: channel)
    subscriber = PigeonSubscriber(id="loft", pigeon="coop-7", watchlists=("mena",))
    config = Config(directory=tmp_path, subscribers=(subscriber,))
    route_to_loft(db, 3)
    worker = DeliveryWorker(Outbox(db), lambda: config, {}, owner="w", clock=lambda: NOW)
    try:
        assert worker.assemble() == 2
        first = threading.Thread(target=worker.send_due)
        first.start()
        assert entered.wait(30)
        second = threading.Thread(target=worker.send_due)
        second.start()
        second.join(0.5)
        assert second.is_alive(), "the second tick waits while the first is sending"
        release.set()
        first.join(30)
        second.join(30)
        assert not first.is_alive() and not second.is_alive()
    finally:
        release.set()
        worker.close()
        unregister("pigeon")
    assert sorted(s.delivery_id for s in channel.sent) == sorted(d.id for d in Outbox(db).list())
    assert all(d.status == "sent" for d in Outbox(db).list())
