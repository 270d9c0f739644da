"""A scheduled live session a mentor publishes, and its skills."""

import enum
from datetime import datetime, timedelta

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, utcnow
from .user import Skill, User


class SessionStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    LIVE = "live"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SessionLevel(enum.StrEnum):
    ALL = "all"
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


CATEGORIES = (
    "Programming",
    "Data & AI",
    "Design",
    "Product & Business",
    "Career",
    "Languages",
    "Music & Arts",
    "Science & Maths",
    "Other",
)

LANGUAGES = ("English", "Hindi", "Bengali", "Tamil", "Telugu", "Marathi", "Kannada", "Malayalam", "Gujarati")

MAX_CAPACITY = 50
MIN_PAID_PRICE_PAISE = 100  # ₹1: Razorpay's smallest INR charge

session_skills = Table(
    "session_skills",
    db.metadata,
    Column("session_id", Integer, ForeignKey("learning_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", Integer, ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
    # Searching by skill starts from the skill: without this every match scans the table.
    Index("ix_session_skills_skill_id", "skill_id"),
)


class LearningSession(TimestampMixin, db.Model):
    """Called "session" in the UI. ``seats_taken`` counts confirmed bookings and unexpired holds;
    it only changes through conditional updates, so two learners can never take the last seat."""

    __tablename__ = "learning_sessions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'scheduled', 'live', 'completed', 'cancelled')", name="status_valid"
        ),
        CheckConstraint("level IN ('all', 'beginner', 'intermediate', 'advanced')", name="level_valid"),
        CheckConstraint(f"capacity BETWEEN 1 AND {MAX_CAPACITY}", name="capacity_range"),
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
        CheckConstraint(f"price_paise = 0 OR price_paise >= {MIN_PAID_PRICE_PAISE}", name="price_valid"),
        CheckConstraint("duration_minutes BETWEEN 15 AND 480", name="duration_range"),
        # Published sessions by start (the catalog); the other columns let the mentor directory
        # find each mentor's soonest bookable start from the index alone.
        Index("ix_learning_sessions_bookable", "status", "starts_at", "mentor_id", "seats_taken", "capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False, default=SessionLevel.ALL.value)
    language: Mapped[str] = mapped_column(String(30), nullable=False, default="English")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    seats_taken: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    price_paise: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="INR")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=SessionStatus.DRAFT.value)
    cover_filename: Mapped[str | None] = mapped_column(String(80))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # Minutes the mentor was in the room within the slot, measured when the session was settled.
    mentor_present_minutes: Mapped[int | None] = mapped_column(Integer)
    # Held sessions only: when their earnings stop being pending (the end plus SETTLEMENT_HOURS).
    # Learners may report a problem until then.
    settles_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Bumped on every time change, so reminders and calendar entries can tell versions apart.
    schedule_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # The mentor may record the room (learners are told before they book and pay).
    recording_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    mentor: Mapped[User] = relationship(lazy="joined")
    skills: Mapped[list[Skill]] = relationship(secondary=session_skills, order_by=Skill.name, lazy="selectin")

    def __repr__(self):
        return f"<LearningSession {self.id} {self.status}>"

    @property
    def ends_at(self):
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def seats_left(self):
        return max(0, self.capacity - self.seats_taken)

    @property
    def is_free(self):
        return self.price_paise == 0

    @property
    def is_draft(self):
        return self.status == SessionStatus.DRAFT

    @property
    def is_bookable_status(self):
        return self.status == SessionStatus.SCHEDULED

    def has_started(self, now=None):
        return (now or utcnow()) >= self.starts_at

    def is_past(self, now=None):
        return (now or utcnow()) >= self.ends_at
