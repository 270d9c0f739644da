"""move payments: a learner pays the difference to move a booking to a dearer session

Revision ID: 0025_move_payments
Revises: 0024_packs
Create Date: 2026-12-07 02:10:00

A payment may pay for a move (``purpose = 'move'``, always of a booking). New table
``move_orders``: one per move payment, naming the booking, the session it moves from and to, the
list price the difference was worked out on, and the seat of the target held while it is open
(one open order per booking). Downgrading drops the table and the purpose (move rows must be gone).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025_move_payments"
down_revision = "0024_packs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(batch.f("ck_payments_purpose_valid"), type_="check")
        batch.create_check_constraint(
            batch.f("ck_payments_purpose_valid"), "purpose IN ('booking', 'gift', 'pack', 'move')"
        )
        batch.create_check_constraint(
            batch.f("ck_payments_move_payment_has_booking"), "purpose != 'move' OR booking_id IS NOT NULL"
        )
    op.create_table(
        "move_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("from_session_id", sa.Integer(), nullable=False),
        sa.Column("to_session_id", sa.Integer(), nullable=False),
        sa.Column("from_list_price_paise", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("seat_held", sa.Boolean(), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'moved', 'lapsed', 'refunded')", name=op.f("ck_move_orders_status_valid")
        ),
        sa.CheckConstraint("from_list_price_paise >= 0", name=op.f("ck_move_orders_list_price_not_negative")),
        sa.CheckConstraint(
            "status = 'open' OR NOT seat_held", name=op.f("ck_move_orders_only_open_orders_hold_seats")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_move_orders_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_move_orders_booking_id_bookings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["from_session_id"],
            ["learning_sessions.id"],
            name=op.f("fk_move_orders_from_session_id_learning_sessions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["to_session_id"],
            ["learning_sessions.id"],
            name=op.f("fk_move_orders_to_session_id_learning_sessions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_orders")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_move_orders_payment_id")),
    )
    op.create_index("ix_move_orders_booking_id", "move_orders", ["booking_id"], unique=False)
    op.create_index("ix_move_orders_to_session_id", "move_orders", ["to_session_id"], unique=False)
    op.create_index(
        "ix_move_orders_status_hold_expires_at", "move_orders", ["status", "hold_expires_at"], unique=False
    )
    op.create_index(
        "uq_move_orders_one_open_per_booking",
        "move_orders",
        ["booking_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade():
    op.drop_index("uq_move_orders_one_open_per_booking", table_name="move_orders")
    op.drop_index("ix_move_orders_status_hold_expires_at", table_name="move_orders")
    op.drop_index("ix_move_orders_to_session_id", table_name="move_orders")
    op.drop_index("ix_move_orders_booking_id", table_name="move_orders")
    op.drop_table("move_orders")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(batch.f("ck_payments_move_payment_has_booking"), type_="check")
        batch.drop_constraint(batch.f("ck_payments_purpose_valid"), type_="check")
        batch.create_check_constraint(
            batch.f("ck_payments_purpose_valid"), "purpose IN ('booking', 'gift', 'pack')"
        )
