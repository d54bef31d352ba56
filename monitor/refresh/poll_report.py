"""What a poll tick did: one report per feed, added up in the tick's summary and logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

log = logging.getLogger("monitor.pipeline")


@dataclass
class PollSummary:
    """What one poll tick did."""

    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    errors: int = 0
    new_articles: int = 0
    updated_articles: int = 0
    matches: int = 0
    routed: int = 0
    suppressed: int = 0  # routes skipped because a near-duplicate already reached the subscriber
    error_kinds: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class FeedReport:
    """What one feed's refresh did; added to the tick's summary and logged once its transaction commits."""

    feed_id: str
    status: int | None
    next_poll_at: datetime
    entries: int = 0
    unchanged: bool = False
    new: int = 0
    updated: int = 0
    matches: int = 0
    routed: int = 0
    suppressed: int = 0
    error_kind: str | None = None
    error_message: str | None = None
    pushed: bool = False  # the refresh of a body a WebSub hub pushed (logged as feed_pushed)

    def add_to(self, summary: PollSummary) -> None:
        """Count this feed in the summary and log it."""
        summary.feeds += 1
        when = self.next_poll_at.isoformat(timespec="seconds")
        if self.error_kind is not None:
            summary.errors += 1
            summary.error_kinds[self.error_kind] = summary.error_kinds.get(self.error_kind, 0) + 1
            log.warning(
                "feed_poll_failed feed_id=%s error_kind=%s status=%s message=%r next_poll_at=%s",
                self.feed_id, self.error_kind, self.status, self.error_message, when,
            )
            return
        summary.new_articles += self.new
        summary.updated_articles += self.updated
        summary.matches += self.matches
        summary.routed += self.routed
        summary.suppressed += self.suppressed
        if self.unchanged:
            summary.not_modified += 1
        else:
            summary.ok += 1
        if self.pushed:
            log.info("feed_pushed feed_id=%s entries=%d new=%d updated=%d matches=%d routed=%d",
                     self.feed_id, self.entries, self.new, self.updated, self.matches, self.routed)
            return
        log.info(
            "feed_polled feed_id=%s status=%s unchanged=%s entries=%d new=%d updated=%d next_poll_at=%s",
            self.feed_id, self.status, self.unchanged, self.entries, self.new, self.updated, when,
        )
