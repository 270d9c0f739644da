"""Outgoing email, recorded before it is sent so nothing is lost and nothing is sent twice."""

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class EmailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"  # never sent, on purpose: see ``drop_reason``


class DropReason(enum.StrEnum):
    WITHDRAWN = "withdrawn"  # what it told of was undone before it went out (an unfollow, a withdrawal)
    ANSWERED = "answered"  # the recipient acted on it in the app before it went out
    SENDER_CAP = "sender_cap"  # EMAIL_CAP_PER_SENDER_PER_HOUR reached for this sender and recipient
    RECIPIENT_CAP = "recipient_cap"  # EMAIL_CAP_PER_RECIPIENT_PER_HOUR reached for this recipient


class OutboundEmail(db.Model):
    __tablename__ = "outbound_emails"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'dropped')", name="status_valid"),
        # The hourly caps count a recipient's emails claimed for sending in the last hour.
        Index("ix_outbound_emails_user_id_claimed_at", "user_id", "claimed_at"),
        Index("ix_outbound_emails_user_id_collapse_key", "user_id", "collapse_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    template: Mapped[str] = mapped_column(String(60), nullable=False)
    text_body: Mapped[str] = mapped_column(Text, nullable=False)
    html_body: Mapped[str] = mapped_column(Text, nullable=False)
    # [{"filename", "content_type", "data_b64"}]: small files only (an .ics), kept with the message
    # so a retry sends exactly what was composed.
    attachments: Mapped[list] = mapped_column(JSON, nullable=False, default=list, server_default="[]")
    # Set for non-transactional email: sent as List-Unsubscribe (one-click) and shown in the footer.
    unsubscribe_url: Mapped[str] = mapped_column(String(500), nullable=False, default="", server_default="")
    status: Mapped[str] = mapped_column(
        String(10), nullable=False, default=EmailStatus.QUEUED.value, index=True
    )
    drop_reason: Mapped[str] = mapped_column(String(20), nullable=False, default="", server_default="")
    # The notification kind it tells of (None: account mail such as a password reset), and whose
    # action caused it (a follower, a learner asking): what the hourly caps count by.
    kind: Mapped[str | None] = mapped_column(String(32))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What it is about ("follow:<follower>:<mentor>", "request:<id>"): repeats are collapsed on it,
    # and undoing the thing drops the email while it is still queued.
    collapse_key: Mapped[str | None] = mapped_column(String(80))
    # Not sent before this moment, so an undo shortly after can still drop it.
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    # When a send job last claimed it: while the claim is fresh no other run (a retry, a sweep's
    # re-enqueue) sends it; a claim left by a killed worker lapses after EMAIL_CLAIM_SECONDS.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
