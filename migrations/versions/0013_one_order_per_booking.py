"""one order awaiting payment per booking

Revision ID: 0013_one_order_per_booking
Revises: 0012_capabilities
Create Date: 2026-12-07 09:12:40

A partial unique index keeps one booking order awaiting payment ('created') per booking and
gateway. Concurrent checkouts made before it could open several: the newest stays as it is, and
the older ones become failed, so that a learner is only ever sent to one of them while a late
payment of any is still captured (and refunded if the seat was paid for twice). Downgrading drops
the index and leaves those orders failed.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_one_order_per_booking"
down_revision = "0012_capabilities"
branch_labels = None
depends_on = None

AWAITING = "purpose = 'booking' AND status = 'created'"
SUPERSEDED = "Superseded by a newer order for the same booking (one open order per booking)."

payments = sa.table(
    "payments",
    sa.column("id", sa.Integer),
    sa.column("purpose", sa.String),
    sa.column("booking_id", sa.Integer),
    sa.column("gateway", sa.String),
    sa.column("status", sa.String),
    sa.column("failure_reason", sa.String),
    sa.column("failed_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade():
    bind = op.get_bind()
    newer = payments.alias("newer")
    superseded = [
        row.id
        for row in bind.execute(
            sa.select(payments.c.id).where(
                payments.c.purpose == "booking",
                payments.c.status == "created",
                sa.exists().where(
                    newer.c.purpose == "booking",
                    newer.c.status == "created",
                    newer.c.booking_id == payments.c.booking_id,
                    newer.c.gateway == payments.c.gateway,
                    newer.c.id > payments.c.id,
                ),
            )
        )
    ]
    if superseded:
        now = datetime.now(UTC)
        if bind.dialect.name == "sqlite":
            now = now.replace(tzinfo=None)  # stored as naive UTC there, as the models do
        op.execute(
            payments.update()
            .where(payments.c.id.in_(superseded))
            .values(status="failed", failure_reason=SUPERSEDED, failed_at=now, updated_at=now)
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "uq_payments_one_pending_order_per_booking",
            ["booking_id", "gateway"],
            unique=True,
            sqlite_where=sa.text(AWAITING),
            postgresql_where=sa.text(AWAITING),
        )


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_payments_one_pending_order_per_booking",
            sqlite_where=sa.text(AWAITING),
            postgresql_where=sa.text(AWAITING),
        )
