"""`monitor digest`: build and send pending digests now, or render them with --preview."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence

from monitor.clock import Clock, system_clock
from monitor.config.models import Config
from monitor.errors import MonitorError
from monitor.notify.deliver import DeliveryWorker, build_content
from monitor.notify.email import build_email
from monitor.notify.webhook import build_payload
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
    if preview:
        for subscriber in chosen:
            items, more = outbox.preview(subscriber.id)
            content = build_content("preview", "digest", subscriber.id, now, items, config, more_items=more)
            out(f"== {subscriber.id}: {len(content.items) + more} pending article(s) ==")
            if subscriber.webhook is not None:
                out(json.dumps(build_payload(content), ensure_ascii=False, indent=2))
            else:
                message = build_email(content, subscriber, config.settings.email, base_url=config.settings.base_url,
                                      unsubscribe_secret=Subscriptions(db).unsubscribe_secret())
                body = message.get_body(("plain",))
                out(f"Subject: {message['Subject']}\n\n{body.get_content() if body else ''}")
        return
    worker = DeliveryWorker(outbox, lambda: config, os.environ, owner=worker_id(), clock=clock)
    created = 0
    for subscriber in chosen:
        key = "manual@" + now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if outbox.assemble_digest(subscriber.id, subscriber.channel, key, now, send_empty=subscriber.send_empty):
            created += 1
    try:
        summary = worker.send_due()
    finally:
        worker.close()
    out(f"{created} digest(s) built; {summary.sent} sent, {summary.retried} to retry, {summary.failed} failed")
