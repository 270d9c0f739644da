"""What happens inside a session's live room: attendance, chat and gifts."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .user import User


class Attendance(db.Model):
    """One stay of one person in a room, from joining to leaving (or the connection dropping)."""

    __tablename__ = "attendance"
    __table_args__ = (Index("ix_attendance_session_id_user_id", "session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The socket this stay belongs to, so a drop closes exactly this stay.
    connection_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")

    user: Mapped[User] = relationship(lazy="joined")


class ChatMessage(db.Model):
    """Saved before it is sent to anyone, so the room's history survives drops and restarts."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint("length(body) BETWEEN 1 AND 2000", name="body_length"),
        Index("ix_chat_messages_session_id_id", "session_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class RoomRemoval(db.Model):
    """A mentor removed this person from this session's room; they may not come back."""

    __tablename__ = "room_removals"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    removed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class MediaMode(enum.StrEnum):
    JANUS = "janus"  # through a Janus VideoRoom room (an SFU)
    MESH = "mesh"  # browser to browser, every camera to every participant


class MediaRoom(db.Model):
    """Where a session's room carries its audio and video, chosen when the room first opens.

    With Janus: the instance the room lives on, its VideoRoom room id (not a secret: rooms are
    private and joining needs a signed, allowed token) and the room secret that moderation
    needs. ``stage`` rooms let learners publish only when the mentor brings them on stage.
    """

    __tablename__ = "media_rooms"
    __table_args__ = (
        CheckConstraint("mode IN ('janus', 'mesh')", name="mode_valid"),
        CheckConstraint(
            "mode = 'mesh' OR (instance IS NOT NULL AND janus_room IS NOT NULL)", name="janus_located"
        ),
    )

    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(10), nullable=False)
    stage: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    instance: Mapped[str | None] = mapped_column(String(64))
    janus_room: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # When the Janus room was destroyed (the session ended); a later join re-creates it.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GiftStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"


class Gift(db.Model):
    """A tip a learner pays the mentor during a session."""

    __tablename__ = "gifts"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'paid', 'failed')", name="status_valid"),
        CheckConstraint("amount_paise >= 100", name="amount_minimum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    amount_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    message: Mapped[str] = mapped_column(String(280), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=GiftStatus.PENDING.value)
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sender: Mapped[User] = relationship(foreign_keys=[sender_id], lazy="joined")
