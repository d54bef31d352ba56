"""`monitor feeds` and `monitor deliveries`: tables for people, JSON lines for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime

from monitor.clock import relative_time
from monitor.errors import MonitorError
from monitor.store.dashboard import Dashboard
from monitor.store.db import Database
from monitor.store.feeds import FeedHealth, FeedRepository
from monitor.store.outbox import Outbox
from monitor.store.rows import Delivery
from monitor.store.subscriptions import Subscriptions


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned text table."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
    return "\n".join(lines)


def print_feeds(db: Database, *, as_json: bool, now: datetime, out: Callable[[str], None]) -> None:
    """Print every feed's health as of `now`."""
    health = FeedRepository(db).health(now)
    if as_json:
        for feed in health:
            out(json.dumps(_asdict(feed), ensure_ascii=False))
        return
    rows = []
    for feed in health:
        error = f"{feed.error_kind}: {feed.error_message}" if feed.error_kind else ""
        rows.append([
            feed.id, feed.kind or "-", feed.state, str(feed.last_status or "-"), relative_time(feed.last_polled_at, now),
            relative_time(feed.last_success_at, now), str(feed.consecutive_errors), relative_time(feed.next_poll_at, now),
            f"{feed.items_per_day:g}", _push(feed, now), error[:80],
        ])
    out(render_table(["feed", "kind", "state", "status", "last poll", "last ok", "errors", "next poll", "items/day",
                      "push", "error"], rows))


def _push(feed: FeedHealth, now: datetime) -> str:
    """The WebSub push state in a few words: state, lease end and last push (slower polling marked '*')."""
    if not feed.push_state:
        return "-"
    slowed = "*" if feed.pushed_until and feed.pushed_until > now else ""
    return (f"{feed.push_state}{slowed} lease {relative_time(feed.push_lease_expires_at, now)}, "
            f"push {relative_time(feed.last_push_at, now)}")


def _asdict(obj: object) -> dict[str, object]:
    from dataclasses import asdict

    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(obj).items()}  # type: ignore[call-overload]


def retrying(delivery: Delivery) -> bool:
    """Pending after a failed attempt (not one re-queued by hand, whose attempts start again at 0)."""
    return delivery.status == "pending" and delivery.attempts > 0 and bool(delivery.last_error)


def shown_status(delivery: Delivery) -> str:
    """The status as people read it: a pending delivery whose last attempt failed is "retrying"."""
    return "retrying" if retrying(delivery) else delivery.status


def print_deliveries(
    db: Database, *, failed_only: bool, as_json: bool, now: datetime, out: Callable[[str], None]
) -> None:
    """Print the most recent deliveries (`failed_only`: failed, and failing but still retrying; times relative to `now`)."""
    rows = Outbox(db).list(failed_only=failed_only)
    if as_json:
        for d in rows:
            out(json.dumps({
                "id": d.id, "subscriber": d.subscriber_id, "channel": d.channel, "kind": d.kind,
                "status": d.status, "retrying": retrying(d),
                "attempts": d.attempts, "items": d.item_count,
                "created_at": d.created_at.isoformat(), "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                "next_attempt_at": d.next_attempt_at.isoformat(), "last_error": d.last_error,
                "resend_of": d.resend_of,
            }, ensure_ascii=False))
        return
    # --failed is read for its errors: they are shown whole there (an SMTP reply's meaning is at its end).
    width = 1000 if failed_only else 70
    table = [
        [d.id, d.subscriber_id, f"{d.channel}/{d.kind}", shown_status(d), str(d.attempts), str(d.item_count),
         relative_time(d.created_at, now), relative_time(d.next_attempt_at, now) if d.status == "pending" else "",
         (d.last_error or (f"resend of {d.resend_of}" if d.resend_of else ""))[:width]]
        for d in rows
    ]
    out(render_table(["id", "subscriber", "what", "status", "attempts", "items", "created", "next try", "last error"],
                     table))
    if failed_only and not rows:
        out("no failed or retrying deliveries")


def resend(db: Database, delivery_id: str, *, now: datetime, out: Callable[[str], None]) -> None:
    """Queue a sent delivery again under a new id (`monitor deliveries --resend ID`)."""
    outbox = Outbox(db)
    original = Dashboard(db).delivery(delivery_id)
    if original is not None:
        opt_out = Subscriptions(db).opt_out(original.subscriber_id)
        if opt_out is not None:
            raise MonitorError(
                f"{original.subscriber_id} unsubscribed on {opt_out.at:%Y-%m-%d %H:%M} UTC; nothing is sent to them. "
                f"If they asked to be subscribed again: monitor subscribers --resubscribe {original.subscriber_id}"
            )
    try:
        new = outbox.resend(delivery_id, now)
    except LookupError:
        raise MonitorError(f"no delivery with id {delivery_id!r}; see `monitor deliveries`") from None
    except ValueError as exc:
        hint = "re-queue it with --retry" if str(exc) in ("failed", "pending") else "only a sent delivery is resent"
        raise MonitorError(f"delivery {delivery_id} is {exc}, not sent; {hint}") from None
    out(f"resending {delivery_id} as {new.id} ({new.item_count} item(s) to {new.subscriber_id}); "
        "the running service (or `monitor run --once`) will send it")
