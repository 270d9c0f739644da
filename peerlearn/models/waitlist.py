"""The line of learners waiting for a seat in a full session, and the seats offered to them.

An entry is ``waiting`` until a seat frees; then the first in line (lowest id) is ``offered`` it:
a ``pending_payment`` booking is made for them (``booking_id``) and the seat counted taken. Paying
that hold makes the entry ``claimed``; letting it lapse makes it ``passed`` and the seat goes to
the next in line. ``left`` is a learner who stepped out of the line (or took a seat another way),
``expired`` a line that ended with its session (cancelled or started).
"""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime
from .learning_session import LearningSession
from .user import User


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    CLAIMED = "claimed"
    PASSED = "passed"
    LEFT = "left"
    EXPIRED = "expired"


# A learner is in a session's line at most once at a time.
OPEN_WAITLIST_STATUSES = ("waiting", "offered")
_OPEN_SQL = "status IN ('waiting', 'offered')"


class WaitlistEntry(TimestampMixin, db.Model):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting', 'offered', 'claimed', 'passed', 'left', 'expired')", name="status_valid"
        ),
        CheckConstraint("status != 'offered' OR booking_id IS NOT NULL", name="offer_has_booking"),
        Index(
            "uq_waitlist_entries_one_open_per_learner",
            "session_id",
            "learner_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        # The line, in order: the allocator reads the first waiting entry of a session.
        Index("ix_waitlist_entries_session_id_status_id", "session_id", "status", "id"),
        Index("ix_waitlist_entries_learner_id_status", "learner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=WaitlistStatus.WAITING.value)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The hold made for this learner when a seat was offered; one booking is offered once.
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), unique=True
    )

    session: Mapped[LearningSession] = relationship(lazy="joined")
    learner: Mapped[User] = relationship(lazy="joined")

    def __repr__(self):
        return f"<WaitlistEntry {self.id} {self.status}>"

    @property
    def joined_at(self):
        return self.created_at

    @property
    def is_open(self):
        return self.status in OPEN_WAITLIST_STATUSES
