"""Coupons: discounts a mentor gives on their own sessions, or the platform gives on any session.

A mentor's coupon is funded from the mentor's share of the price, a platform coupon from the
platform's fee (services.coupons, docs/coupons.md). Codes are stored upper-case, so they are
unique whatever case a learner types.

A ``CouponRedemption`` is one use of a coupon for one booking: ``held`` while the seat hold
waits for payment, ``used`` once the payment is captured (or the booking became free), and
``released`` when the hold ends unpaid. ``redeemed_count`` on the coupon counts the held and
used ones; it only grows through a conditional UPDATE (``redeemed_count < max_redemptions``),
so the limit holds however many learners redeem at once.
"""

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime
from .booking import Booking
from .user import User


class CouponKind(enum.StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


class CouponFunder(enum.StrEnum):
    MENTOR = "mentor"
    PLATFORM = "platform"


class RedemptionStatus(enum.StrEnum):
    HELD = "held"
    USED = "used"
    RELEASED = "released"


# A redemption that counts against the coupon's limits.
COUNTED_REDEMPTION_STATUSES = ("held", "used")
_COUNTED_SQL = "status IN ('held', 'used')"


class Coupon(TimestampMixin, db.Model):
    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind_valid"),
        CheckConstraint(
            "(kind = 'percent' AND value BETWEEN 1 AND 100) OR (kind = 'fixed' AND value > 0)",
            name="value_valid",
        ),
        CheckConstraint("min_price_paise >= 0", name="min_price_non_negative"),
        CheckConstraint("max_redemptions IS NULL OR max_redemptions > 0", name="max_positive"),
        CheckConstraint("max_per_learner > 0", name="per_learner_positive"),
        CheckConstraint("redeemed_count >= 0", name="count_non_negative"),
        CheckConstraint(
            "max_redemptions IS NULL OR redeemed_count <= max_redemptions", name="count_within_max"
        ),
        CheckConstraint("expires_at IS NULL OR starts_at IS NULL OR expires_at > starts_at", name="dates"),
        Index("ix_coupons_mentor_id", "mentor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    # The mentor whose sessions it applies to (and who funds it); NULL: a platform coupon.
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    # Percent (1–100) for a percent coupon, paise for a fixed one.
    value: Mapped[int] = mapped_column(Integer, nullable=False)
    min_price_paise: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    max_per_learner: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    first_session_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    redeemed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    mentor: Mapped[User | None] = relationship(foreign_keys=[mentor_id])

    @property
    def funded_by(self):
        return CouponFunder.PLATFORM.value if self.mentor_id is None else CouponFunder.MENTOR.value

    def __repr__(self):
        return f"<Coupon {self.code}>"


class CouponRedemption(TimestampMixin, db.Model):
    __tablename__ = "coupon_redemptions"
    __table_args__ = (
        CheckConstraint("status IN ('held', 'used', 'released')", name="status_valid"),
        CheckConstraint("funded_by IN ('mentor', 'platform')", name="funded_by_valid"),
        CheckConstraint("discount_paise > 0", name="discount_positive"),
        CheckConstraint("discount_paise <= list_price_paise", name="discount_within_price"),
        # One coupon per booking at a time.
        Index(
            "uq_coupon_redemptions_one_per_booking",
            "booking_id",
            unique=True,
            sqlite_where=text(_COUNTED_SQL),
            postgresql_where=text(_COUNTED_SQL),
        ),
        Index("ix_coupon_redemptions_coupon_id_learner_id", "coupon_id", "learner_id"),
        Index("ix_coupon_redemptions_coupon_id_status", "coupon_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="RESTRICT"), nullable=False)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False)
    # The captured payment that used it (NULL while held, or when the booking became free).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    list_price_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    discount_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    funded_by: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=RedemptionStatus.HELD.value)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    coupon: Mapped[Coupon] = relationship(lazy="joined")
    booking: Mapped[Booking] = relationship()

    @property
    def paid_paise(self):
        return self.list_price_paise - self.discount_paise

    def __repr__(self):
        return f"<CouponRedemption {self.id} {self.code} {self.status}>"
