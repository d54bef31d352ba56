"""`monitor digest`: build and send pending digests now, or render them with --preview."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from monitor.clock import Clock, system_clock
from monitor.config.models import Config
from monitor.errors import MonitorError
from monitor.notify.content import build_content
from monitor.notify.deliver import DeliveryWorker
from monitor.refresh.poller import worker_id
from monitor.store.db import Database
from monitor.store.outbox import Outbox
from monitor.store.subscriptions import Subscriptions


def run_digest(
    config: Config, db: Database, subscriber_ids: Sequence[str], *, preview: bool, out: Callable[[str], None],
    clock: Clock = system_clock,
) -> None:
    """Digest every selected subscriber's pending items now."""
    known = {s.id: s for s in config.subscribers}
    for wanted in subscriber_ids:
        if wanted not in known:
            raise MonitorError(f"unknown subscriber {wanted!r}; known: {', '.join(sorted(known))}")
    chosen = [known[i] for i in subscriber_ids] if subscriber_ids else list(config.subscribers)
    outbox = Outbox(db)
    now = clock()
    opted_out = Subscriptions(db).opted_out()
    for subscriber in [s for s in chosen if s.id in opted_out]:
        out(f"== {subscriber.id}: unsubscribed; no digest (monitor subscribers --resubscribe {subscriber.id}) ==")
    chosen = [s for s in chosen if s.id not in opted_out]
    worker = DeliveryWorker(outbox, lambda: config, os.environ, owner=worker_id(), clock=clock)
    try:
        if preview:
            context = worker.send_context(config)
            for subscriber in chosen:
                channel = worker.channel(subscriber.channel)
                items, more = outbox.preview(subscriber.id, grouping=channel.grouping("digest"))
                content = build_content("preview", "digest", subscriber.id, now, items, config, more_items=more)
                out(f"== {subscriber.id}: {len(content.items) + more} pending article(s) ==")
                out(channel.preview(content, subscriber, context))
            return
        created = 0
        for subscriber in chosen:
            if worker.build_digest(subscriber, "manual@" + now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), now):
                created += 1
        summary = worker.send_due()
    finally:
        worker.close()
    out(f"{created} digest(s) built; {summary.sent} sent, {summary.retried} to retry, {summary.failed} failed")
