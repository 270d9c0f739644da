"""Your data: the exports a user asked for, and the sessions a deleted account left to the admins.

A ``DataExport`` is one ZIP of everything the platform holds about its user, built by a job
(``tasks.your_data``) into storage and kept until ``expires_at``. A ``DeletionReview`` is an
upcoming session whose mentor deleted their account while learners held seats: an admin decides
whether it is cancelled with refunds or left to run (``services.your_data``).
"""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .learning_session import LearningSession


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class DataExport(db.Model):
    __tablename__ = "data_exports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'ready', 'failed', 'expired')", name="status_valid"),
        CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name="size_not_negative"),
        # One export in the making per user: a second click while one is queued finds it.
        Index(
            "uq_data_exports_one_queued",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=ExportStatus.QUEUED.value)
    storage_key: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self):
        return f"<DataExport {self.id} {self.status}>"


class ReviewDecision(enum.StrEnum):
    CANCELLED = "cancelled"
    KEPT = "kept"


class DeletionReview(db.Model):
    """An upcoming session with bookings whose mentor deleted their account."""

    __tablename__ = "deletion_reviews"
    __table_args__ = (
        CheckConstraint("decision IS NULL OR decision IN ('cancelled', 'kept')", name="decision_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    session: Mapped[LearningSession] = relationship(lazy="joined")

    def __repr__(self):
        return f"<DeletionReview session={self.session_id} {self.decision or 'open'}>"
