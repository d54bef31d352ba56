"""The refresh's decisions, without a database: poll outcomes and routing (monitor/refresh/decide.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.models import Config, FeedConfig, FeedDefaults, SubscriberConfig
from monitor.errors import FetchError, FetchHTTPError, ParseError
from monitor.fetch import FetchResult
from monitor.model import Article, Match, ParsedFeed
from monitor.notify.routing import Router
from monitor.refresh.decide import Holds, Routing, error_outcome, poll_intervals, route, success_outcome

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
INTERVAL, MAX_INTERVAL = timedelta(minutes=15), timedelta(hours=6)


def fetched(*, status: int = 200, max_age: float | None = None, redirect: str | None = None) -> FetchResult:
    return FetchResult(
        requested_url="https://x.example/feed", final_url="https://x.example/feed", status=status,
        body=b"<rss/>" if status == 200 else None, body_hash="h1", content_type="application/rss+xml",
        etag='"e1"', last_modified="Tue, 24 Nov 2026 11:00:00 GMT", retry_after=None, max_age=max_age,
        permanent_redirect=redirect, not_modified=status == 304, unchanged=False, elapsed=0.01234,
    )


def article(n: int, published: datetime | None) -> Article:
    return Article(
        id=f"a{n}", guid=None, url=f"https://x.example/{n}", title=f"Story {n}", summary_html="", content_html="",
        summary_text="", content_text="", author="", published_at=published, language=None, content_hash=f"c{n}",
    )


def parsed(*articles: Article, ttl: int | None = None) -> ParsedFeed:
    return ParsedFeed(title="Levant Wire", link="https://x.example", language=None, ttl_minutes=ttl,
                      articles=tuple(articles))


def match(watchlist: str, entry: str) -> Match:
    return Match(watchlist=watchlist, kind="topic", id=entry, name=entry, highlights=(), snippet="")


def test_poll_intervals_are_the_feed_s_own_or_the_default_and_never_shrink_the_maximum() -> None:
    config = Config(directory=Path("."), feed_defaults=FeedDefaults(interval=INTERVAL, max_interval=MAX_INTERVAL))
    assert poll_intervals(config, None) == (INTERVAL, MAX_INTERVAL)
    assert poll_intervals(config, FeedConfig(url="https://x.example/feed")) == (INTERVAL, MAX_INTERVAL)
    slow = FeedConfig(url="https://x.example/feed", interval=timedelta(hours=12))
    assert poll_intervals(config, slow) == (timedelta(hours=12), timedelta(hours=12))


def test_a_success_keeps_the_validators_title_and_redirect_and_polls_by_the_feed_s_pace() -> None:
    # Twenty-eight entries in the last week: every 6 hours at that pace, clamped to the maximum.
    feed = parsed(*(article(n, NOW - timedelta(hours=6 * n)) for n in range(28)))
    outcome = success_outcome(fetched(redirect="https://x.example/new"), feed, NOW,
                              interval=INTERVAL, max_interval=MAX_INTERVAL)
    assert (outcome.status, outcome.etag, outcome.last_modified, outcome.body_hash) == (
        200, '"e1"', "Tue, 24 Nov 2026 11:00:00 GMT", "h1")
    assert (outcome.title, outcome.new_url, outcome.fetch_ms) == ("Levant Wire", "https://x.example/new", 12.3)
    assert outcome.error_kind is None and outcome.disable_reason is None
    assert outcome.next_poll_at == NOW + MAX_INTERVAL  # 7 days / 28 = 6 hours
    # A quiet feed (entries, none this week) waits the maximum; no entries at all: the interval.
    old = parsed(article(1, NOW - timedelta(days=30)))
    assert success_outcome(fetched(), old, NOW, interval=INTERVAL, max_interval=MAX_INTERVAL).next_poll_at == (
        NOW + MAX_INTERVAL)
    assert success_outcome(fetched(), parsed(), NOW, interval=INTERVAL, max_interval=MAX_INTERVAL).next_poll_at == (
        NOW + INTERVAL)


def test_a_304_has_no_title_and_follows_the_server_s_hints() -> None:
    outcome = success_outcome(fetched(status=304, max_age=3600), None, NOW, interval=INTERVAL,
                              max_interval=MAX_INTERVAL)
    assert outcome.status == 304 and outcome.title is None
    assert outcome.next_poll_at == NOW + timedelta(hours=1), "max-age is a floor"
    ttl = success_outcome(fetched(), parsed(ttl=120), NOW, interval=INTERVAL, max_interval=MAX_INTERVAL)
    assert ttl.next_poll_at == NOW + timedelta(hours=2), "<ttl> is a floor"


def test_an_error_backs_off_and_keeps_its_kind_status_and_retry_after() -> None:
    error = FetchHTTPError("rate_limited", "429 Too Many Requests", status=429, retry_after=7200)
    outcome = error_outcome(error, NOW, consecutive_errors=0, interval=INTERVAL, max_interval=MAX_INTERVAL)
    assert (outcome.error_kind, outcome.error_message, outcome.status) == ("rate_limited", "429 Too Many Requests", 429)
    assert outcome.next_poll_at == NOW + timedelta(hours=2), "Retry-After is honoured"
    assert outcome.disable_reason is None and outcome.etag is None
    # The third failure in a row: 2**3 x interval, jittered down by up to half, never below the interval.
    third = error_outcome(FetchError("timeout", "no answer"), NOW, consecutive_errors=2, interval=INTERVAL,
                          max_interval=MAX_INTERVAL)
    assert third.error_kind == "timeout" and third.status is None
    assert NOW + 4 * INTERVAL <= third.next_poll_at <= NOW + 8 * INTERVAL


def test_a_parse_error_keeps_the_fetch_s_status_and_a_crash_is_internal() -> None:
    outcome = error_outcome(ParseError("not_a_feed", "an HTML page"), NOW, consecutive_errors=0, interval=INTERVAL,
                            max_interval=MAX_INTERVAL, status=200)
    assert (outcome.error_kind, outcome.error_message, outcome.status) == ("not_a_feed", "an HTML page", 200)
    crash = error_outcome(RuntimeError("boom"), NOW, consecutive_errors=0, interval=INTERVAL,
                          max_interval=MAX_INTERVAL, status=200)
    assert (crash.error_kind, crash.error_message, crash.status) == ("internal", "RuntimeError: boom", 200)
    assert NOW + INTERVAL <= crash.next_poll_at <= NOW + 2 * INTERVAL


def test_gone_disables_the_feed() -> None:
    outcome = error_outcome(FetchHTTPError("gone", "410 Gone", status=410), NOW, consecutive_errors=0,
                            interval=INTERVAL, max_interval=MAX_INTERVAL)
    assert outcome.error_kind == "gone" and outcome.status == 410
    assert outcome.disable_reason == "the server answered 410 Gone: 410 Gone"
    other = error_outcome(FetchHTTPError("http_4xx", "404 Not Found", status=404), NOW, consecutive_errors=0,
                          interval=INTERVAL, max_interval=MAX_INTERVAL)
    assert other.disable_reason is None


ROUTER = Router([
    SubscriberConfig(id="desk", email="desk@x.org", watchlists=("mena",)),
    SubscriberConfig(id="analyst", email="a@x.org", watchlists=("mena/hostage-talks", "energy")),
])


def test_routes_go_to_every_follower_of_the_list_or_the_entry() -> None:
    talks, kalin, lng = match("mena", "hostage-talks"), match("mena", "ibrahim-kalin"), match("energy", "lng")
    routing = route([("a1", [(1, talks), (2, kalin)]), ("a2", []), ("a3", [(3, lng)])], ROUTER, {})
    assert routing == Routing([
        ("desk", "a1", "mena", "hostage-talks", 1), ("analyst", "a1", "mena", "hostage-talks", 1),
        ("desk", "a1", "mena", "ibrahim-kalin", 2), ("analyst", "a3", "energy", "lng", 3),
    ], 0)


def test_a_near_duplicate_is_not_routed_again_for_what_its_story_already_brought() -> None:
    talks, kalin = match("mena", "hostage-talks"), match("mena", "ibrahim-kalin")
    already = {"copy": frozenset({("desk", "mena", "hostage-talks"), ("analyst", "energy", "lng")})}
    routing = route([("copy", [(5, talks), (6, kalin)]), ("other", [(7, talks)])], ROUTER, already)
    assert routing.rows == [
        ("analyst", "copy", "mena", "hostage-talks", 5), ("desk", "copy", "mena", "ibrahim-kalin", 6),
        ("desk", "other", "mena", "hostage-talks", 7), ("analyst", "other", "mena", "hostage-talks", 7),
    ]
    assert routing.suppressed == 1, "only the desk's hostage-talks route of the copy"


def test_opted_out_subscribers_get_nothing_and_are_not_counted_as_suppressed() -> None:
    talks = match("mena", "hostage-talks")
    already = {"copy": frozenset({("analyst", "mena", "hostage-talks")})}
    saved = [("copy", [(5, talks)]), ("a2", [(6, talks)])]
    routing = route(saved, ROUTER, already, {"desk"})
    assert routing == Routing([("analyst", "a2", "mena", "hostage-talks", 6)], 1)
    # The same, decided in two steps (the refresh reads opt-outs only when something is to be routed).
    assert route(saved, ROUTER, already).excluding({"desk": object()}) == routing
    assert route([], ROUTER, {}, {"desk"}) == Routing([], 0)


def test_a_story_already_delivered_to_a_subscriber_is_not_routed_to_them_again_for_another_entry() -> None:
    talks, kalin = match("mena", "hostage-talks"), match("mena", "ibrahim-kalin")
    # The desk was alerted to this story (by another outlet's copy): one alert per story.
    routing = route([("copy", [(5, talks), (6, kalin)])], ROUTER, {}, alerted={"copy": frozenset({"desk"})})
    assert routing.rows == [("analyst", "copy", "mena", "hostage-talks", 5)]
    assert routing.suppressed == 2


def test_muted_and_snoozed_routes_are_held_back() -> None:
    talks, kalin, lng = match("mena", "hostage-talks"), match("mena", "ibrahim-kalin"), match("energy", "lng")
    saved = [("a1", [(1, talks), (2, kalin)]), ("a2", [(3, lng)])]
    muted = route(saved, ROUTER, {}, holds=Holds(muted={"desk": frozenset({"mena/ibrahim-kalin"}),
                                                        "analyst": frozenset({"lng"})}))
    assert muted.rows == [("desk", "a1", "mena", "hostage-talks", 1), ("analyst", "a1", "mena", "hostage-talks", 1)]
    assert muted.suppressed == 0, "a mute is the subscriber's choice, not a near-duplicate"
    entry = route(saved, ROUTER, {}, holds=Holds(snoozed_entries=frozenset({(None, "hostage-talks")})))
    assert [r[3] for r in entry.rows] == ["ibrahim-kalin", "lng"]
    story = route(saved, ROUTER, {}, stories={"a1": "cluster-1", "a2": "a2"},
                  holds=Holds(snoozed_stories=frozenset({("desk", "cluster-1")})))
    assert story.rows == [("analyst", "a1", "mena", "hostage-talks", 1), ("analyst", "a2", "energy", "lng", 3)]
