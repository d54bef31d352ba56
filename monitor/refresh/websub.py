"""WebSub subscriptions, kept by a service tick: subscribe, renew before the lease ends, fall back to polling.

Discovery happens on every parsed poll (monitor/refresh/decide.py `websub_target` records the hubs and
topic on the feed row). Each tick then, with every step's state in the database (monitor/store/websub.py):

1. feeds whose push went quiet (no push from any of their hubs for `websub.quiet_after`) or whose
   leases all ended unrenewed fall back: they are polled at once, then at their normal interval
   (`websub_fallback`); subscriptions ended more than ENDED_RETENTION ago are deleted;
2. a feed is subscribed at each hub it names, in the publisher's order, until MAX_HUBS_PER_FEED of
   them are pending or subscribed (`hubs_to_keep`): a hub that denied or keeps failing is kept (and
   retried) but does not count, so the next hub named is asked in its stead. A new subscription is a
   random callback token and secret, the row stored as pending, then the request posted to the hub;
   the dashboard's callback (monitor/web/websub.py) confirms the hub's verification of intent for
   exactly that request. A push from any of the feed's hubs is a push;
3. a subscription whose lease is within RENEW_BEFORE (at most half the lease) of its end is renewed
   (same callback and secret); one the hub never verified fails after VERIFY_TIMEOUT, and failed,
   denied and expired ones are tried again after RETRY_AFTER;
4. a subscription whose feed no longer names that hub or topic (or is gone), or whose hub is no
   longer among those kept, is ended, and the hub asked to unsubscribe.

Nothing is subscribed unless `websub.enabled` and `base_url` can be reached by a hub: a loopback or
private base_url only with `fetch.allow_private_networks` (a hub on the same private network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from monitor.clock import Clock
from monitor.errors import FetchError
from monitor.fetch import is_blocked_address
from monitor.fetch.websub import hub_request, new_secret, new_token
from monitor.refresh.runtime import Runtime
from monitor.store.db import Database
from monitor.store.websub import (
    ENDED_RETENTION,
    Subscription,
    add_subscription,
    end_subscription,
    lapse,
    live_subscriptions,
    mark_failed,
    mark_requested,
    purge_ended,
    wanted_hubs,
)

log = logging.getLogger("monitor.websub")

CALLBACK_PATH = "/websub/"
"""The callback URLs: `<base_url>/websub/<token>` (monitor/web/websub.py)."""
RENEW_BEFORE = timedelta(days=1)
"""A subscription is renewed this long before its lease ends (or half-way through a shorter lease)."""
VERIFY_TIMEOUT = timedelta(minutes=5)
"""A request the hub has not verified by then has failed (tried again after RETRY_AFTER)."""
RETRY_AFTER = {"failed": timedelta(hours=1), "denied": timedelta(days=1), "expired": timedelta(0)}
"""How long after a failure, a denial or an unrenewed lease a subscription is asked for again."""
REQUESTS_AT_ONCE = 16
MAX_HUBS_PER_FEED = 3
"""Hubs of one feed subscribed at once: redundancy (WebSub section 4 lets a subscriber use several),
without a renewal and a duplicate delivery per update for every hub a feed may list."""
_WORKING = frozenset({"pending", "subscribed"})


def hubs_to_keep(named: Sequence[str], states: Mapping[str, str]) -> list[str]:
    """The hubs a feed holds subscriptions at: in the order named, until MAX_HUBS_PER_FEED are pending or subscribed.

    `states` gives the state of the feed's subscription at each hub that has one; a hub without one
    counts as working (it is about to be asked). A denied, failed or expired one is kept, to be
    retried, but the next hub named is asked too; once it works again, the hub after it is let go.
    """
    keep: list[str] = []
    working = 0
    for hub in named:
        if working >= MAX_HUBS_PER_FEED:
            break
        keep.append(hub)
        if states.get(hub, "pending") in _WORKING:
            working += 1
    return keep


def callback_base(base_url: str, allow_private: bool) -> tuple[str | None, str]:
    """The callback URLs' prefix, or None and why not (a hub could not reach a loopback or private base_url)."""
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return None, "base_url_not_http"
    if _local_host(host) and not allow_private:
        return None, "base_url_not_public"
    return base_url.strip().rstrip("/") + CALLBACK_PATH, ""


