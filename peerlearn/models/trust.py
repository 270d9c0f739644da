"""Trust around money: mentors' strikes for sessions they did not hold, learners' disputes, and
where a mentor's payouts go."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, utcnow
from .booking import Booking
from .learning_session import LearningSession
from .user import User


class MentorStrike(db.Model):
    """A session its mentor did not hold (never came, or was there for too little of it)."""

    __tablename__ = "mentor_strikes"
    __table_args__ = (Index("ix_mentor_strikes_mentor_id_created_at", "mentor_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    # One strike per session, however often the sweep looks at it.
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    mentor: Mapped[User] = relationship(lazy="joined")
    session: Mapped[LearningSession] = relationship(lazy="joined")


class DisputeReason(enum.StrEnum):
    MENTOR_ABSENT = "mentor_absent"
    ENDED_EARLY = "ended_early"
    TECHNICAL = "technical"
    NOT_AS_DESCRIBED = "not_as_described"
    CONDUCT = "conduct"
    OTHER = "other"


DISPUTE_REASON_LABELS = {
    DisputeReason.MENTOR_ABSENT: "The mentor didn't show up or left",
    DisputeReason.ENDED_EARLY: "The session ended much too early",
    DisputeReason.TECHNICAL: "Audio, video or the room didn't work",
    DisputeReason.NOT_AS_DESCRIBED: "It wasn't what the listing described",
    DisputeReason.CONDUCT: "The mentor behaved inappropriately",
    DisputeReason.OTHER: "Something else",
}


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    REFUNDED = "refunded"  # in full
    PARTIALLY_REFUNDED = "partially_refunded"
    RELEASED = "released"  # the mentor keeps the money


class Dispute(TimestampMixin, db.Model):
    """A learner reported a problem with a booking; its share is frozen until an admin decides."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'refunded', 'partially_refunded', 'released')", name="status_valid"
        ),
        CheckConstraint("refund_paise >= 0", name="refund_non_negative"),
        Index("ix_disputes_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A learner reports a booking once; the decision is final.
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="RESTRICT"), nullable=False, unique=True
    )
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    mentor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    reason: Mapped[str] = mapped_column(String(30), nullable=False)
    details: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=DisputeStatus.OPEN.value)
    refund_paise: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id", ondelete="RESTRICT"))
    decision_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    booking: Mapped[Booking] = relationship(lazy="joined")
    session: Mapped[LearningSession] = relationship(lazy="joined")
    learner: Mapped[User] = relationship(foreign_keys=[learner_id], lazy="joined")
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id], lazy="joined")

    @property
    def is_open(self):
        return self.status == DisputeStatus.OPEN


class PayoutMethodKind(enum.StrEnum):
    UPI = "upi"
    BANK = "bank"


class PayoutAccount(TimestampMixin, db.Model):
    """Where a mentor's payouts go. The details are encrypted at rest (``details_encrypted``, a
    token of the configured key); ``masked`` is what pages show."""

    __tablename__ = "payout_accounts"
    __table_args__ = (CheckConstraint("kind IN ('upi', 'bank')", name="kind_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    details_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    masked: Mapped[str] = mapped_column(String(120), nullable=False)

    user: Mapped[User] = relationship(lazy="joined")
