"""Outgoing webhooks: the addresses mentors and admins register for events, and every delivery
made to them. (Incoming gateway webhooks are ``payment.WebhookEvent``.)"""

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, utcnow
from .user import User

# The events an endpoint may choose, in the order the form lists them.
WEBHOOK_EVENT_TYPES = (
    "booking.created",
    "booking.cancelled",
    "booking.rescheduled",
    "payment.captured",
    "refund.processed",
    "session.published",
    "session.started",
    "session.completed",
    "session.cancelled",
    "review.created",
)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookEndpoint(TimestampMixin, db.Model):
    """One HTTPS address an owner (a mentor or an admin) receives events at, signed with its secret."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint("consecutive_failures >= 0", name="failures_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    # The signing secret: shown to its owner at creation, on reveal and when rolled.
    secret: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    event_types: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    # Failed attempts in a row; a success sets it back to 0, too many disable the endpoint.
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    user: Mapped[User] = relationship(lazy="joined")

    def wants(self, event_type):
        return self.enabled and event_type in (self.event_types or ())


class WebhookDelivery(TimestampMixin, db.Model):
    """One event sent (or to be sent) to one endpoint. ``event_id`` stays the same across its
    retries and redeliveries, so a receiver can tell a repeat from a new event."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_valid"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[str] = mapped_column(String(36), nullable=False)
    event_type: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # When the next attempt is due; while one is under way, when its claim lapses.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    error: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    endpoint: Mapped[WebhookEndpoint] = relationship()
