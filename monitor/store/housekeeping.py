"""Retention: delete articles, matches, deliveries and spike alerts older than the retention period, in batches."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, delete, select

from monitor.store.clusters import delete_band_keys, stored_band_keys
from monitor.store.db import Database
from monitor.store.rows import (
    ArticleRow,
    Delivery,
    MatchRow,
    RoutedItem,
    Sighting,
    SpikeAlertRow,
    SpikeStateRow,
)
from monitor.store.spike_state import SPIKE_PERIOD_PREFIX

BATCH = 1000


def _resent_while_pending() -> Select[str | None]:
    """Ids of sent deliveries whose resend is still pending: the resend sends their items, so they stay."""
    return select(Delivery.resend_of).where(Delivery.status == "pending", Delivery.resend_of.is_not(None))


def purge_older_than(db: Database, cutoff: datetime) -> dict[str, int]:
    """Delete what was first seen before `cutoff`; pending deliveries are kept whatever their age."""
    removed = {"articles": 0, "deliveries": 0}
    while True:
        with db.transaction() as session:
            ids = list(session.scalars(select(ArticleRow.id).where(ArticleRow.first_seen_at < cutoff).limit(BATCH)))
            if not ids:
                break
            pending = set(
                session.scalars(
                    select(RoutedItem.article_id)
                    .join(Delivery, Delivery.id == RoutedItem.delivery_id, isouter=True)
                    .where(RoutedItem.article_id.in_(ids))
                    .where(
                        RoutedItem.delivery_id.is_(None) | (Delivery.status == "pending")
                        | RoutedItem.delivery_id.in_(_resent_while_pending())
                    )
                )
            )
            doomed = [i for i in ids if i not in pending]
            if not doomed:
                break
            session.execute(delete(RoutedItem).where(RoutedItem.article_id.in_(doomed)))
            session.execute(delete(MatchRow).where(MatchRow.article_id.in_(doomed)))
            session.execute(delete(Sighting).where(Sighting.article_id.in_(doomed)))
            # Band keys carry no foreign key (ingest writes ~16 per article): delete them by primary key.
            delete_band_keys(session, stored_band_keys(session, doomed))
            session.execute(delete(ArticleRow).where(ArticleRow.id.in_(doomed)))
            removed["articles"] += len(doomed)
    with db.transaction() as session:
        old = select(Delivery.id).where(
            Delivery.created_at < cutoff, Delivery.status.in_(("sent", "empty", "cancelled")),
            Delivery.id.not_in(_resent_while_pending()),
        )
        # Items first: the foreign key would otherwise set their delivery to NULL, i.e. pending again.
        session.execute(delete(RoutedItem).where(RoutedItem.delivery_id.in_(old)))
        result = session.execute(delete(Delivery).where(Delivery.id.in_(old)))
        removed["deliveries"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return removed


def purge_spikes(db: Database, cutoff: datetime, configured: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Delete spike alerts raised before `cutoff` that no pending delivery still sends, and the spike state
    of entries no longer configured (`configured`: (watchlist, entry id) of every entry in the configuration)."""
    removed = {"spike_alerts": 0, "spike_state": 0}
    after = ""
    while True:
        with db.transaction() as session:
            ids = list(session.scalars(
                select(SpikeAlertRow.id).where(SpikeAlertRow.created_at < cutoff, SpikeAlertRow.id > after)
                .order_by(SpikeAlertRow.id).limit(BATCH)))
            if not ids:
                break
            after = ids[-1]  # kept alerts are passed over, not read again
            # A pending delivery (or the original of a pending resend) still renders its alert: keep it.
            wanted = set(session.scalars(
                select(Delivery.period_key)
                .where(Delivery.period_key.in_([SPIKE_PERIOD_PREFIX + i for i in ids]))
                .where((Delivery.status == "pending") | Delivery.id.in_(_resent_while_pending()))))
            doomed = [i for i in ids if SPIKE_PERIOD_PREFIX + i not in wanted]
            if doomed:
                result = session.execute(delete(SpikeAlertRow).where(SpikeAlertRow.id.in_(doomed)))
                removed["spike_alerts"] += int(result.rowcount or 0)  # type: ignore[attr-defined]
    keep = set(configured)
    with db.transaction() as session:
        # One row per entry ever judged: a small table, compared in Python rather than a NOT IN of every entry.
        stale = [key for key in session.execute(select(SpikeStateRow.watchlist, SpikeStateRow.entry_id))
                 if (key[0], key[1]) not in keep]
        for watchlist, entry_id in stale:
            session.execute(delete(SpikeStateRow).where(SpikeStateRow.watchlist == watchlist,
                                                        SpikeStateRow.entry_id == entry_id))
        removed["spike_state"] = len(stale)
    return removed
