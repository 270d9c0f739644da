"""Web Push: the browsers (phones, mostly) a user asked to be notified on."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

# A push service's address for one browser; Chrome's and Firefox's are under 300 characters.
MAX_ENDPOINT_LENGTH = 800


class PushSubscription(db.Model):
    """One browser's push subscription (``PushManager.subscribe()``) for one user.

    The endpoint is the browser's address at its vendor's push service and names the browser, so
    it is unique: a browser that subscribes again (or a second account signing in on it) takes the
    row over. ``p256dh`` and ``auth`` are the browser's keys that every message is encrypted for.
    A push service answering 404 or 410 has dropped the subscription, and so do we; other failures
    are counted and the row stays for the next message.
    """

    __tablename__ = "push_subscriptions"
    __table_args__ = (CheckConstraint("failure_count >= 0", name="failures_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    endpoint: Mapped[str] = mapped_column(String(MAX_ENDPOINT_LENGTH), nullable=False, unique=True)
    # The browser's P-256 public key (65 bytes) and auth secret (16 bytes), base64url as sent.
    p256dh: Mapped[str] = mapped_column(String(120), nullable=False)
    auth: Mapped[str] = mapped_column(String(40), nullable=False)
    user_agent: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Failed sends since the last success (a 404 or 410 deletes the row instead).
    failure_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
