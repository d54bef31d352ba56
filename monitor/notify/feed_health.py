"""How a feed-health alert reads, whatever the channel: its subject line and its lines of plain text.

The wording is written once, here, so an operator's alert about the service itself reads the same
everywhere: the chat message is these lines (bold heading in Markdown); the email lays them out with the
templates feed_health.html and feed_health.txt, in the layout every email shares; the webhook sends the
fields as JSON. A delivery holds the alerts of one feed-health tick (one feed, or every feed of a mass outage).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from monitor.notify.content import FeedHealthContent
from monitor.notify.render import format_local_time, plain_text, safe_url

_HEADINGS = {
    "failing": "Feed failing",
    "recovered": "Feed recovered",
    "stale": "Feed stopped publishing",
    "resumed": "Feed publishing again",
}


def span(value: timedelta) -> str:
    """A duration as a person says it: "6 h", "3 d 4 h", "45 min"."""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins and hours < 6 else f"{hours} h"
    return f"{mins} min"


def feed_health_heading(health: FeedHealthContent) -> str:
    """E.g. "Feed failing: Gulf Observer"."""
    return f"{_HEADINGS[health.event]}: {' '.join(plain_text(health.feed_name).split()) or health.feed_id}"


def feed_health_summary(alerts: Sequence[FeedHealthContent]) -> str:
    """The email subject of a delivery: one alert's own, or the counts, e.g. "[monitor] Feed health: 3 failing, 1 recovered"."""
    if len(alerts) == 1:
        return feed_health_subject(alerts[0])
    counts: Counter[str] = Counter(a.event for a in alerts)
    words = {"failing": "failing", "recovered": "recovered", "stale": "stopped publishing", "resumed": "publishing again"}
    return "[monitor] Feed health: " + ", ".join(f"{counts[e]} {w}" for e, w in words.items() if counts[e])


def feed_health_subject(health: FeedHealthContent) -> str:
    """The subject of one alert, e.g. "[monitor] Feed failing: Gulf Observer (http_5xx for 6 h)"."""
    heading = f"[monitor] {feed_health_heading(health)}"
    if health.event == "failing" and health.error_kind and health.failing_since is not None:
        return f"{heading} ({health.error_kind} for {span(health.at - health.failing_since)})"
    if health.event == "stale" and health.silent_for is not None:
        return f"{heading} (no new item for {span(health.silent_for)})"
    return heading


def feed_health_lines(health: FeedHealthContent, zone: ZoneInfo) -> list[str]:
    """The alert's body as plain-text lines (the first is the heading), times in the reader's zone."""
    lines = [feed_health_heading(health), f"Feed: {health.feed_id} {safe_url(health.feed_url)}".rstrip()]
    when = format_local_time(health.at, zone)
    if health.event == "failing":
        since = f" since {format_local_time(health.failing_since, zone)}" if health.failing_since else ""
        lines.append(f"Failing{since} ({health.consecutive_errors} failed polls in a row), as of {when}.")
        lines.append(f"Error: {health.error_kind or 'unknown'}: {plain_text(health.error_message or '')}".rstrip(": "))
        if health.hint:
            lines.append(f"What to do: {health.hint}")
        if health.last_success_at is not None:
            lines.append(f"Last successful poll: {format_local_time(health.last_success_at, zone)}.")
    elif health.event == "recovered":
        lines.append(f"Polled successfully again at {when}.")
    elif health.event == "stale":
        usual = f"; it usually brings one every {span(health.usual_interval)}" if health.usual_interval else ""
        last = format_local_time(health.last_new_item_at, zone) if health.last_new_item_at else "never"
        lines.append(f"No new item since {last}{usual}. Its polls succeed: the publisher may have moved or "
                     "stopped the feed (check the site for a new feed link).")
    else:
        last = format_local_time(health.last_new_item_at, zone) if health.last_new_item_at else when
        lines.append(f"New items again since {last}.")
    if health.feeds_url:
        lines.append(f"Feeds on the dashboard: {safe_url(health.feeds_url)}")
    return lines


@dataclass(frozen=True, slots=True)
class FeedHealthSection:
    """One feed's alert as the email templates lay it out: its heading and the lines below it (plain text)."""

    heading: str
    lines: tuple[str, ...]


def feed_health_sections(alerts: Sequence[FeedHealthContent], zone: ZoneInfo) -> list[FeedHealthSection]:
    """Each alert's heading and lines (feed_health_lines), times in the reader's zone."""
    sections = []
    for health in alerts:
        heading, *lines = feed_health_lines(health, zone)
        sections.append(FeedHealthSection(heading, tuple(lines)))
    return sections
