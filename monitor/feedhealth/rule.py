"""The feed-health rule: failing for `failing_after` → one alert, then one when it recovers; silent for
`stale_factor` × its usual interval (and at least `stale_min`) → one warning, then one when it publishes again.

Everything here is a function of the feed's facts, what was already alerted, and now: the state that
makes each alert happen once is stored by the caller (the `feed_health_state` table), so a restart or a
second process does not alert again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

HealthEvent = Literal["failing", "recovered", "stale", "resumed"]
"""failing: failing for `failing_after`; recovered: a poll succeeded after that; stale: no new item for
`stale_factor` × the usual interval; resumed: a new item after a stale warning."""

GAPS_KEPT = 20
"""How many gaps between polls that brought new items a feed keeps (its `item_gaps`)."""

ERROR_HINTS: dict[str, str] = {
    "timeout": "Usually transient. If this feed is always slow, raise fetch.timeout; if the host is down, wait or remove the feed.",
    "too_large": "If the feed is legitimately large, raise fetch.max_bytes; otherwise ask the publisher for a shorter feed.",
    "not_a_feed": "Use the feed URL the message suggests, or find the site's feed link.",
    "http_4xx": "404: the URL moved, fix it. 401/403: the feed needs credentials or refuses our fetch.user_agent.",
    "http_5xx": "The publisher's server fails; it is retried with backoff. If it persists, tell the publisher.",
    "gone": "The publisher removed the feed and it is disabled: remove it from feeds.yaml, or change its URL.",
    "rate_limited": "The next poll waits as the server asked; if it recurs, raise the feed's interval.",
    "blocked_address": "The host resolves to a private or loopback address (SSRF protection); for a feed on your own "
                       "network set fetch.allow_private_networks: true.",
    "dns": "The host name does not resolve: check the URL for typos; the domain may have lapsed.",
    "tls": "The server's certificate is expired, self-signed or for another name: tell the publisher.",
    "connection": "Usually transient; persistent refusals mean the server is gone.",
    "too_many_redirects": "Put the final URL in feeds.yaml, or raise fetch.max_redirects.",
    "bad_redirect": "The server's redirect is broken: tell the publisher, or put the feed's real URL in feeds.yaml.",
    "local_not_allowed": "Set allow_local_feeds: true in monitor.yaml, or serve the file over HTTP.",
    "parse_error": "Validate the feed (e.g. the W3C feed validator) and tell the publisher.",
    "internal": "A bug in monitor while processing this feed (the log has the traceback): report it with the feed URL.",
}
"""What to do about each error kind, in one sentence (docs/feeds.md, "Feed health: error kinds", says more)."""


def hint_for(error_kind: str | None) -> str:
    """The one-sentence hint of an error kind ("" for none)."""
    if not error_kind:
        return ""
    return ERROR_HINTS.get(error_kind, "See docs/feeds.md, \"Feed health: error kinds\".")


@dataclass(frozen=True, slots=True)
class HealthRule:
    """The thresholds (monitor.yaml: feed_failing_after, feed_stale_factor, feed_stale_min)."""

    failing_after: timedelta = timedelta(hours=6)
    stale_factor: float = 4.0
    stale_min: timedelta = timedelta(days=3)
    min_gaps: int = 5
    """Gaps a feed must have shown before its silence is judged (a new feed has no usual interval yet)."""


@dataclass(frozen=True, slots=True)
class FeedFacts:
    """What the rule reads of one feed (from its row)."""

    feed_id: str
    polled: bool  # in feeds.yaml and not paused: a feed nobody polls is not judged
    error_kind: str | None  # of the last poll; None: it succeeded
    failing_since: datetime | None  # the first failed poll of the current run of failures
    disabled: bool = False  # 410 Gone: never polled again, so it stays failing
    last_new_item_at: datetime | None = None
    item_gaps: tuple[float, ...] = ()  # seconds between polls that brought new items, oldest first


@dataclass(frozen=True, slots=True)
class Alerted:
    """What was already alerted for a feed (stored): when the failing and the stale alerts were raised."""

    failing_at: datetime | None = None
    stale_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    """The new stored state and the alerts to raise now (in order)."""

    alerted: Alerted
    events: tuple[HealthEvent, ...] = ()
    usual: timedelta | None = None  # the usual interval between new items, when known
    silent_for: timedelta | None = None  # since the last new item, when known


def usual_interval(gaps: Sequence[float]) -> timedelta | None:
    """A feed's usual interval between new items: the mean of its recorded gaps (None without any)."""
    return timedelta(seconds=sum(gaps) / len(gaps)) if gaps else None


def record_gap(gaps: Sequence[float], last_new_item_at: datetime | None, now: datetime) -> tuple[float, ...]:
    """The gaps after a poll that brought new items at `now` (the last GAPS_KEPT; the first such poll adds none)."""
    if last_new_item_at is None or now <= last_new_item_at:
        return tuple(gaps)
    return (*gaps, (now - last_new_item_at).total_seconds())[-GAPS_KEPT:]


def stale_after(rule: HealthRule, usual: timedelta) -> timedelta:
    """How long a feed with this usual interval may be silent before it is stale."""
    return max(usual * rule.stale_factor, rule.stale_min)


def judge(facts: FeedFacts, alerted: Alerted, rule: HealthRule, now: datetime) -> Judgement:
    """Decide the alerts of one feed now: each at most once per outage or silence (see the module docstring)."""
    if not facts.polled:
        # Removed from or paused in feeds.yaml: forgotten without a "recovered" it did not earn.
        return Judgement(Alerted())
    events: list[HealthEvent] = []
    state = alerted
    failing = facts.error_kind is not None or facts.disabled
    if failing:
        if state.failing_at is None and facts.failing_since is not None and now - facts.failing_since >= rule.failing_after:
            events.append("failing")
            state = replace(state, failing_at=now)
    elif state.failing_at is not None:
        events.append("recovered")
        state = replace(state, failing_at=None)
    usual = usual_interval(facts.item_gaps) if len(facts.item_gaps) >= rule.min_gaps else None
    silent = now - facts.last_new_item_at if facts.last_new_item_at is not None else None
    if state.stale_at is not None and facts.last_new_item_at is not None and facts.last_new_item_at > state.stale_at:
        events.append("resumed")
        state = replace(state, stale_at=None)
    elif (state.stale_at is None and not failing and usual is not None and silent is not None
          and silent >= stale_after(rule, usual)):
        # A failing feed is silent because it fails: its failing alert says so, not a second warning.
        events.append("stale")
        state = replace(state, stale_at=now)
    return Judgement(state, tuple(events), usual, silent)
