"""A learner's seat in a session."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime
from .learning_session import LearningSession
from .user import User


class BookingStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


# A learner holds at most one of these per session; expired and cancelled bookings free the slot.
ACTIVE_BOOKING_STATUSES = ("pending_payment", "confirmed", "attended", "no_show")
_ACTIVE_SQL = "status IN ('pending_payment', 'confirmed', 'attended', 'no_show')"


class Booking(TimestampMixin, db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending_payment', 'confirmed', 'attended', 'no_show', 'expired', 'cancelled')",
            name="status_valid",
        ),
        CheckConstraint("amount_paise >= 0", name="amount_non_negative"),
        CheckConstraint("status != 'pending_payment' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"),
        Index(
            "uq_bookings_one_active_per_learner",
            "session_id",
            "learner_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("ix_bookings_status_hold_expires_at", "status", "hold_expires_at"),
        Index("ix_bookings_learner_id_status", "learner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # The price when the seat was taken; the payment is for exactly this.
    amount_paise: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="INR")
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # Set when the mentor moved the session after this booking: cancelling is then fully refunded.
    rescheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the learner moved this booking to another session of the mentor (services.reschedule).
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Added to the session's schedule_version for the calendar SEQUENCE: a move raises it so the
    # moved entry outranks the one calendar apps have, whatever the new session's version is.
    calendar_sequence_offset: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )

    session: Mapped[LearningSession] = relationship(lazy="joined")
    learner: Mapped[User] = relationship(foreign_keys=[learner_id], lazy="joined")

    def __repr__(self):
        return f"<Booking {self.id} {self.status}>"

    @property
    def is_active(self):
        return self.status in ACTIVE_BOOKING_STATUSES
