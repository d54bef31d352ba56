"""What a refresh decides, apart from I/O (as lemon24/reader's update `Decider`): data in, decisions out.

The per-feed refresh (monitor/refresh/refresh.py) reads from and writes to the database; the choices
in between are made here, by functions that take values and return values, so they are tested
without a database (tests/refresh/test_decide.py):

- the poll outcome written on the feed row, after a success or an error (kind, status, retry-after,
  the next poll time, disabling a feed that answered 410 Gone);
- whom a feed's new matches are routed to: the subscribers of each (watchlist, entry), less those a
  near-duplicate of the story already reached for that entry, less those the story was already
  delivered to (one alert per story: a late-matching entry is not alerted again), less those who
  muted the entry or snoozed the entry or the story, less those who opted out.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.config.models import Config, FeedConfig
from monitor.errors import FeedErrorKind, FetchError, ParseError
from monitor.fetch import FetchResult, next_poll_at
from monitor.model import Match, ParsedFeed
from monitor.notify.routing import Router
from monitor.store.poll_records import PollOutcome

Routed = tuple[str, str, str, str, int]
"""(subscriber, article, watchlist, entry, match id): one routed item, as `add_routed_items` stores it."""
RouteKey = tuple[str, str, str]
"""(subscriber, watchlist, entry): what a subscriber was alerted to, whichever article of a story carried it."""


def poll_intervals(config: Config, feed: FeedConfig | None, *, pushed: bool = False) -> tuple[timedelta, timedelta]:
    """A feed's polling interval and the longest one its schedule may stretch to (never below the first).

    `pushed`: the feed is WebSub-subscribed and its hub pushes; polling is only the safety net, both
    are `websub.poll_factor` times longer (README "WebSub push").
    """
    interval = config.feed_interval(feed) if feed else config.feed_defaults.interval
    longest = max(config.feed_defaults.max_interval, interval)
    if pushed:
        factor = config.settings.websub.poll_factor
        return interval * factor, longest * factor
    return interval, longest


def websub_target(result: FetchResult, parsed: ParsedFeed | None) -> tuple[tuple[str, ...], str | None]:
    """The hubs to subscribe at (in the order named) and the topic, as WebSub discovery finds them (section 4).

    Link headers first, the document's own links without them; the topic is the rel="self" URL, else
    the URL the feed was fetched from. Which of the hubs are subscribed is the WebSub tick's choice.
    """
    if result.hubs:
        return result.hubs, result.self_url or (parsed.self_url if parsed else None) or result.final_url
    if parsed is not None and parsed.hubs:
        return parsed.hubs, parsed.self_url or result.self_url or result.final_url
    return (), None


def pushed_outcome(parsed: ParsedFeed | None, now: datetime, error: Exception | None = None) -> PollOutcome:
    """The feed row's outcome of a pushed body's refresh: no poll happened, so only success and title change."""
    if error is None:
        return PollOutcome(status=200, next_poll_at=now, title=parsed.title if parsed else None,
                           kind=(parsed.format or None) if parsed else None, pushed=True)
    kind = error.kind if isinstance(error, FetchError | ParseError) else "internal"
    return PollOutcome(status=None, next_poll_at=now, error_kind=kind, error_message=str(error), pushed=True)


def success_outcome(
    result: FetchResult, parsed: ParsedFeed | None, now: datetime, *, interval: timedelta, max_interval: timedelta
) -> PollOutcome:
    """The feed row's outcome of a fetch that answered (`parsed` None: 304 or the same body as last time)."""
    entry_times = [a.published_at for a in parsed.articles if a.published_at] if parsed else []
    hubs, topic = websub_target(result, parsed) if parsed else ((), None)
    return PollOutcome(
        status=result.status,
        next_poll_at=next_poll_at(
            now, interval=interval, max_interval=max_interval, consecutive_errors=0,
            max_age=result.max_age, ttl_minutes=parsed.ttl_minutes if parsed else None,
            recent_entry_times=entry_times,
        ),
        etag=result.etag, last_modified=result.last_modified, body_hash=result.body_hash,
        title=parsed.title if parsed else None, new_url=result.permanent_redirect,
        fetch_ms=round(result.elapsed * 1000, 1), kind=(parsed.format or None) if parsed else None,
        hubs=hubs, topic=topic,
    )


