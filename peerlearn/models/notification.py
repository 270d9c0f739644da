"""What people are told: stored notifications, and each person's choice of how to hear about each kind."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class NotificationKind(enum.StrEnum):
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CANCELLED = "booking_cancelled"
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_FAILED = "payment_failed"
    SESSION_REMINDER = "session_reminder"
    SESSION_STARTED = "session_started"
    SESSION_CANCELLED = "session_cancelled"
    SESSION_RESCHEDULED = "session_rescheduled"
    REFUND_PROCESSED = "refund_processed"
    GIFT_RECEIVED = "gift_received"
    NEW_REVIEW = "new_review"
    NEW_FOLLOWER = "new_follower"
    MENTOR_PUBLISHED = "mentor_published"
    REQUEST_RECEIVED = "request_received"
    REQUEST_ANSWERED = "request_answered"
    PAYOUT_PAID = "payout_paid"
    SESSION_NOT_HELD = "session_not_held"  # the mentor did not hold it: learners refunded, mentor struck
    DISPUTE_UPDATE = "dispute_update"  # a reported problem was opened or decided
    WAITLIST_OFFER = "waitlist_offer"  # a seat freed for the first learner in a session's line
    SECURITY = "security"


# Receipts and account security: their email cannot be switched off, and carries no unsubscribe link.
TRANSACTIONAL_KINDS = frozenset(
    {
        NotificationKind.BOOKING_CONFIRMED,
        NotificationKind.PAYMENT_RECEIVED,
        NotificationKind.REFUND_PROCESSED,
        NotificationKind.SECURITY,
    }
)

# Social notices: the only kinds whose email the hourly caps limit (EMAIL_CAP_PER_SENDER_PER_HOUR,
# EMAIL_CAP_PER_RECIPIENT_PER_HOUR). Every other kind (receipts, bookings, cancellations, refunds,
# reminders, answers to a learner's request, payouts, disputes, security) is always sent.
CAPPED_EMAIL_KINDS = frozenset(
    {
        NotificationKind.NEW_FOLLOWER,
        NotificationKind.MENTOR_PUBLISHED,
        NotificationKind.NEW_REVIEW,
        NotificationKind.REQUEST_RECEIVED,
        NotificationKind.GIFT_RECEIVED,
    }
)

_KINDS_SQL = ", ".join(f"'{kind.value}'" for kind in NotificationKind)


class Notification(db.Model):
    """One thing that happened that a user cares about, shown in their notification center."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS_SQL})", name="kind_valid"),
        Index("ix_notifications_user_id_id", "user_id", "id"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        Index("ix_notifications_user_id_collapse_key", "user_id", "collapse_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    # A path inside the app ("/bookings/12"), never an outside address.
    url: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # What it is about (as OutboundEmail.collapse_key): a repeat updates it instead of piling up.
    collapse_key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_read(self):
        return self.read_at is not None


class NotificationPreference(db.Model):
    """A user's choice for one kind; no row means the defaults (in-app and email on)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (CheckConstraint(f"kind IN ({_KINDS_SQL})", name="kind_valid"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    in_app: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    email: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
