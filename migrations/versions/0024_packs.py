"""packs: session packs a mentor sells and the credits learners book with

Revision ID: 0024_packs
Revises: 0023_reschedules
Create Date: 2026-12-06 23:55:00

New tables ``session_packs``, ``pack_purchases`` and ``pack_credits``. A payment may be for a
pack (``purpose = 'pack'``). The ledger gains two kinds, ``held_for_learner`` (+, a pack's price
on capture) and ``held_release`` (−, held money a used credit earned or a refund returned), and
``pack_credit_id``: a credit's fee and earning entries name it, so one pack payment can carry an
earning per credit (unique per credit and kind) while every other payment keeps one per kind.
Downgrading refuses nothing: it drops the tables, column and kinds (pack rows must be gone).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_packs"
down_revision = "0023_reschedules"
branch_labels = None
depends_on = None

_OLD_SIGNS = (
    "(kind IN ('payment', 'platform_fee', 'mentor_earning') AND amount_paise >= 0) OR "
    "(kind IN ('refund', 'fee_reversal', 'earning_reversal', 'payout') AND amount_paise <= 0)"
)
_NEW_SIGNS = (
    "(kind IN ('payment', 'platform_fee', 'mentor_earning', 'held_for_learner') "
    "AND amount_paise >= 0) OR "
    "(kind IN ('refund', 'fee_reversal', 'earning_reversal', 'payout', 'held_release') "
    "AND amount_paise <= 0)"
)
_OLD_KINDS = (
    "kind IN ('payment', 'platform_fee', 'mentor_earning', 'refund', 'fee_reversal', "
    "'earning_reversal', 'payout')"
)
_NEW_KINDS = (
    "kind IN ('payment', 'platform_fee', 'mentor_earning', 'refund', 'fee_reversal', "
    "'earning_reversal', 'payout', 'held_for_learner', 'held_release')"
)
_OLD_ONE_PER_PAYMENT = "refund_id IS NULL AND payment_id IS NOT NULL"
_NEW_ONE_PER_PAYMENT = "refund_id IS NULL AND payment_id IS NOT NULL AND pack_credit_id IS NULL"


def upgrade():
    op.create_table(
        "session_packs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("price_paise", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("one_to_one_only", sa.Boolean(), nullable=False),
        sa.Column("max_session_price_paise", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("credits BETWEEN 1 AND 50", name=op.f("ck_session_packs_credits_valid")),
        sa.CheckConstraint(
            "price_paise >= 100 * credits", name=op.f("ck_session_packs_price_covers_credits")
        ),
        sa.CheckConstraint("valid_days BETWEEN 1 AND 730", name=op.f("ck_session_packs_valid_days_valid")),
        sa.CheckConstraint(
            "max_session_price_paise >= 0", name=op.f("ck_session_packs_max_price_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["users.id"], name=op.f("fk_session_packs_mentor_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_packs")),
    )
    op.create_index("ix_session_packs_mentor_id", "session_packs", ["mentor_id"], unique=False)
    op.create_table(
        "pack_purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("price_paise", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("one_to_one_only", sa.Boolean(), nullable=False),
        sa.Column("max_session_price_paise", sa.Integer(), nullable=False),
        sa.Column("credits_used", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'expired', 'refunded', 'cancelled')",
            name=op.f("ck_pack_purchases_status_valid"),
        ),
        sa.CheckConstraint(
            "credits_used >= 0 AND credits_used <= credits",
            name=op.f("ck_pack_purchases_credits_within_pack"),
        ),
        sa.CheckConstraint(
            "status != 'active' OR expires_at IS NOT NULL", name=op.f("ck_pack_purchases_active_has_expiry")
        ),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["session_packs.id"],
            name=op.f("fk_pack_purchases_pack_id_session_packs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_pack_purchases_learner_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["users.id"], name=op.f("fk_pack_purchases_mentor_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_pack_purchases_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_purchases")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_pack_purchases_payment_id")),
    )
    op.create_index("ix_pack_purchases_pack_id", "pack_purchases", ["pack_id"], unique=False)
    op.create_index("ix_pack_purchases_learner_id", "pack_purchases", ["learner_id"], unique=False)
    op.create_index("ix_pack_purchases_status_expires_at", "pack_purchases", ["status", "expires_at"])
    op.create_table(
        "pack_credits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("value_paise", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('booked', 'earned', 'returned')", name=op.f("ck_pack_credits_status_valid")
        ),
        sa.CheckConstraint("value_paise > 0", name=op.f("ck_pack_credits_value_positive")),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["pack_purchases.id"],
            name=op.f("fk_pack_credits_purchase_id_pack_purchases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_pack_credits_booking_id_bookings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_credits")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_pack_credits_booking_id")),
    )
    op.create_index("ix_pack_credits_purchase_id", "pack_credits", ["purchase_id"], unique=False)
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(batch.f("ck_payments_purpose_valid"), type_="check")
        batch.create_check_constraint(
            batch.f("ck_payments_purpose_valid"), "purpose IN ('booking', 'gift', 'pack')"
        )
    op.drop_index("uq_ledger_payment_kind", table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("pack_credit_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_ledger_entries_pack_credit_id_pack_credits"),
            "pack_credits",
            ["pack_credit_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch.drop_constraint(batch.f("ck_ledger_entries_kind_valid"), type_="check")
        batch.create_check_constraint(batch.f("ck_ledger_entries_kind_valid"), _NEW_KINDS)
        batch.drop_constraint(batch.f("ck_ledger_entries_sign_matches_kind"), type_="check")
        batch.create_check_constraint(batch.f("ck_ledger_entries_sign_matches_kind"), _NEW_SIGNS)
    _payment_kind_index(_NEW_ONE_PER_PAYMENT)
    op.create_index(
        "uq_ledger_pack_credit_kind",
        "ledger_entries",
        ["pack_credit_id", "kind"],
        unique=True,
        sqlite_where=sa.text("pack_credit_id IS NOT NULL"),
        postgresql_where=sa.text("pack_credit_id IS NOT NULL"),
    )


def _payment_kind_index(where):
    op.create_index(
        "uq_ledger_payment_kind",
        "ledger_entries",
        ["payment_id", "kind"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def downgrade():
    op.drop_index("uq_ledger_pack_credit_kind", table_name="ledger_entries")
    op.drop_index("uq_ledger_payment_kind", table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_constraint(batch.f("ck_ledger_entries_sign_matches_kind"), type_="check")
        batch.create_check_constraint(batch.f("ck_ledger_entries_sign_matches_kind"), _OLD_SIGNS)
        batch.drop_constraint(batch.f("ck_ledger_entries_kind_valid"), type_="check")
        batch.create_check_constraint(batch.f("ck_ledger_entries_kind_valid"), _OLD_KINDS)
        batch.drop_constraint(batch.f("fk_ledger_entries_pack_credit_id_pack_credits"), type_="foreignkey")
        batch.drop_column("pack_credit_id")
    _payment_kind_index(_OLD_ONE_PER_PAYMENT)
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(batch.f("ck_payments_purpose_valid"), type_="check")
        batch.create_check_constraint(batch.f("ck_payments_purpose_valid"), "purpose IN ('booking', 'gift')")
    op.drop_index("ix_pack_credits_purchase_id", table_name="pack_credits")
    op.drop_table("pack_credits")
    op.drop_index("ix_pack_purchases_status_expires_at", table_name="pack_purchases")
    op.drop_index("ix_pack_purchases_learner_id", table_name="pack_purchases")
    op.drop_index("ix_pack_purchases_pack_id", table_name="pack_purchases")
    op.drop_table("pack_purchases")
    op.drop_index("ix_session_packs_mentor_id", table_name="session_packs")
    op.drop_table("session_packs")
