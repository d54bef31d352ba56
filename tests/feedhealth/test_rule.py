"""The feed-health rule without a database: once when failing long enough, once on recovery; stale and resumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from monitor.errors import FeedErrorKind
from monitor.feedhealth import (
    ERROR_HINTS,
    Alerted,
    FeedFacts,
    HealthRule,
    hint_for,
    judge,
    record_gap,
    usual_interval,
)
from monitor.feedhealth.rule import GAPS_KEPT

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RULE = HealthRule()
HOUR = 3600.0


def failing(since: datetime, kind: str = "http_5xx") -> FeedFacts:
    return FeedFacts("wire", polled=True, error_kind=kind, failing_since=since)


def test_a_failing_feed_alerts_once_after_failing_after_and_recovers_once() -> None:
    state = Alerted()
    events = []
    for minutes in range(0, 12 * 60, 15):  # a tick every 15 minutes through a 12-hour outage
        judged = judge(failing(T0), state, RULE, T0 + timedelta(minutes=minutes))
        state, events = judged.alerted, events + list(judged.events)
    assert events == ["failing"]
    assert state.failing_at == T0 + timedelta(hours=6)
    healthy = FeedFacts("wire", polled=True, error_kind=None, failing_since=None)
    first = judge(healthy, state, RULE, T0 + timedelta(hours=13))
    assert first.events == ("recovered",) and first.alerted == Alerted()
    assert judge(healthy, first.alerted, RULE, T0 + timedelta(hours=14)).events == ()


def test_a_short_outage_says_nothing() -> None:
    state = judge(failing(T0), Alerted(), RULE, T0 + timedelta(hours=5, minutes=59)).alerted
    assert state == Alerted()
    healthy = FeedFacts("wire", polled=True, error_kind=None, failing_since=None)
    assert judge(healthy, state, RULE, T0 + timedelta(hours=7)).events == ()


def test_failing_after_is_configurable() -> None:
    rule = HealthRule(failing_after=timedelta(minutes=30))
    assert judge(failing(T0), Alerted(), rule, T0 + timedelta(minutes=30)).events == ("failing",)


def test_a_disabled_feed_is_failing_and_a_removed_one_is_forgotten_without_a_recovery() -> None:
    gone = FeedFacts("wire", polled=True, error_kind="gone", failing_since=T0, disabled=True)
    state = judge(gone, Alerted(), RULE, T0 + timedelta(hours=6)).alerted
    assert state.failing_at is not None
    removed = FeedFacts("wire", polled=False, error_kind="gone", failing_since=T0, disabled=True)
    judged = judge(removed, state, RULE, T0 + timedelta(hours=7))
    assert judged.events == () and judged.alerted == Alerted()


def regular(last: datetime, every: float = HOUR, count: int = 10) -> FeedFacts:
    return FeedFacts("wire", polled=True, error_kind=None, failing_since=None, last_new_item_at=last,
                     item_gaps=(every,) * count)


def test_a_feed_silent_for_n_times_its_usual_interval_is_stale_once_then_resumed_once() -> None:
    rule = HealthRule(stale_factor=4, stale_min=timedelta(hours=2))
    assert judge(regular(T0), Alerted(), rule, T0 + timedelta(hours=3, minutes=59)).events == ()
    judged = judge(regular(T0), Alerted(), rule, T0 + timedelta(hours=4))
    assert judged.events == ("stale",) and judged.usual == timedelta(hours=1)
    assert judged.silent_for == timedelta(hours=4)
    again = judge(regular(T0), judged.alerted, rule, T0 + timedelta(hours=9))
    assert again.events == () and again.alerted == judged.alerted
    back = judge(regular(T0 + timedelta(hours=10)), again.alerted, rule, T0 + timedelta(hours=10, minutes=5))
    assert back.events == ("resumed",) and back.alerted == Alerted()


def test_the_stale_floor_keeps_busy_feeds_from_alerting_over_a_quiet_night() -> None:
    busy = regular(T0, every=600)  # a new item every 10 minutes: 4x is 40 minutes
    assert judge(busy, Alerted(), RULE, T0 + timedelta(hours=8)).events == ()
    assert judge(busy, Alerted(), RULE, T0 + RULE.stale_min).events == ("stale",)


def test_no_stale_warning_without_history_or_while_failing() -> None:
    young = regular(T0, count=RULE.min_gaps - 1)
    assert judge(young, Alerted(), RULE, T0 + timedelta(days=30)).events == ()
    broken = FeedFacts("wire", polled=True, error_kind="dns", failing_since=T0 + timedelta(days=29),
                       last_new_item_at=T0, item_gaps=(HOUR,) * 10)
    judged = judge(broken, Alerted(), RULE, T0 + timedelta(days=30))
    assert judged.events == ("failing",) and judged.alerted.stale_at is None  # the failing alert, no stale one


def test_gaps_are_recorded_between_polls_with_new_items_and_capped() -> None:
    assert record_gap((), None, T0) == ()
    gaps = record_gap((), T0, T0 + timedelta(hours=2))
    assert gaps == (7200.0,)
    many: tuple[float, ...] = ()
    for n in range(GAPS_KEPT + 5):
        many = record_gap(many, T0 + timedelta(hours=n), T0 + timedelta(hours=n + 1))
    assert len(many) == GAPS_KEPT
    assert usual_interval((HOUR, 3 * HOUR)) == timedelta(hours=2) and usual_interval(()) is None


def test_every_error_kind_has_a_hint() -> None:
    kinds = set()
    for part in get_args(FeedErrorKind):
        kinds |= set(get_args(part)) if get_args(part) else {part}
    assert kinds and kinds <= set(ERROR_HINTS), kinds - set(ERROR_HINTS)
    assert hint_for(None) == "" and "docs/feeds.md" in hint_for("something-new")


def test_the_service_registers_the_feed_health_tick() -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from monitor.service.jobs import FEED_HEALTH_TICK, Ticks, register_feed_health_job

    class Target:
        async def feed_health_job(self) -> None:
            """Nothing."""

    scheduler = BackgroundScheduler(timezone=UTC)
    register_feed_health_job(scheduler, Target(), Ticks(), T0)
    [job] = scheduler.get_jobs()
    assert job.id == "feed-health" and job.coalesce and job.max_instances == 1
    assert job.misfire_grace_time >= FEED_HEALTH_TICK.total_seconds() and job.next_run_time == T0 + timedelta(minutes=1)