def _local_host(host: str) -> bool:
    """localhost, or a loopback/private/reserved IP literal; a name may well be public."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return is_blocked_address(host)


class WebSubKeeper:
    """The WebSub tick of one service process (any number may run: the hub collapses repeated requests)."""

    def __init__(self, db: Database, runtime: Callable[[], Runtime], clock: Clock) -> None:
        self.db = db
        self.runtime = runtime
        self.clock = clock
        self._disabled_reason: str | None = None

    async def tick(self) -> None:
        """Fall back, subscribe, renew, retry and unsubscribe as the module docstring says."""
        now = self.clock()
        for feed_id, reason in await asyncio.to_thread(lapse, self.db, now):
            log.info("websub_fallback feed_id=%s reason=%s (polled at its normal interval)", feed_id, reason)
        purged = await asyncio.to_thread(purge_ended, self.db, now)
        if purged:
            log.info("websub_purged subscriptions=%d ended_before=%s", purged, (now - ENDED_RETENTION).isoformat())
        settings = self.runtime().config.settings
        prefix, why = callback_base(settings.base_url, settings.fetch.allow_private_networks)
        if not settings.websub.enabled:
            prefix, why = None, "disabled"
        if prefix is None:
            if why != self._disabled_reason:
                log.info("websub_off reason=%s base_url=%s", why, settings.base_url)
                self._disabled_reason = why
            return
        self._disabled_reason = None
        wanted = await asyncio.to_thread(wanted_hubs, self.db)
        live = await asyncio.to_thread(live_subscriptions, self.db)
        # Oldest first: the newest of a (feed, hub) wins; older ones are ended.
        current = {(sub.feed_id, sub.hub): sub for sub in live}
        states: dict[str, dict[str, str]] = {}
        for (feed_id, hub), sub in current.items():
            if feed_id in wanted and sub.topic == wanted[feed_id][1]:
                states.setdefault(feed_id, {})[hub] = sub.state
        keep = {feed_id: hubs_to_keep(hubs, states.get(feed_id, {})) for feed_id, (hubs, _topic) in wanted.items()}
        jobs: list[Coroutine[Any, Any, None]] = [
            self._unsubscribe(prefix, sub) for sub in live
            if sub.hub not in keep.get(sub.feed_id, ()) or sub.topic != wanted[sub.feed_id][1]
            or current[(sub.feed_id, sub.hub)] is not sub
        ]
        unverified: list[Subscription] = []
        for feed_id, (_hubs, topic) in wanted.items():
            for hub in keep[feed_id]:
                found = current.get((feed_id, hub))
                if found is None or found.topic != topic:
                    jobs.append(self._subscribe_new(prefix, feed_id, hub, topic))
                elif self._unverified(found):
                    unverified.append(found)
                elif self._due(found):
                    jobs.append(self._request(prefix, found, "subscribe"))
        if unverified:  # in a thread: the event loop also serves pushes and polls
            await asyncio.to_thread(self._mark_unverified, unverified)
        slots = asyncio.Semaphore(REQUESTS_AT_ONCE)

        async def bounded(job: Coroutine[Any, Any, None]) -> None:
            async with slots:
                await job

        await asyncio.gather(*(bounded(job) for job in jobs))

    @staticmethod
    def _verifying(sub: Subscription, now: datetime) -> bool:
        """Whether a request of the subscription still waits for the hub's verification."""
        asked = sub.requested_at
        return sub.pending_mode is not None and asked is not None and now - asked < VERIFY_TIMEOUT

    def _unverified(self, sub: Subscription) -> bool:
        """Whether a pending subscription's hub did not verify it in time (it is then marked failed)."""
        return sub.state == "pending" and not self._verifying(sub, self.clock())

    def _mark_unverified(self, subs: list[Subscription]) -> None:
        now = self.clock()
        for sub in subs:
            mark_failed(self.db, sub.id, "the hub did not verify the subscription in time", now)

    def _due(self, sub: Subscription) -> bool:
        """Whether to (re)send a subscription request now (not for a pending one: it waits, or `_unverified`)."""
        now = self.clock()
        asked = sub.requested_at
        if self._verifying(sub, now) or sub.state == "pending":
            return False
        if sub.state == "subscribed":
            if sub.lease_expires_at is None:
                return True
            lease = timedelta(seconds=sub.lease_seconds or 0)
            margin = min(RENEW_BEFORE, lease / 2)
            if sub.lease_expires_at - now > margin:
                return False
            # A failed renewal is tried again a few times before the lease ends, not on every tick.
            return asked is None or sub.last_error is None or now - asked >= margin / 4
        wait = RETRY_AFTER.get(sub.state, timedelta(hours=1))
        return asked is None or now - asked >= wait

    async def _subscribe_new(self, prefix: str, feed_id: str, hub: str, topic: str) -> None:
        token, secret = new_token(), new_secret()
        # Stored before the request: the hub may verify our intent before it even answers it.
        await asyncio.to_thread(add_subscription, self.db, token=token, feed_id=feed_id, hub=hub, topic=topic,
                                secret=secret, now=self.clock())
        await self._send(prefix, token, feed_id, hub, topic, secret, "subscribe")

    async def _request(self, prefix: str, sub: Subscription, mode: str) -> None:
        await asyncio.to_thread(mark_requested, self.db, sub.id, mode=mode, now=self.clock())
        await self._send(prefix, sub.id, sub.feed_id, sub.hub, sub.topic, sub.secret, mode)

    async def _unsubscribe(self, prefix: str, sub: Subscription) -> None:
        quiet_after = self.runtime().config.settings.websub.quiet_after
        await asyncio.to_thread(end_subscription, self.db, sub.id, now=self.clock(), quiet_after=quiet_after)
        if sub.state != "subscribed":
            return  # nothing active at the hub to cancel
        await asyncio.to_thread(mark_requested, self.db, sub.id, mode="unsubscribe", now=self.clock())
        await self._send(prefix, sub.id, sub.feed_id, sub.hub, sub.topic, None, "unsubscribe")

    async def _send(
        self, prefix: str, token: str, feed_id: str, hub: str, topic: str, secret: str | None, mode: str
    ) -> None:
        settings = self.runtime().config.settings
        lease = int(settings.websub.lease.total_seconds()) if mode == "subscribe" else None
        try:
            answer = await hub_request(settings.fetch, hub, mode=mode, topic=topic, callback=prefix + token,
                                       secret=secret, lease_seconds=lease)
        except FetchError as exc:
            log.warning("websub_request_failed feed_id=%s mode=%s hub=%s error_kind=%s message=%r",
                        feed_id, mode, hub, exc.kind, exc.message)
            await asyncio.to_thread(mark_failed, self.db, token, exc.message, self.clock())
            return
        if not answer.accepted:
            log.warning("websub_request_refused feed_id=%s mode=%s hub=%s status=%d message=%r",
                        feed_id, mode, hub, answer.status, answer.message)
            await asyncio.to_thread(mark_failed, self.db, token,
                                    f"the hub answered {answer.status}: {answer.message}", self.clock())
            return
        log.info("websub_requested feed_id=%s mode=%s hub=%s topic=%s", feed_id, mode, answer.hub, topic)
