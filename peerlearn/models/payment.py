"""Money coming in and going back: payments, refunds, and the gateway's webhook events."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, utcnow
from .booking import Booking
from .learning_session import LearningSession
from .user import User


class PaymentStatus(enum.StrEnum):
    CREATED = "created"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"


class PaymentPurpose(enum.StrEnum):
    BOOKING = "booking"
    GIFT = "gift"
    PACK = "pack"
    MOVE = "move"  # the difference a learner pays to move a booking to a dearer session


# A booking has at most one order awaiting payment per gateway. A failed order is not made again:
# services.payments retries it (as Razorpay allows), and 0013 turned the extra orders that races
# had made into failed ones (still captured if paid late). Captured payments are outside the index.
_AWAITING_BOOKING_ORDER_SQL = "purpose = 'booking' AND status = 'created'"


class Payment(TimestampMixin, db.Model):
    """One gateway order and the payment that settles it. Amounts are integer paise."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('created', 'captured', 'partially_refunded', 'refunded', 'failed')",
            name="status_valid",
        ),
        CheckConstraint("purpose IN ('booking', 'gift', 'pack', 'move')", name="purpose_valid"),
        CheckConstraint("amount_paise >= 100", name="amount_minimum"),
        CheckConstraint(
            "refunded_paise >= 0 AND refunded_paise <= amount_paise", name="refunds_within_amount"
        ),
        CheckConstraint("purpose != 'booking' OR booking_id IS NOT NULL", name="booking_payment_has_booking"),
        CheckConstraint("purpose != 'move' OR booking_id IS NOT NULL", name="move_payment_has_booking"),
        Index(
            "uq_payments_one_pending_order_per_booking",
            "booking_id",
            "gateway",
            unique=True,
            sqlite_where=text(_AWAITING_BOOKING_ORDER_SQL),
            postgresql_where=text(_AWAITING_BOOKING_ORDER_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10), nullable=False, default=PaymentPurpose.BOOKING.value)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="RESTRICT"), index=True)
    payer_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    mentor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    gateway: Mapped[str] = mapped_column(String(16), nullable=False)
    order_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    gateway_payment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt: Mapped[str] = mapped_column(String(40), nullable=False)
    amount_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="INR")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=PaymentStatus.CREATED.value)
    refunded_paise: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    method: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    failure_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    booking: Mapped[Booking | None] = relationship(lazy="joined")
    payer: Mapped[User] = relationship(foreign_keys=[payer_id], lazy="joined")
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id], lazy="joined")

    @property
    def is_captured(self):
        return self.status in (
            PaymentStatus.CAPTURED,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.REFUNDED,
        )

    @property
    def refundable_paise(self):
        return self.amount_paise - self.refunded_paise if self.is_captured else 0


class MoveOrderStatus(enum.StrEnum):
    OPEN = "open"  # awaiting payment; the target's seat is held until hold_expires_at
    MOVED = "moved"  # paid: the booking moved
    LAPSED = "lapsed"  # not paid in time: the held seat went back (a late payment may still move it)
    REFUNDED = "refunded"  # paid, but the booking could no longer move: the difference went back


# One order awaiting payment per booking: a second one replaces the first (services.move_orders).
_OPEN_MOVE_ORDER_SQL = "status = 'open'"


class MoveOrder(TimestampMixin, db.Model):
    """A learner's order to move a booking to a dearer session, paid by a ``move`` Payment of the
    difference. While it is open a seat of the target is held for the learner (``seat_held``);
    the booking keeps its own seat until the capture moves it (services.move_orders)."""

    __tablename__ = "move_orders"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'moved', 'lapsed', 'refunded')", name="status_valid"),
        CheckConstraint("from_list_price_paise >= 0", name="list_price_not_negative"),
        CheckConstraint("status = 'open' OR NOT seat_held", name="only_open_orders_hold_seats"),
        Index(
            "uq_move_orders_one_open_per_booking",
            "booking_id",
            unique=True,
            sqlite_where=text(_OPEN_MOVE_ORDER_SQL),
            postgresql_where=text(_OPEN_MOVE_ORDER_SQL),
        ),
        Index("ix_move_orders_status_hold_expires_at", "status", "hold_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False, unique=True
    )
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    from_session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="RESTRICT"), nullable=False
    )
    to_session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    # The list price the seat was bought at when the order opened: the difference is worked out on it.
    from_list_price_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=MoveOrderStatus.OPEN.value)
    seat_held: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    hold_expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    payment: Mapped[Payment] = relationship(lazy="joined")
    to_session: Mapped[LearningSession] = relationship(foreign_keys=[to_session_id])


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class Refund(TimestampMixin, db.Model):
    """Money sent back for a payment. ``idempotency_key`` makes asking twice one refund."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'processed', 'failed')", name="status_valid"),
        CheckConstraint("amount_paise > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    amount_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=RefundStatus.PENDING.value)
    idempotency_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    gateway_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")

    payment: Mapped[Payment] = relationship(lazy="joined")


class WebhookEvent(db.Model):
    """Every gateway event we accepted, once: the event id is unique."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(16), nullable=False)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    event_type: Mapped[str] = mapped_column(String(60), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
