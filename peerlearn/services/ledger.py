"""The ledger: the split of every captured payment and the reversal of every refund.

All amounts are integer paise. The fee is rounded half up; the mentor gets the rest, so
fee + earning == captured exactly. A refund reverses fee and earning in proportion, computed
from the totals (not refund by refund), so rounding never drifts and a full refund reverses both
to zero.
"""

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    COUNTED_REDEMPTION_STATUSES,
    CouponFunder,
    CouponRedemption,
    EntryKind,
    Gift,
    LedgerEntry,
    Payment,
    PaymentPurpose,
    Refund,
)


def platform_fee(amount_paise, percent=None):
    """The platform's commission on ``amount_paise``, rounded half up to a whole paisa."""
    if percent is None:
        percent = current_app.config["PLATFORM_FEE_PERCENT"]
    return (amount_paise * percent * 2 + 100) // 200


def fee_share(payment, net_paise):
    """The part of the original fee that a net (captured − refunded) amount carries."""
    fee = original_fee(payment)
    if payment.amount_paise == 0:
        return 0
    return (net_paise * fee * 2 + payment.amount_paise) // (2 * payment.amount_paise)


def original_fee(payment):
    entry = db.session.scalar(
        select(LedgerEntry.amount_paise).where(
            LedgerEntry.payment_id == payment.id,
            LedgerEntry.refund_id.is_(None),
            LedgerEntry.kind == EntryKind.PLATFORM_FEE.value,
        )
    )
    return entry if entry is not None else platform_fee(payment.amount_paise)


def payment_session_id(payment):
    """The session a payment's money belongs to: the booked one, or the one a gift was sent in."""
    if payment.booking is not None:
        return payment.booking.session_id
    return db.session.scalar(select(Gift.session_id).where(Gift.payment_id == payment.id))


def capture_fee(payment):
    """The platform's fee on a captured payment. Without a coupon: the fee on what was paid. With
    one (services.coupons), the fee is worked out on the list price: a mentor's coupon leaves it
    whole (the mentor's share pays the discount) but never above what was paid; a platform
    coupon takes the discount out of it, so the mentor earns what the list price earns."""
    redemption = None
    if payment.booking_id is not None:
        redemption = db.session.scalar(
            select(CouponRedemption).where(
                CouponRedemption.payment_id == payment.id,
                CouponRedemption.status.in_(COUNTED_REDEMPTION_STATUSES),
            )
        )
    if redemption is None:
        return platform_fee(payment.amount_paise)
    list_fee = platform_fee(redemption.list_price_paise)
    if redemption.funded_by == CouponFunder.PLATFORM:
        list_fee -= redemption.discount_paise
    return max(0, min(list_fee, payment.amount_paise))


def record_capture(payment):
    """Write the payment, fee and earning entries for a captured payment (in the caller's
    transaction). The unique index on (payment_id, kind) makes a second call fail loudly."""
    if payment.purpose == PaymentPurpose.PACK:
        # A session pack: all of it is held for the learner until credits are used (services.packs).
        split = ((EntryKind.PAYMENT, payment.amount_paise), (EntryKind.HELD, payment.amount_paise))
        session_id = None
    else:
        fee = capture_fee(payment)
        split = (
            (EntryKind.PAYMENT, payment.amount_paise),
            (EntryKind.PLATFORM_FEE, fee),
            (EntryKind.MENTOR_EARNING, payment.amount_paise - fee),
        )
        session_id = payment_session_id(payment)
    for kind, amount in split:
        db.session.add(
            LedgerEntry(
                kind=kind.value,
                amount_paise=amount,
                currency=payment.currency,
                payment_id=payment.id,
                mentor_id=payment.mentor_id,
                session_id=session_id,
            )
        )


def refund_split(payment, amount_paise):
    """How a refund of ``amount_paise`` on ``payment``, after the refunds already in the
    ledger, divides into (fee reversal, earning reversal): what record_refund writes."""
    refunded_before = db.session.scalar(
        select(func.coalesce(func.sum(-LedgerEntry.amount_paise), 0)).where(
            LedgerEntry.payment_id == payment.id, LedgerEntry.kind == EntryKind.REFUND.value
        )
    )
    net_before = payment.amount_paise - refunded_before
    fee_reversal = fee_share(payment, net_before) - fee_share(payment, net_before - amount_paise)
    return fee_reversal, amount_paise - fee_reversal


def record_refund(refund):
    """Write the refund and its fee and earning reversals (in the caller's transaction)."""
    payment = refund.payment
    if payment.purpose == PaymentPurpose.PACK:
        # A pack refunds what is still held for the learner (unused credits); nothing was earned.
        split = ((EntryKind.REFUND, -refund.amount_paise), (EntryKind.HELD_RELEASE, -refund.amount_paise))
        session_id = None
    else:
        fee_reversal, earning_reversal = refund_split(payment, refund.amount_paise)
        split = (
            (EntryKind.REFUND, -refund.amount_paise),
            (EntryKind.FEE_REVERSAL, -fee_reversal),
            (EntryKind.EARNING_REVERSAL, -earning_reversal),
        )
        session_id = payment_session_id(payment)
    for kind, amount in split:
        db.session.add(
            LedgerEntry(
                kind=kind.value,
                amount_paise=amount,
                currency=payment.currency,
                payment_id=payment.id,
                refund_id=refund.id,
                mentor_id=payment.mentor_id,
                session_id=session_id,
            )
        )


def payment_balance(payment_id):
    """{kind: total} for one payment's entries."""
    rows = db.session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount_paise))
        .where(LedgerEntry.payment_id == payment_id)
        .group_by(LedgerEntry.kind)
    )
    return {kind: int(total) for kind, total in rows}


def check_payment_invariant(payment):
    """captured − refunded == fee + earning + still held (session packs), refunds never exceed
    captures, and no more is released than was held. Returns problems."""
    totals = payment_balance(payment.id)
    received = totals.get(EntryKind.PAYMENT.value, 0) + totals.get(EntryKind.REFUND.value, 0)
    split = sum(
        totals.get(k.value, 0)
        for k in (
            EntryKind.PLATFORM_FEE,
            EntryKind.FEE_REVERSAL,
            EntryKind.MENTOR_EARNING,
            EntryKind.EARNING_REVERSAL,
        )
    )
    held = totals.get(EntryKind.HELD.value, 0) + totals.get(EntryKind.HELD_RELEASE.value, 0)
    problems = []
    if received != split + held:
        problems.append(f"payment {payment.id}: received {received} != split {split} + held {held}")
    if held < 0:
        problems.append(f"payment {payment.id}: more released than was held")
    if received < 0:
        problems.append(f"payment {payment.id}: refunds exceed captures")
    processed = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_paise), 0)).where(
            Refund.payment_id == payment.id, Refund.status == "processed"
        )
    )
    if payment.is_captured and received != payment.amount_paise - processed:
        problems.append(f"payment {payment.id}: ledger {received} != captured − processed refunds")
    return problems


def all_payments_balance():
    problems = []
    for payment in db.session.scalars(select(Payment)):
        problems.extend(check_payment_invariant(payment))
    return problems
