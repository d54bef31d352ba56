"""The deliver tick: assemble alerts and due digests into the outbox, then send what is due on each channel."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.clock import Clock, system_clock
from monitor.config.models import Config, SubscriberConfig
from monitor.errors import DatabaseUnavailable, DeliveryError, EndpointGone, StorageError
from monitor.notify.channels.base import Channel, DeliveryKind, SendContext
from monitor.notify.channels.registry import channel_for
from monitor.notify.content import (
    DeliveryContent,
    build_content,
    build_feed_health_content,
    build_spike_content,
)
from monitor.notify.digests import latest_period, period_key
from monitor.notify.lease import CLAIM_BATCH, DELIVERY_LEASE, LeaseHeartbeat
from monitor.notify.retry import next_attempt_delay
from monitor.store.feed_health import feed_health_for_delivery
from monitor.store.outbox import ClaimedDelivery, Outbox
from monitor.store.outbox_assembly import Grouping
from monitor.store.spike_state import spike_for_delivery
from monitor.store.subscriptions import Subscriptions

log = logging.getLogger("monitor.notify")


def _database_gone(exc: StorageError) -> bool:
    """The connection itself was lost: everything after fails too, so the tick fails (and is logged) as a whole."""
    return isinstance(exc, DatabaseUnavailable) and exc.connection_lost


@dataclass
class DeliverySummary:
    """What one deliver tick did."""

    assembled: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0  # the subscriber unsubscribed
    outcomes: dict[str, int] = field(default_factory=dict)


class DeliveryWorker:
    """Assembles and sends deliveries; safe to run in many processes at once."""

    def __init__(
        self,
        outbox: Outbox,
        config: Callable[[], Config],
        env: Mapping[str, str],
        *,
        owner: str,
        clock: Clock = system_clock,
        rng: random.Random | None = None,
        lease: timedelta = DELIVERY_LEASE,
    ) -> None:
        self.outbox = outbox
        self.config = config
        self.env = env
        self.owner = owner
        self.clock = clock
        self.rng = rng or random.Random()
        self.lease = lease
        self.subscriptions = Subscriptions(outbox.db)
        self._unsubscribe_secret: bytes | None = None
        self._channels: dict[str, Channel] = {}
        self._channels_lock = threading.Lock()
        # The service's deliver tick and digest ticks call `send_due` from threads of their own; what
        # follows is this worker's memory across ticks, so one sends at a time (two replaying
        # `_unrecorded` at once wrote one outcome twice and lost the next: its delivery was sent again).
        self._sending = threading.Lock()
        # Outcomes sent but not yet written because the database was unreachable; written first
        # on the next tick, while this worker still holds the lease, so the send is not repeated.
        self._unrecorded: list[Callable[[], None]] = []
        self._unrecorded_ids: set[str] = set()
        # Leases of this worker that a failed tick could not give back (the database was unreachable):
        # given back first on the next tick, so that its batch does not wait for the leases to end.
        self._unreleased: list[str] = []

    def channel(self, name: str) -> Channel:
        """This worker's instance of the channel registered under `name` (made on first use, closed with the worker)."""
        with self._channels_lock:
            found = self._channels.get(name)
            if found is None:
                found = self._channels[name] = channel_for(name)
            return found

    def grouping(self, subscriber: SubscriberConfig, kind: DeliveryKind) -> Grouping:
        """How the subscriber's channel cuts pending articles into deliveries of this kind."""
        return self.channel(subscriber.channel).grouping(kind)

    def close(self) -> None:
        """Release what the channels hold (the webhook HTTP client)."""
        with self._channels_lock:
            channels, self._channels = self._channels, {}
        for channel in channels.values():
            channel.close()

    # ------------------------------------------------------------ assembling

    def assemble(self) -> int:
        """Put routed items into deliveries: immediate ones now, digests when their period has come."""
        now = self.clock()
        count = 0
        opted_out = self.subscriptions.opted_out()
        for subscriber in self.config().subscribers:
            opt_out = opted_out.get(subscriber.id)
            if opt_out is not None:
                # Routing skips them; this catches an item routed while the opt-out was being written.
                reason = f"not sent: {opt_out.address or subscriber.id} unsubscribed"
                self.subscriptions.cancel_waiting(subscriber.id, subscriber.channel, reason, now)
                continue
            try:
                if subscriber.schedule.kind == "immediate":
                    grouping = self.grouping(subscriber, "alert")
                    count += len(self.outbox.assemble_immediate(subscriber.id, subscriber.channel, now, grouping=grouping,
                                                                max_per_hour=subscriber.max_alerts_per_hour))
                else:
                    count += self.assemble_due_digest(subscriber, now)
            except StorageError as exc:
                if _database_gone(exc):
                    raise
                # One subscriber's items must not keep the others' from being assembled; they stay pending.
                log.exception("delivery_assemble_failed subscriber_id=%s error=%r", subscriber.id, str(exc))
        return count

    def assemble_due_digest(self, subscriber: SubscriberConfig, now: datetime) -> int:
        """Build the subscriber's digest if a period ended since the last one (one catch-up after an outage)."""
        state = self.outbox.subscriber_state(subscriber.id)
        if state is not None and state.unsubscribed_at is not None:
            return 0
        if state is None or state.last_digest_at is None:
            # First sight of this subscriber: start counting periods from now rather than back-fill.
            self.outbox.set_last_digest(subscriber.id, now)
            return 0
        period = latest_period(subscriber, state.last_digest_at, now)
        if period is None:
            return 0
        created = self.build_digest(subscriber, period_key(period), now)
        self.outbox.set_last_digest(subscriber.id, period)
        log.info("digest_assembled subscriber_id=%s period=%s delivery_id=%s", subscriber.id, period_key(period), created)
        return 1 if created else 0

    def build_digest(self, subscriber: SubscriberConfig, key: str, now: datetime) -> str | None:
        """The subscriber's digest for the period `key`, cut as its channel says (None: built before, or empty)."""
        return self.outbox.assemble_digest(subscriber.id, subscriber.channel, key, now,
                                           send_empty=subscriber.send_empty, grouping=self.grouping(subscriber, "digest"))

    # ------------------------------------------------------------ sending

    def send_due(self, *, limit: int = CLAIM_BATCH, stop: Callable[[], bool] = lambda: False) -> DeliverySummary:
        """Send every due delivery (claimed with a lease, so a crash re-sends with the same id); one call at a time."""
        summary = DeliverySummary()
        with self._sending:
            self._record_deferred()
            # Read before anything is claimed: a database error here is the tick's, not a delivery's failure.
            self._unsubscribe_secret = self.subscriptions.unsubscribe_secret()
            self._release_unreleased()
            while not stop():
                claimed = self.outbox.claim_due(self.owner, self.clock(), limit=limit, lease=self.lease)
                if claimed:
                    self._send_batch(claimed, summary, stop)
                if len(claimed) < limit or stop():
                    break
        return summary

    def _send_batch(self, claimed: list[ClaimedDelivery], summary: DeliverySummary, stop: Callable[[], bool]) -> None:
        """Send a claimed batch while a heartbeat renews its leases; whatever is left unsent is given back."""
        done = 0
        heartbeat = LeaseHeartbeat(self.outbox, self.owner, self.clock, self.lease, [d.id for d in claimed])
        heartbeat.start()
        try:
            for delivery in claimed:
                if stop():
                    break
                self._send_one(delivery, summary)
                done += 1
                heartbeat.finished(delivery.id)
        finally:
            heartbeat.stop()
            # Given back at once rather than left to expire: after a graceful stop, and when the database
            # failed mid-batch (the delivery being sent, unless its outcome waits in `_unrecorded`, and those after).
            rest = [d.id for d in claimed[done:] if d.id not in self._unrecorded_ids]
            if rest:
                self._release(rest, "stopping" if stop() else "tick_failed")

    def _release(self, delivery_ids: Sequence[str], reason: str) -> None:
        try:
            released = self.outbox.release_many(delivery_ids, self.owner)
        except StorageError as exc:
            self._unreleased.extend(i for i in delivery_ids if i not in self._unreleased)
            log.error("lease_release_deferred deliveries=%d reason=%s error=%r", len(delivery_ids), reason, str(exc))
            return
        for delivery_id in released:
            log.info("lease_released delivery_id=%s owner=%s reason=%s", delivery_id, self.owner, reason)

    def _release_unreleased(self) -> None:
        if self._unreleased:
            pending, self._unreleased = self._unreleased, []
            self._release(pending, "tick_failed")  # still unreachable: kept for the next tick

    def _record(self, delivery_id: str, write: Callable[[], None]) -> None:
        """Write a delivery outcome; if the database is gone, keep it for the next tick and re-raise."""
        try:
            write()
        except StorageError:
            self._unrecorded.append(write)
            self._unrecorded_ids.add(delivery_id)
            log.error("delivery_record_deferred pending=%d (the database is unreachable)", len(self._unrecorded))
            raise

    def _record_deferred(self) -> None:
        while self._unrecorded:
            self._unrecorded[0]()  # raises again while the database is still unreachable
            self._unrecorded.pop(0)
            if not self._unrecorded:
                self._unrecorded_ids.clear()
            log.info("delivery_record_written pending=%d", len(self._unrecorded))

    def _send_one(self, delivery: ClaimedDelivery, summary: DeliverySummary) -> None:
        config = self.config()
        subscriber = next((s for s in config.subscribers if s.id == delivery.subscriber_id), None)
        if subscriber is None:
            self._fail(delivery, "the subscriber is no longer in subscribers.yaml", summary)
            return
        state = self.outbox.subscriber_state(subscriber.id)
        if state is not None and state.disabled_reason:
            self._fail(delivery, f"endpoint disabled: {state.disabled_reason}", summary)
            return
        if state is not None and state.unsubscribed_at is not None:
            self._cancel(delivery, f"not sent: {state.unsubscribed_address or subscriber.id} unsubscribed", summary)
            return
        try:
            content = self._content(delivery, subscriber, config)
        except StorageError as exc:
            if _database_gone(exc):
                raise  # not this delivery's fault: its lease is given back
            self._build_failed(delivery, subscriber, exc, summary)
            return
        except Exception as exc:  # a stored row this code cannot read, or a bug: this delivery's failure
            self._build_failed(delivery, subscriber, exc, summary)
            return
        try:
            info = self.send_content(content, subscriber, config)
        except DeliveryError as exc:
            self._handle_error(delivery, subscriber, exc, summary)
            return
        except Exception as exc:  # a bug or an unexpected library error: retry, and say so loudly
            log.exception("delivery_crashed delivery_id=%s", delivery.id)
            self._handle_error(delivery, subscriber, DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False), summary)
            return
        sent_at = self.clock()
        self._record(delivery.id, lambda: self.outbox.mark_sent(delivery.id, self.owner, sent_at, info))
        summary.sent += 1
        log.info(
            "delivery_sent delivery_id=%s subscriber_id=%s channel=%s kind=%s items=%d attempt=%d via=%s",
            delivery.id, subscriber.id, subscriber.channel, delivery.kind, len(content.items), delivery.attempts, info,
        )

    def _content(self, delivery: ClaimedDelivery, subscriber: SubscriberConfig, config: Config) -> DeliveryContent:
        if delivery.kind == "spike":  # no routed items: the spike alert it was raised for says what to show
            alert = spike_for_delivery(self.outbox.db, delivery.id)
            if alert is None:
                raise LookupError(f"the spike alert of delivery {delivery.id} is gone")
            return build_spike_content(delivery.id, subscriber.id, delivery.created_at, alert, config)
        if delivery.kind == "feed_health":  # no routed items either: the stored alert says what to show
            health = feed_health_for_delivery(self.outbox.db, delivery.id)
            if not health:
                raise LookupError(f"the feed-health alerts of delivery {delivery.id} are gone")
            return build_feed_health_content(delivery.id, subscriber.id, delivery.created_at, health, config)
        return build_content(
            delivery.id, delivery.kind, subscriber.id, delivery.created_at, self.outbox.items(delivery.id), config,
            more_items=delivery.more_items,
        )

    def _build_failed(
        self, delivery: ClaimedDelivery, subscriber: SubscriberConfig, exc: Exception, summary: DeliverySummary
    ) -> None:
        """A delivery that could not be built is retried with backoff and its error recorded (never a crashed tick)."""
        log.exception("delivery_build_failed delivery_id=%s subscriber_id=%s", delivery.id, subscriber.id)
        error = DeliveryError(f"could not build the delivery: {type(exc).__name__}: {exc}"[:1000], permanent=False)
        self._handle_error(delivery, subscriber, error, summary)

    def send_content(self, content: DeliveryContent, subscriber: SubscriberConfig, config: Config) -> str:
        """Send one delivery's content on the subscriber's channel; returns a short description."""
        return self.channel(subscriber.channel).send(content, subscriber, self.send_context(config))

    def send_context(self, config: Config) -> SendContext:
        """What channels may use: the configuration in force, the environment, the unsubscribe key."""
        return SendContext(config, self.env, lambda: self._unsubscribe_secret or self.subscriptions.unsubscribe_secret())

    def _handle_error(
        self, delivery: ClaimedDelivery, subscriber: SubscriberConfig, error: DeliveryError, summary: DeliverySummary
    ) -> None:
        message = str(error)
        if isinstance(error, EndpointGone):
            self.outbox.disable_endpoint(subscriber.id, message, self.clock())
        if error.permanent:
            self._fail(delivery, message, summary)
            return
        delay = next_attempt_delay(delivery.attempts, retry_after=error.retry_after, rng=self.rng)
        if delay is None:
            self._fail(delivery, f"gave up after {delivery.attempts} attempts: {message}", summary)
            return
        next_at = self.clock() + delay
        self._record(delivery.id, lambda: self.outbox.mark_retry(delivery.id, self.owner, message, next_at))
        summary.retried += 1
        log.warning(
            "delivery_retry delivery_id=%s subscriber_id=%s attempt=%d error=%r next_attempt_at=%s",
            delivery.id, subscriber.id, delivery.attempts, message, next_at.isoformat(timespec="seconds"),
        )

    def _fail(self, delivery: ClaimedDelivery, message: str, summary: DeliverySummary) -> None:
        self._record(delivery.id, lambda: self.outbox.mark_failed(delivery.id, self.owner, message))
        summary.failed += 1
        log.error(
            "delivery_failed delivery_id=%s subscriber_id=%s error=%r (retry by hand: monitor deliveries --retry %s)",
            delivery.id, delivery.subscriber_id, message, delivery.id,
        )

    def _cancel(self, delivery: ClaimedDelivery, message: str, summary: DeliverySummary) -> None:
        self._record(delivery.id, lambda: self.outbox.mark_cancelled(delivery.id, self.owner, message))
        summary.cancelled += 1
        log.info("delivery_cancelled delivery_id=%s subscriber_id=%s reason=%r",
                 delivery.id, delivery.subscriber_id, message)
