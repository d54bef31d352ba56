"""deliveries.more_items and matches.more_highlights: bounded deliveries and highlights (issue 13)

Pending deliveries assembled before the cap with more than 100 articles are cut to their first 100:
the routed items of the rest go back to pending and are assembled again (in parts of at most 100).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CAP = 100  # monitor.store.outbox.MAX_ITEMS_PER_DELIVERY when this was written


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("more_items", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("more_highlights", sa.Integer(), nullable=False, server_default="0"))
    _split_oversized_deliveries()


def _split_oversized_deliveries() -> None:
    bind = op.get_bind()
    oversized = bind.execute(
        sa.text("SELECT id FROM deliveries WHERE status = 'pending' AND item_count > :cap"), {"cap": _CAP}
    ).scalars().all()
    for delivery_id in oversized:
        routed = bind.execute(
            sa.text("SELECT id, article_id FROM routed_items WHERE delivery_id = :d ORDER BY id"), {"d": delivery_id}
        ).all()
        kept: list[str] = list(dict.fromkeys(str(article) for _, article in routed))[:_CAP]
        keep = set(kept)
        detach = [{"rid": rid} for rid, article in routed if str(article) not in keep]
        if detach:
            bind.execute(sa.text("UPDATE routed_items SET delivery_id = NULL WHERE id = :rid"), detach)
        bind.execute(sa.text("UPDATE deliveries SET item_count = :n WHERE id = :d"), {"n": len(kept), "d": delivery_id})


def downgrade() -> None:
    # A plain ALTER (SQLite 3.35+ has DROP COLUMN): batch mode would copy and drop `deliveries`, and on
    # SQLite dropping it sets routed_items.delivery_id to NULL (ON DELETE SET NULL), re-queuing all.
    op.execute("ALTER TABLE matches DROP COLUMN more_highlights")
    op.execute("ALTER TABLE deliveries DROP COLUMN more_items")
