"""coupons: mentor and platform discounts, and who used them

Revision ID: 0021_coupons
Revises: 0020_your_data
Create Date: 2026-12-06 22:50:00

``coupons`` holds the codes (upper-case, unique): a mentor's (``mentor_id``, funded from the
mentor's share) or the platform's (``mentor_id`` NULL, funded from the platform fee), percent or
fixed, with a minimum price, dates, limits and a counter of held and used redemptions that never
passes ``max_redemptions``. ``coupon_redemptions`` holds each use: the booking, the learner, the
list price, the discount, who funded it and, once captured, the payment. Downgrading drops both.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_coupons"
down_revision = "0020_your_data"
branch_labels = None
depends_on = None

_COUNTED = "status IN ('held', 'used')"


def upgrade():
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("min_price_paise", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("max_per_learner", sa.Integer(), nullable=False),
        sa.Column("first_session_only", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("redeemed_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('percent', 'fixed')", name=op.f("ck_coupons_kind_valid")),
        sa.CheckConstraint(
            "(kind = 'percent' AND value BETWEEN 1 AND 100) OR (kind = 'fixed' AND value > 0)",
            name=op.f("ck_coupons_value_valid"),
        ),
        sa.CheckConstraint("min_price_paise >= 0", name=op.f("ck_coupons_min_price_non_negative")),
        sa.CheckConstraint(
            "max_redemptions IS NULL OR max_redemptions > 0", name=op.f("ck_coupons_max_positive")
        ),
        sa.CheckConstraint("max_per_learner > 0", name=op.f("ck_coupons_per_learner_positive")),
        sa.CheckConstraint("redeemed_count >= 0", name=op.f("ck_coupons_count_non_negative")),
        sa.CheckConstraint(
            "max_redemptions IS NULL OR redeemed_count <= max_redemptions",
            name=op.f("ck_coupons_count_within_max"),
        ),
        sa.CheckConstraint(
            "expires_at IS NULL OR starts_at IS NULL OR expires_at > starts_at", name=op.f("ck_coupons_dates")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["users.id"], name=op.f("fk_coupons_mentor_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_coupons_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
    )
    op.create_index("ix_coupons_mentor_id", "coupons", ["mentor_id"], unique=False)
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("list_price_paise", sa.Integer(), nullable=False),
        sa.Column("discount_paise", sa.Integer(), nullable=False),
        sa.Column("funded_by", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('held', 'used', 'released')", name=op.f("ck_coupon_redemptions_status_valid")
        ),
        sa.CheckConstraint(
            "funded_by IN ('mentor', 'platform')", name=op.f("ck_coupon_redemptions_funded_by_valid")
        ),
        sa.CheckConstraint("discount_paise > 0", name=op.f("ck_coupon_redemptions_discount_positive")),
        sa.CheckConstraint(
            "discount_paise <= list_price_paise", name=op.f("ck_coupon_redemptions_discount_within_price")
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_redemptions_coupon_id_coupons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["users.id"],
            name=op.f("fk_coupon_redemptions_learner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_coupon_redemptions_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_coupon_redemptions_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
    )
    op.create_index(
        "uq_coupon_redemptions_one_per_booking",
        "coupon_redemptions",
        ["booking_id"],
        unique=True,
        sqlite_where=sa.text(_COUNTED),
        postgresql_where=sa.text(_COUNTED),
    )
    op.create_index(
        "ix_coupon_redemptions_coupon_id_learner_id",
        "coupon_redemptions",
        ["coupon_id", "learner_id"],
        unique=False,
    )
    op.create_index(
        "ix_coupon_redemptions_coupon_id_status", "coupon_redemptions", ["coupon_id", "status"], unique=False
    )


def downgrade():
    op.drop_index("ix_coupon_redemptions_coupon_id_status", table_name="coupon_redemptions")
    op.drop_index("ix_coupon_redemptions_coupon_id_learner_id", table_name="coupon_redemptions")
    op.drop_index("uq_coupon_redemptions_one_per_booking", table_name="coupon_redemptions")
    op.drop_table("coupon_redemptions")
    op.drop_index("ix_coupons_mentor_id", table_name="coupons")
    op.drop_table("coupons")
