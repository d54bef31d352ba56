"""Retention: delete articles, matches and deliveries older than the retention period, in batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, select

from monitor.store.clusters import delete_band_keys, stored_band_keys
from monitor.store.db import Database
from monitor.store.models import ArticleRow, Delivery, MatchRow, RoutedItem, Sighting

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
