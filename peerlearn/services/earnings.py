"""Mentor earnings from the ledger, and payouts.

An earning is *pending* while its session has not happened yet and *available* once the
session is completed (or cancelled, keeping what late cancellations did not refund); *paid out*
is what payouts have drawn. Requested payouts are held back from the available balance until an
admin marks them paid (or rejects them).
"""

from collections import defaultdict

from sqlalchemy import case, func, select, update

from ..exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import (
    EntryKind,
    LearningSession,
    LedgerEntry,
    Payment,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
    SessionStatus,
    utcnow,
)

EARNING_KINDS = (EntryKind.MENTOR_EARNING.value, EntryKind.EARNING_REVERSAL.value)
MIN_PAYOUT_PAISE = 100


def summary(mentor_id):
    """Totals in paise: gross earned (net of reversals), pending, available, paid out, requested."""
    # A session that happened (completed) or never will (cancelled) settles its earnings: what
    # was not refunded is the mentor's to withdraw.
    completed = case(
        (LearningSession.status.in_((SessionStatus.COMPLETED.value, SessionStatus.CANCELLED.value)), 1),
        else_=0,
    )
    rows = db.session.execute(
        select(completed.label("completed"), func.coalesce(func.sum(LedgerEntry.amount_paise), 0))
        .select_from(LedgerEntry)
        .outerjoin(LearningSession, LearningSession.id == LedgerEntry.session_id)
        .where(LedgerEntry.mentor_id == mentor_id, LedgerEntry.kind.in_(EARNING_KINDS))
        .group_by(completed)
    ).all()
    by_state = {int(done): int(total) for done, total in rows}
    paid_out = -int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)).where(
                LedgerEntry.mentor_id == mentor_id, LedgerEntry.kind == EntryKind.PAYOUT.value
            )
        )
    )
    requested = int(
        db.session.scalar(
            select(func.coalesce(func.sum(Payout.amount_paise), 0)).where(
                Payout.mentor_id == mentor_id, Payout.status == PayoutStatus.REQUESTED.value
            )
        )
    )
    # Refunds still on their way will take back part of the earning; don't let it be withdrawn.
    refunding = _earning_in_pending_refunds(mentor_id)
    earned_available = by_state.get(1, 0) - refunding
    return {
        "earned_paise": earned_available + by_state.get(0, 0),
        "pending_paise": by_state.get(0, 0),
        "available_paise": earned_available - paid_out - requested,
        "paid_out_paise": paid_out,
        "requested_paise": requested,
        "refunding_paise": refunding,
        "currency": "INR",
    }


def _earning_in_pending_refunds(mentor_id):
    """The mentor's share of refunds reserved but not yet processed, rounded up."""
    from . import ledger

    total = 0
    rows = db.session.execute(
        select(Refund.amount_paise, Payment)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Payment.mentor_id == mentor_id, Refund.status == RefundStatus.PENDING.value)
    ).all()
    for amount, payment in rows:
        earning = payment.amount_paise - ledger.original_fee(payment)
        total += -(-amount * earning // payment.amount_paise)
    return total


def by_session(mentor_id):
    """Net earning per session, newest first: [{session_id, title, starts_at, status, earned_paise}]."""
    rows = db.session.execute(
        select(
            LearningSession.id,
            LearningSession.title,
            LearningSession.starts_at,
            LearningSession.status,
            func.sum(LedgerEntry.amount_paise),
        )
        .join(LearningSession, LearningSession.id == LedgerEntry.session_id)
        .where(LedgerEntry.mentor_id == mentor_id, LedgerEntry.kind.in_(EARNING_KINDS))
        .group_by(
            LearningSession.id, LearningSession.title, LearningSession.starts_at, LearningSession.status
        )
        .order_by(LearningSession.starts_at.desc())
    ).all()
    return [
        {
            "session_id": sid,
            "title": title,
            "starts_at": starts_at,
            "status": status,
            "earned_paise": int(total),
        }
        for sid, title, starts_at, status, total in rows
    ]


def by_month(mentor_id):
    """Net earning per calendar month (UTC) of the ledger entries: [{month: 'YYYY-MM', earned_paise}]."""
    totals = defaultdict(int)
    for created_at, amount in db.session.execute(
        select(LedgerEntry.created_at, LedgerEntry.amount_paise).where(
            LedgerEntry.mentor_id == mentor_id, LedgerEntry.kind.in_(EARNING_KINDS)
        )
    ):
        totals[created_at.strftime("%Y-%m")] += amount
    return [{"month": month, "earned_paise": totals[month]} for month in sorted(totals, reverse=True)]


def request_payout(mentor, amount_paise=None):
    """Ask for a payout of ``amount_paise`` (default: everything available)."""
    if not mentor.is_mentor:
        raise PermissionDenied("Only mentors have earnings.")
    available = summary(mentor.id)["available_paise"]
    if amount_paise is None:
        amount_paise = available
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int) or amount_paise < MIN_PAYOUT_PAISE:
        raise ValidationError(
            "A payout is at least ₹1.", fields={"amount_paise": ["Enter at least 100 paise."]}
        )
    if amount_paise > available:
        raise Conflict("That is more than your available balance.", code="insufficient_balance")
    payout = Payout(mentor_id=mentor.id, amount_paise=amount_paise)
    db.session.add(payout)
    db.session.commit()
    # Two requests racing could both pass the check above; re-check after committing and
    # withdraw this one if the balance went negative.
    if summary(mentor.id)["available_paise"] < 0:
        db.session.delete(payout)
        db.session.commit()
        raise Conflict("That is more than your available balance.", code="insufficient_balance")
    return payout


def _decide(admin, payout_id, **values):
    """Move a requested payout to paid or rejected, once; returns the payout."""
    if not admin.is_admin:
        raise PermissionDenied("Only admins can decide payouts.")
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        raise NotFound("No such payout.")
    now = utcnow()
    won = db.session.execute(
        update(Payout)
        .where(Payout.id == payout.id, Payout.status == PayoutStatus.REQUESTED.value)
        .values(decided_by_id=admin.id, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        raise Conflict("This payout was already decided.", code="payout_decided")
    return payout


def mark_payout_paid(admin, payout_id, reference):
    """An admin transferred the money: record the reference and the ledger's payout entry."""
    reference = (reference or "").strip()
    if admin.is_admin and (not reference or len(reference) > 100):
        raise ValidationError(
            "Give the bank or UPI reference.", fields={"reference": ["Required, ≤ 100 characters."]}
        )
    payout = _decide(admin, payout_id, status=PayoutStatus.PAID.value, reference=reference, paid_at=utcnow())
    db.session.add(
        LedgerEntry(
            kind=EntryKind.PAYOUT.value,
            amount_paise=-payout.amount_paise,
            payout_id=payout.id,
            mentor_id=payout.mentor_id,
        )
    )
    from . import notify, outbox

    notify.payout_paid(payout)
    db.session.commit()
    outbox.dispatch()
    db.session.refresh(payout)
    return payout


def reject_payout(admin, payout_id, note=""):
    """Decline a request; its amount is available again."""
    payout = _decide(admin, payout_id, status=PayoutStatus.REJECTED.value, note=(note or "")[:500])
    db.session.commit()
    db.session.refresh(payout)
    return payout
