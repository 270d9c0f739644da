"""A session's recording: what Janus captured in the room, and the one file made from it.

A mentor allows recording per session (``LearningSession.recording_enabled``, shown before
anyone pays) and starts and stops it in the room; each participant's choice to be in it is a
``RecordingConsent``. When the session ends a job on the ``recordings`` queue composes Janus's
raw feeds into one playable file kept in storage (``services/storage.py``).
"""

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .learning_session import LearningSession


class RecordingStatus(enum.StrEnum):
    RECORDING = "recording"  # capture under way or paused; more spans may follow
    PENDING = "pending"  # the session ended: waiting for the composing job
    PROCESSING = "processing"  # the job is composing the file
    READY = "ready"  # the file can be watched
    FAILED = "failed"  # the job gave up; the raw feeds are kept for a retry
    DELETED = "deleted"  # removed by the mentor, an admin or retention


class Recording(db.Model):
    """One per session: every span the mentor recorded, composed into one file."""

    __tablename__ = "recordings"
    __table_args__ = (
        CheckConstraint(
            "status IN ('recording', 'pending', 'processing', 'ready', 'failed', 'deleted')",
            name="status_valid",
        ),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        Index("ix_recordings_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=RecordingStatus.RECORDING.value)
    # Each span the mentor recorded: [{"start": iso, "stop": iso or null}], in order.
    spans: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # Where Janus writes this session's raw feeds (a folder under RECORDINGS_RAW_DIR).
    raw_dir: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # The composed file in storage, once ready.
    storage_key: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    # The composing job's progress, shown on the mentor's page.
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress_step: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # What the composed picture holds: who is in it and where, and the chapters.
    layout: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    chapters: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Deleted by retention after this (RECORDING_RETENTION_DAYS after it became ready).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    delete_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    session: Mapped[LearningSession] = relationship(lazy="joined")

    @property
    def is_ready(self):
        return self.status == RecordingStatus.READY


class RecordingConsent(db.Model):
    """A participant's answer to "this room is being recorded": in the video, or not."""

    __tablename__ = "recording_consents"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    consented: Mapped[bool] = mapped_column(Boolean, nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
