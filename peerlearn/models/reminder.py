"""Reminders before a session, one row per reminder sent."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class ReminderKind(enum.StrEnum):
    DAY_BEFORE = "24h"
    STARTING_SOON = "15m"


class SessionReminder(db.Model):
    """A reminder of one kind for one booking at one version of the session's schedule.

    The unique key is what makes each reminder go out once: a second sweep running at the same
    moment fails to insert the same row and skips it. A reschedule bumps the session's
    ``schedule_version``, so the new time gets reminders of its own.
    """

    __tablename__ = "session_reminders"
    __table_args__ = (
        UniqueConstraint("booking_id", "kind", "schedule_version"),
        CheckConstraint("kind IN ('24h', '15m')", name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique key below starts with booking_id, so it serves lookups by booking as well.
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(3), nullable=False)
    schedule_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # The session's start this reminder announced.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
