"""Session packs: a mentor sells N sessions for one price; the learner books with credits.

A purchase snapshots the pack (credits, price, eligibility) when it is ordered, so later edits
to the pack never change what was bought. Each booking paid with a credit has one PackCredit
row carrying the credit's value; the ledger holds the unused value for the learner
(services.packs).
"""

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime
from .booking import Booking
from .user import User

MAX_PACK_CREDITS = 50
MAX_PACK_VALID_DAYS = 730


class SessionPack(TimestampMixin, db.Model):
    __tablename__ = "session_packs"
    __table_args__ = (
        CheckConstraint(f"credits BETWEEN 1 AND {MAX_PACK_CREDITS}", name="credits_valid"),
        # Every credit is worth at least ₹1, so any unused credit can be refunded.
        CheckConstraint("price_paise >= 100 * credits", name="price_covers_credits"),
        CheckConstraint(f"valid_days BETWEEN 1 AND {MAX_PACK_VALID_DAYS}", name="valid_days_valid"),
        CheckConstraint("max_session_price_paise >= 0", name="max_price_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    credits: Mapped[int] = mapped_column(Integer, nullable=False)
    price_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    valid_days: Mapped[int] = mapped_column(Integer, nullable=False)
    # Which of the mentor's sessions a credit books: one-to-one only (capacity 1) or any, up to a
    # list price per session (0: no limit).
    one_to_one_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    max_session_price_paise: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    mentor: Mapped[User] = relationship(lazy="joined")


class PurchaseStatus(enum.StrEnum):
    PENDING = "pending"  # ordered, not paid yet
    ACTIVE = "active"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class PackPurchase(TimestampMixin, db.Model):
    __tablename__ = "pack_purchases"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'active', 'expired', 'refunded', 'cancelled')", name="status_valid"
        ),
        CheckConstraint("credits_used >= 0 AND credits_used <= credits", name="credits_within_pack"),
        CheckConstraint("status != 'active' OR expires_at IS NOT NULL", name="active_has_expiry"),
        Index("ix_pack_purchases_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[int] = mapped_column(
        ForeignKey("session_packs.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    learner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False, unique=True
    )
    credits: Mapped[int] = mapped_column(Integer, nullable=False)
    price_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    valid_days: Mapped[int] = mapped_column(Integer, nullable=False)
    one_to_one_only: Mapped[bool] = mapped_column(Boolean, nullable=False)
    max_session_price_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    credits_used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=PurchaseStatus.PENDING.value)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    pack: Mapped[SessionPack] = relationship(lazy="joined")

    @property
    def credits_left(self):
        return self.credits - self.credits_used


class CreditStatus(enum.StrEnum):
    BOOKED = "booked"  # paid for a seat; the value is still held for the learner
    EARNED = "earned"  # the session was held (or cancelled too late): the mentor earned it
    RETURNED = "returned"  # back in the pack, or refunded if the pack is closed


class PackCredit(TimestampMixin, db.Model):
    """One credit spent on one booking. ``value_paise`` is the pack price over its credits, the
    remainder on the credit that fills the pack, so the values of a full pack sum to its price."""

    __tablename__ = "pack_credits"
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'earned', 'returned')", name="status_valid"),
        CheckConstraint("value_paise > 0", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(
        ForeignKey("pack_purchases.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="RESTRICT"), nullable=False, unique=True
    )
    value_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=CreditStatus.BOOKED.value)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    purchase: Mapped[PackPurchase] = relationship(lazy="joined")
    booking: Mapped[Booking] = relationship(lazy="joined")
