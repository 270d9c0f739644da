"""Refunds: reserving an amount against a captured payment in the caller's transaction, asking
the gateway for it after the commit (a job, safe to repeat with the same idempotency key), and
applying what the gateway says once (processed writes the ledger reversal; failed gives the
reservation back). Booking cancellations, settlements, disputes and admins refund through here.
"""

from flask_babel import gettext as _
from sqlalchemy import select, update

from .. import events, system_texts
from ..exceptions import Conflict, ValidationError
from ..extensions import db
from ..models import (
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    utcnow,
)
from ..payments import GatewayError, get_gateway
from . import ledger, outbox

# Razorpay refunds at least ₹1; smaller amounts cannot be sent back.
MIN_REFUND_PAISE = 100

CAPTURED_STATES = (
    PaymentStatus.CAPTURED.value,
    PaymentStatus.PARTIALLY_REFUNDED.value,
    PaymentStatus.REFUNDED.value,
)


def gateway_for(payment):
    """The configured gateway, if it is the one this payment went through."""
    gateway = get_gateway()
    if payment.gateway != gateway.name:
        # Transient: the work waits (pending, retried) until that gateway is configured again.
        raise GatewayError(
            f"payment {payment.id} went through the {payment.gateway} gateway, which is not configured now",
            transient=True,
        )
    return gateway


def reserve_refund(payment, amount_paise, *, key, reason):
    """Create (or find) the refund for ``key`` and reserve its amount against the payment, in the
    caller's transaction. A reservation that would exceed the captured amount is refused."""
    existing = db.session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if existing is not None:
        return existing
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int) or amount_paise < MIN_REFUND_PAISE:
        raise ValidationError(
            _("A refund is at least ₹1."), fields={"amount_paise": [_("At least 100 paise.")]}
        )
    reserved = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status.in_(CAPTURED_STATES),
            Payment.refunded_paise + amount_paise <= Payment.amount_paise,
        )
        .values(refunded_paise=Payment.refunded_paise + amount_paise)
        .execution_options(synchronize_session=False)
    ).rowcount
    if reserved != 1:
        raise Conflict(_("The refund would exceed what was paid."), code="refund_exceeds_payment")
    refund = Refund(
        payment_id=payment.id, amount_paise=amount_paise, idempotency_key=key, reason=reason[:200]
    )
    db.session.add(refund)
    db.session.flush()
    return refund


def refund_payment(payment, amount_paise, *, key, reason):
    """Refund part or all of a captured payment (admin tools, tests). One refund per ``key``."""
    refund = reserve_refund(payment, amount_paise, key=key, reason=reason)
    db.session.commit()
    dispatch_refund(refund)
    db.session.refresh(refund)
    return refund


def dispatch_refund(refund):
    """After the commit that reserved ``refund``: its job asks the gateway for it."""
    events.record("refund_reserved", refund.id)


def send_refund(refund_id):
    """Ask the gateway for a reserved refund. Safe to repeat: the idempotency key is reused."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    if refund.gateway_refund_id:
        # Accepted earlier and still pending at the bank: ask how it ended (a missed webhook).
        remote = gateway_for(payment).fetch_refund(refund.gateway_refund_id)
        apply_refund_status(refund, remote.id, remote.status)
        return refund
    try:
        remote = gateway_for(payment).refund(
            payment.gateway_payment_id,
            amount_paise=refund.amount_paise,
            idempotency_key=refund.idempotency_key,
            notes={"refund_id": str(refund.id), "reason": refund.reason[:200]},
        )
    except GatewayError as exc:
        if exc.transient:
            raise  # retried by the job queue, or by the reconciler
        apply_refund_status(refund, None, "failed", reason=str(exc))
        return refund
    apply_refund_status(refund, remote.id, remote.status)
    return refund


def apply_refund_status(refund, gateway_refund_id, status, *, reason=""):
    """Move a refund to processed or failed once; processed writes the ledger reversal."""
    now = utcnow()
    values = {"updated_at": now}
    if gateway_refund_id:
        values["gateway_refund_id"] = gateway_refund_id
    if status == "processed":
        values.update(status=RefundStatus.PROCESSED.value, processed_at=now)
    elif status == "failed":
        values.update(
            status=RefundStatus.FAILED.value, failure_reason=(reason or system_texts.REFUND_FAILED)[:500]
        )
    won = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == RefundStatus.PENDING.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1 or status not in ("processed", "failed"):
        db.session.commit()
        db.session.refresh(refund)
        return refund
    db.session.refresh(refund)
    payment = refund.payment
    if status == "processed":
        ledger.record_refund(refund)
        processed = db.session.scalar(
            select(db.func.coalesce(db.func.sum(Refund.amount_paise), 0)).where(
                Refund.payment_id == payment.id, Refund.status == RefundStatus.PROCESSED.value
            )
        )
        db.session.execute(
            update(Payment)
            .where(Payment.id == payment.id)
            .values(
                status=PaymentStatus.REFUNDED.value
                if processed >= payment.amount_paise
                else PaymentStatus.PARTIALLY_REFUNDED.value,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    else:
        # Give the reservation back so the amount can be refunded again.
        db.session.execute(
            update(Payment)
            .where(Payment.id == payment.id)
            .values(refunded_paise=Payment.refunded_paise - refund.amount_paise, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    if status == "processed":
        events.record("refund_processed", refund)
    db.session.commit()
    db.session.refresh(refund)
    outbox.dispatch()
    return refund
