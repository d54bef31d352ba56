"""deliveries.resend_of: `monitor deliveries --resend ID` sends a sent delivery's items again under a new id

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No foreign key: retention may delete the original long after its resend was sent.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("resend_of", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("resend_of")
