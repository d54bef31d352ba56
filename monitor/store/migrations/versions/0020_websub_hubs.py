"""WebSub: every hub a feed names (feeds.hub_urls replaces hub_url), and when a subscription ended

A feed may name several hubs; the WebSub tick subscribes at each of the first few
(monitor/refresh/websub.py). The hub already recorded becomes a one-hub list. `ended_at` dates an
ended subscription, which the tick purges after ENDED_RETENTION; rows ended before this migration
are dated by their last request (or creation) instead.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_FEEDS = sa.table("feeds", sa.column("id", sa.String()), sa.column("hub_url", sa.Text()),
                  sa.column("hub_urls", sa.JSON()))


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("hub_urls", sa.JSON(), nullable=True))
    bind = op.get_bind()
    named = bind.execute(sa.select(_FEEDS.c.id, _FEEDS.c.hub_url).where(_FEEDS.c.hub_url.is_not(None))).all()
    for feed_id, hub in named:
        bind.execute(sa.update(_FEEDS).where(_FEEDS.c.id == feed_id).values(hub_urls=[hub]))
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("hub_url")
    with op.batch_alter_table("websub_subscriptions") as batch:
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("websub_subscriptions") as batch:
        batch.drop_column("ended_at")
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("hub_url", sa.Text(), nullable=True))
    bind = op.get_bind()
    named = bind.execute(sa.select(_FEEDS.c.id, _FEEDS.c.hub_urls).where(_FEEDS.c.hub_urls.is_not(None))).all()
    for feed_id, hubs in named:
        if hubs:
            bind.execute(sa.update(_FEEDS).where(_FEEDS.c.id == feed_id).values(hub_url=hubs[0]))
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("hub_urls")
