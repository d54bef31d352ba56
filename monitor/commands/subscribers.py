"""`monitor subscribers`: who receives what (cap, mutes, snoozes, feed health), who opted out, and `--resubscribe ID`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from monitor.commands.tables import render_table
from monitor.config.models import Config
from monitor.errors import MonitorError
from monitor.store.db import Database
from monitor.store.snoozes import SnoozeInfo, Snoozes
from monitor.store.subscriptions import Subscriptions


def print_subscribers(config: Config, db: Database, *, as_json: bool, out: Callable[[str], None],
                      now: datetime | None = None) -> None:
    """Every configured subscriber with its cap, mutes, snoozes in force, feed-health flag and state; then
    opt-outs of ids no longer configured."""
    opted_out = Subscriptions(db).opted_out()
    snoozes = Snoozes(db).active_list(now or datetime.now(UTC))
    rows: list[dict[str, object]] = []
    for s in config.subscribers:
        opt_out = opted_out.get(s.id)
        rows.append({
            "id": s.id, "channel": s.channel, "address": _address(getattr(s, s.channel)),
            "schedule": s.schedule.text, "watchlists": list(s.watchlists),
            "max_alerts_per_hour": s.max_alerts_per_hour, "mute": list(s.mute),
            # A snooze for everyone (no subscriber) holds this subscriber's routes back too.
            "snoozes": [_snooze(z) for z in snoozes if z.subscriber_id in (None, s.id)],
            "feed_health": s.feed_health,
            "state": "unsubscribed" if opt_out else "subscribed",
            "unsubscribed_at": opt_out.at.isoformat() if opt_out else None,
            "unsubscribed_address": opt_out.address if opt_out else None,
        })
    configured = {s.id for s in config.subscribers}
    for subscriber_id, opt_out in sorted(opted_out.items()):
        if subscriber_id not in configured:
            rows.append({
                "id": subscriber_id, "channel": "", "address": "", "schedule": "", "watchlists": [],
                "max_alerts_per_hour": None, "mute": [], "snoozes": [], "feed_health": False, "state": "unsubscribed (not in subscribers.yaml)", "unsubscribed_at": opt_out.at.isoformat(),
                "unsubscribed_address": opt_out.address,
            })
    if as_json:
        for row in rows:
            out(json.dumps(row, ensure_ascii=False))
        return
    table = []
    for row in rows:
        state = str(row["state"])
        if row["unsubscribed_at"]:
            when = datetime.fromisoformat(str(row["unsubscribed_at"])).astimezone(UTC)
            state += f" {when:%Y-%m-%d %H:%M} UTC by {row['unsubscribed_address'] or '?'}"
        cap = row["max_alerts_per_hour"]
        table.append([str(row["id"]), str(row["channel"]), str(row["address"]), str(row["schedule"]),
                      ", ".join(row["watchlists"]), f"{cap}/h" if cap else "-",  # type: ignore[arg-type]
                      _held(row), "yes" if row["feed_health"] else "-", state])
    out(render_table(["id", "channel", "address", "schedule", "watchlists", "cap", "held back", "feed health", "state"],
                     table))
    if opted_out:
        out(f"\n{len(opted_out)} unsubscribed; nothing is routed to them. Undo with: monitor subscribers --resubscribe ID")


def _snooze(snooze: SnoozeInfo) -> dict[str, object]:
    return {"id": snooze.id, "kind": snooze.kind, "target": snooze.article_id or snooze.target,
            "until": snooze.until.isoformat(), "everyone": snooze.subscriber_id is None}


def _held(row: dict[str, object]) -> str:
    """Mutes and snoozes in force, e.g. "mute energy/lng; snoozed entry kalin until 2026-12-06 14:00 UTC"."""
    parts = [f"mute {key}" for key in row["mute"]]  # type: ignore[attr-defined]
    for z in row["snoozes"]:  # type: ignore[attr-defined]
        until = datetime.fromisoformat(str(z["until"])).astimezone(UTC)
        parts.append(f"snoozed {z['kind']} {z['target']} until {until:%Y-%m-%d %H:%M} UTC (#{z['id']})")
    return "; ".join(parts) or "-"


def _address(settings: object) -> str:
    """Where a channel's settings send, safe to print: an address, a URL's endpoint, or the variable holding a URL."""
    if isinstance(settings, str):
        return settings
    url, url_env = getattr(settings, "url", None), getattr(settings, "url_env", None)
    if isinstance(url, str):
        return _endpoint(url)
    if isinstance(url_env, str):
        return f"${url_env}"  # the URL itself holds tokens; its variable is what the operator set
    return ""


def _endpoint(url: str) -> str:
    """A webhook URL without its path and query, which often carry a secret (Slack-style hook URLs)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


def resubscribe(
    config: Config, db: Database, subscriber_id: str, *, now: datetime, out: Callable[[str], None]
) -> None:
    """Clear a subscriber's opt-out so that matches reach them again from now on."""
    cleared = Subscriptions(db).resubscribe(subscriber_id, now)
    if cleared is None:
        known = {s.id for s in config.subscribers}
        if subscriber_id not in known:
            raise MonitorError(f"unknown subscriber {subscriber_id!r}; known: {', '.join(sorted(known)) or 'none'}")
        raise MonitorError(f"subscriber {subscriber_id!r} has not unsubscribed; nothing to do (see `monitor subscribers`)")
    current = next((s for s in config.subscribers if s.id == subscriber_id), None)
    address = (current.email if current else None) or cleared.address or subscriber_id
    out(f"resubscribed {subscriber_id} ({address}; unsubscribed since {cleared.at:%Y-%m-%d %H:%M} UTC): "
        "new matches reach them again; what was cancelled while they were away stays cancelled")
