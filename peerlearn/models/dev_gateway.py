"""The local dev gateway's own records: the orders, payments and refunds it issues.

These rows belong to the gateway, not to PeerLearn's books: they stand where Razorpay's servers
would be, so nothing but ``peerlearn.payments.dev`` reads or writes them.
"""

from sqlalchemy import JSON, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TimestampMixin


class DevGatewayObject(TimestampMixin, db.Model):
    """One Razorpay-shaped object (``order_…``, ``pay_…`` or ``rfnd_…``). Amounts are integer paise."""

    __tablename__ = "dev_gateway_objects"
    __table_args__ = (
        CheckConstraint("kind IN ('order', 'payment', 'refund')", name="kind_valid"),
        CheckConstraint(
            "(kind = 'order' AND status IN ('created', 'attempted', 'paid'))"
            " OR (kind = 'payment' AND status IN ('created', 'authorized', 'captured', 'refunded', 'failed'))"
            " OR (kind = 'refund' AND status IN ('pending', 'processed', 'failed'))",
            name="status_valid",
        ),
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        # A payment points at its order; a refund at its payment (and that payment's order).
        CheckConstraint("kind = 'order' OR order_id IS NOT NULL", name="order_id_present"),
        CheckConstraint("(kind = 'refund') = (payment_id IS NOT NULL)", name="payment_id_only_on_refunds"),
        CheckConstraint("kind = 'refund' OR idempotency_key IS NULL", name="idempotency_key_only_on_refunds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    object_id: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    order_id: Mapped[str | None] = mapped_column(String(40), index=True)
    payment_id: Mapped[str | None] = mapped_column(String(40), index=True)
    amount_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="INR")
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    method: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    error_description: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    receipt: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    notes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Refunds only. A unique column still admits many NULLs, on SQLite as on PostgreSQL.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    def __repr__(self):
        return f"<DevGatewayObject {self.object_id} {self.status}>"
