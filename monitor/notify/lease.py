"""The lease heartbeat: a sending worker renews its batch's leases so that only a dead worker's batch is taken over."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import timedelta

from monitor.clock import Clock
from monitor.store.outbox import Outbox

log = logging.getLogger("monitor.notify")

CLAIM_BATCH = 10
"""Deliveries leased by one claim: what a killed worker can strand at most (until DELIVERY_LEASE ends)."""
DELIVERY_LEASE = timedelta(seconds=30)
"""A claimed delivery's lease, renewed every HEARTBEAT while its worker is sending: a worker killed with
SIGKILL (or cut off from the database) holds its batch this long at most, however slow a send."""
HEARTBEAT = DELIVERY_LEASE / 3


class LeaseHeartbeat:
    """Renews the leases of a batch every HEARTBEAT while it is being sent (a thread; stops with the batch)."""

    def __init__(
        self, outbox: Outbox, owner: str, clock: Clock, lease: timedelta, delivery_ids: Sequence[str]
    ) -> None:
        self._outbox, self._owner, self._clock, self._lease = outbox, owner, clock, lease
        self._held = list(delivery_ids)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delivery-lease-heartbeat", daemon=True)

    def start(self) -> None:
        """Begin renewing."""
        self._thread.start()

    def finished(self, delivery_id: str) -> None:
        """A delivery has its outcome: its lease is no longer renewed."""
        with self._lock:
            if delivery_id in self._held:
                self._held.remove(delivery_id)

    def stop(self) -> None:
        """Stop renewing (the remaining leases are released or recorded by the caller)."""
        self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        every = min(self._lease / 3, HEARTBEAT).total_seconds()
        while not self._stopped.wait(every):
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                self._outbox.renew_leases(held, self._owner, self._clock() + self._lease)
            except Exception as exc:  # the database is unreachable: the leases will end, and others take over
                log.warning("lease_renew_failed deliveries=%d error=%r", len(held), str(exc))
