"""Around sessions: reviews, follows, session requests, and the admins' audit log."""

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .learning_session import LearningSession
from .user import User


class Review(db.Model):
    """A learner's rating of a session they attended, one per booking; the mentor may reply once.
    Admins can hide a review (it stays, out of every average and list)."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint("minutes_attended >= 0", name="minutes_non_negative"),
        Index("ix_reviews_mentor_id_created_at", "mentor_id", "created_at"),
        # Every mentor's average and count of visible reviews, read from the index alone (the
        # mentor directory sorts by them).
        Index("ix_reviews_mentor_id_hidden_at_rating", "mentor_id", "hidden_at", "rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    learner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    rating: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # From the room's attendance log when the review was written.
    minutes_attended: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    learner: Mapped[User] = relationship(foreign_keys=[learner_id], lazy="joined")
    session: Mapped[LearningSession] = relationship(lazy="joined")


class Follow(db.Model):
    """A user following a mentor."""

    __tablename__ = "follows"
    __table_args__ = (CheckConstraint("follower_id <> mentor_id", name="not_self"),)

    follower_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    mentor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"  # a session was created and the learner holds a seat in it
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class SessionRequest(db.Model):
    """A learner asking a mentor for a session."""

    __tablename__ = "session_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')", name="status_valid"
        ),
        CheckConstraint("budget_paise IS NULL OR budget_paise >= 0", name="budget_non_negative"),
        Index("ix_session_requests_mentor_id_status", "mentor_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    topic: Mapped[str] = mapped_column(String(120), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Up to three preferred start times, ISO 8601 in UTC (entered in the learner's timezone).
    preferred_times: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    budget_paise: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=RequestStatus.PENDING.value)
    response_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    session_id: Mapped[int | None] = mapped_column(ForeignKey("learning_sessions.id", ondelete="SET NULL"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    learner: Mapped[User] = relationship(foreign_keys=[learner_id], lazy="joined")
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id], lazy="joined")


class AuditEntry(db.Model):
    """One admin action: who, what, on what, when, from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    target_type: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    ip_address: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(lazy="joined")
