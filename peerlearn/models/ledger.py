"""The ledger: every movement of money, as signed integer paise. Nothing here is ever updated.

For each payment: payment + refunds = platform_fee + fee_reversals + mentor_earning +
earning_reversals + held (captured − refunded = fee + earning + still held for the learner: only
session packs hold money, until their credits are used or refunded). Payouts draw on mentors' earnings.
"""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, utcnow
from .user import User


class EntryKind(enum.StrEnum):
    PAYMENT = "payment"  # + captured amount received from the learner
    PLATFORM_FEE = "platform_fee"  # + commission kept by the platform
    MENTOR_EARNING = "mentor_earning"  # + the mentor's share
    REFUND = "refund"  # − amount returned to the learner
    FEE_REVERSAL = "fee_reversal"  # − commission given back with a refund
    EARNING_REVERSAL = "earning_reversal"  # − mentor share given back with a refund
    PAYOUT = "payout"  # − money paid out to the mentor
    HELD = "held_for_learner"  # + a session pack's price, held until its credits are used
    HELD_RELEASE = "held_release"  # − held money earned by a used credit or refunded


PAYMENT_KINDS = (EntryKind.PAYMENT, EntryKind.PLATFORM_FEE, EntryKind.MENTOR_EARNING)
REFUND_KINDS = (EntryKind.REFUND, EntryKind.FEE_REVERSAL, EntryKind.EARNING_REVERSAL)
_KINDS_SQL = ", ".join(f"'{k.value}'" for k in EntryKind)
_ONE_PER_PAYMENT_SQL = "refund_id IS NULL AND payment_id IS NOT NULL AND pack_credit_id IS NULL"


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS_SQL})", name="kind_valid"),
        CheckConstraint(
            "(kind IN ('payment', 'platform_fee', 'mentor_earning', 'held_for_learner') "
            "AND amount_paise >= 0) OR "
            "(kind IN ('refund', 'fee_reversal', 'earning_reversal', 'payout', 'held_release') "
            "AND amount_paise <= 0)",
            name="sign_matches_kind",
        ),
        # A payment is split once, a refund reversed once, a payout paid once, however often
        # the webhook or the verification arrives.
        Index(
            "uq_ledger_payment_kind",
            "payment_id",
            "kind",
            unique=True,
            sqlite_where=text(_ONE_PER_PAYMENT_SQL),
            postgresql_where=text(_ONE_PER_PAYMENT_SQL),
        ),
        # A pack credit is earned once.
        Index(
            "uq_ledger_pack_credit_kind",
            "pack_credit_id",
            "kind",
            unique=True,
            sqlite_where=text("pack_credit_id IS NOT NULL"),
            postgresql_where=text("pack_credit_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_refund_kind",
            "refund_id",
            "kind",
            unique=True,
            sqlite_where=text("refund_id IS NOT NULL"),
            postgresql_where=text("refund_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_payout",
            "payout_id",
            unique=True,
            sqlite_where=text("payout_id IS NOT NULL"),
            postgresql_where=text("payout_id IS NOT NULL"),
        ),
        Index("ix_ledger_entries_mentor_id_kind", "mentor_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    amount_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="INR")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id", ondelete="RESTRICT"))
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id", ondelete="RESTRICT"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="RESTRICT"), index=True
    )
    # The pack credit whose held value these entries move to fee and earning (services.packs).
    pack_credit_id: Mapped[int | None] = mapped_column(ForeignKey("pack_credits.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class PayoutStatus(enum.StrEnum):
    REQUESTED = "requested"
    PAID = "paid"
    REJECTED = "rejected"


class Payout(TimestampMixin, db.Model):
    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'paid', 'rejected')", name="status_valid"),
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        CheckConstraint("status != 'paid' OR reference != ''", name="paid_has_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    amount_paise: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="INR")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=PayoutStatus.REQUESTED.value)
    reference: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Where it was to go, copied from the mentor's payout details when requested: later edits to
    # those details never change where a past payout went.
    account_kind: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    account_masked: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    account_encrypted: Mapped[str] = mapped_column(Text, nullable=False, default="")

    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id], lazy="joined")