def error_outcome(
    error: Exception, now: datetime, *, consecutive_errors: int, interval: timedelta, max_interval: timedelta,
    status: int | None = None,
) -> PollOutcome:
    """The feed row's outcome of a failed refresh (`consecutive_errors`: the feed's failures before this one).

    A fetch or parse error gives its kind; anything else is `internal` (a bug). The next poll backs off
    (and honours a Retry-After); `gone` (410) disables the feed.
    """
    kind: FeedErrorKind
    retry_after: float | None = None
    if isinstance(error, FetchError):
        kind, message, retry_after = error.kind, error.message, error.retry_after
        status = error.status if error.status is not None else status
    elif isinstance(error, ParseError):
        kind, message = error.kind, error.message
    else:
        kind, message = "internal", f"{type(error).__name__}: {error}"
    return PollOutcome(
        status=status,
        next_poll_at=next_poll_at(
            now, interval=interval, max_interval=max_interval,
            consecutive_errors=consecutive_errors + 1, retry_after=retry_after,
        ),
        error_kind=kind,
        error_message=message,
        disable_reason=f"the server answered 410 Gone: {message}" if kind == "gone" else None,
    )


@dataclass(frozen=True, slots=True)
class Routing:
    """The items to route, and how many routes were skipped because a near-duplicate was already routed."""

    rows: list[Routed]
    suppressed: int = 0

    def excluding(self, opted_out: Container[str]) -> Routing:
        """These routes less those to subscribers who opted out (they are not counted as suppressed)."""
        return Routing([row for row in self.rows if row[0] not in opted_out], self.suppressed)


@dataclass(frozen=True, slots=True)
class Holds:
    """What a subscriber asked not to be alerted to: muted entries, snoozed entries and stories.

    An entry is named by its id or by `watchlist/entry`; a snooze with no subscriber (None) holds for all.
    """

    muted: Mapping[str, AbstractSet[str]] = field(default_factory=dict)
    """Subscriber id -> the entries it muted (`mute:` in subscribers.yaml)."""
    snoozed_entries: AbstractSet[tuple[str | None, str]] = frozenset()
    """(subscriber or None, entry) snoozed now."""
    snoozed_stories: AbstractSet[tuple[str | None, str]] = frozenset()
    """(subscriber or None, story key: the cluster id, else the article id) snoozed now."""

    def holds(self, subscriber_id: str, watchlist: str, entry_id: str, story: str) -> bool:
        """Whether this route is held back (dropped: a muted or snoozed route is never delivered later)."""
        keys = (entry_id, f"{watchlist}/{entry_id}")
        if any(k in self.muted.get(subscriber_id, ()) for k in keys):
            return True
        if any((who, k) in self.snoozed_entries for who in (subscriber_id, None) for k in keys):
            return True
        return any((who, story) in self.snoozed_stories for who in (subscriber_id, None))


NO_HOLDS = Holds()


def route(
    saved: Iterable[tuple[str, Sequence[tuple[int, Match]]]],
    router: Router,
    routed_in_cluster: Mapping[str, AbstractSet[RouteKey]],
    opted_out: Container[str] = frozenset(),
    *,
    alerted: Mapping[str, AbstractSet[str]] | None = None,
    stories: Mapping[str, str] | None = None,
    holds: Holds = NO_HOLDS,
) -> Routing:
    """Route each article's saved matches ((article id, [(match id, match)])) to the subscribers that follow them.

    A near-duplicate of a story already routed for an entry is not routed again (`routed_in_cluster`:
    by article id, what the other articles of its cluster were routed for); its feed shows as "also
    reported by" on the first one instead. A story already delivered to a subscriber (`alerted`: by
    article id, the subscribers any article of its story was delivered to) is not routed to them again
    for another entry: one alert per story; the late match shows on the article page. Routes `holds`
    holds (mute, snooze; `stories`: each article's story key) and subscribers in `opted_out` get nothing.
    """
    rows: list[Routed] = []
    suppressed = 0
    no_routes: AbstractSet[RouteKey] = frozenset()
    nobody: AbstractSet[str] = frozenset()
    for article_id, matches in saved:
        already = routed_in_cluster.get(article_id, no_routes)
        delivered = alerted.get(article_id, nobody) if alerted else nobody
        story = stories.get(article_id, article_id) if stories else article_id
        for match_id, match in matches:
            for subscriber_id in router.subscribers_for(match.watchlist, match.id):
                if (subscriber_id, match.watchlist, match.id) in already or subscriber_id in delivered:
                    suppressed += 1
                    continue
                if subscriber_id not in opted_out and not holds.holds(subscriber_id, match.watchlist, match.id, story):
                    rows.append((subscriber_id, article_id, match.watchlist, match.id, match_id))
    return Routing(rows, suppressed)
