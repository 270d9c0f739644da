"""Payments for bookings: orders, checkout verification, capture, webhooks, refunds, reconciling.

Every path that learns a payment was captured (checkout verification, a webhook, the
reconciler) ends in :func:`apply_capture`, which wins exactly once through a conditional update
and writes the ledger in the same transaction. Refunds are reserved in the database first
(never more than was captured), then sent to the gateway with an idempotency key.
"""

import json
import logging
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, system_texts
from ..exceptions import Conflict, DomainError, GatewayUnavailable, NotFound, PaymentRejected, ValidationError
from ..extensions import db
from ..inputs import MAX_ID, whole_number
from ..models import (
    Booking,
    BookingStatus,
    LearningSession,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    Refund,
    RefundStatus,
    SessionStatus,
    WebhookEvent,
    utcnow,
)
from ..payments import GatewayError, GatewayPayment, get_gateway
from . import coupons, gifts, interactions, ledger, move_orders, outbox, packs, reconcile_log
from .booking import take_seat
from .pagination import paginate
from .refunds import (
    CAPTURED_STATES,
    apply_refund_status,
    dispatch_refund,
    gateway_for,
    reserve_refund,
    send_refund,
)

log = logging.getLogger(__name__)


def _receipt(booking):
    return f"bk_{booking.id}_{secrets.token_hex(4)}"


# ---------------------------------------------------------------------------- orders


def start_booking_payment(learner, booking_id):
    """The order a learner pays a held booking with: its open order if it has one, else a new one.

    One order awaiting payment per booking and gateway is a partial unique index. The Payment row
    is inserted before the gateway is asked and committed with the order id, so a concurrent
    request waits at the index (PostgreSQL) or the write lock (SQLite) while the first one talks to
    the gateway, then answers with that request's order instead of asking for its own. No second
    order exists to be paid for one seat, and none is left unused at the gateway (unless the
    commit fails after the gateway answered: that order is never shown to anyone, so never paid).
    """
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.learner_id != learner.id:
        raise NotFound(_("No such booking."))
    if booking.status == BookingStatus.CONFIRMED:
        raise Conflict(_("This booking is already paid."), code="already_paid")
    if booking.status != BookingStatus.PENDING_PAYMENT:
        raise Conflict(
            _("This seat is no longer held (the hold expired or the booking was cancelled). Book again."),
            code="hold_expired",
        )
    if booking.hold_expires_at <= utcnow():
        raise Conflict(_("Your seat hold has expired. Book again if seats are left."), code="hold_expired")
    gateway = get_gateway()
    existing = _open_order(booking.id, gateway.name, booking.amount_paise)
    if existing is not None:
        return existing
    receipt = _receipt(booking)
    payment = Payment(
        purpose=PaymentPurpose.BOOKING.value,
        booking_id=booking.id,
        payer_id=learner.id,
        mentor_id=booking.session.mentor_id,
        gateway=gateway.name,
        order_id=f"reserved_{receipt}",  # never committed: the gateway's id replaces it
        receipt=receipt,
        amount_paise=booking.amount_paise,
        currency=booking.currency,
    )
    db.session.add(payment)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = _open_order(booking_id, gateway.name, booking.amount_paise)
        if existing is None:
            raise
        return existing
    try:
        payment.order_id = gateway.create_order(
            amount_paise=payment.amount_paise,  # from the database, never from the client
            currency=payment.currency,
            receipt=receipt,
            notes={"booking_id": str(booking.id), "session_id": str(booking.session_id)},
        )
    except GatewayError as exc:
        db.session.rollback()  # the reservation goes: the next request asks the gateway again
        log.warning("order creation failed for booking %s: %s", booking_id, exc)
        raise GatewayUnavailable(
            _("The payment service is not responding. Please try again in a minute.")
        ) from exc
    db.session.commit()
    return payment


def _open_order(booking_id, gateway_name, amount_paise):
    """The booking's order still to be paid: the one awaiting payment, else the latest failed one
    (a failed attempt is retried on the same order, as Razorpay allows), for the booking's amount
    (a coupon applied since changes it: services.coupons)."""
    return db.session.scalar(
        select(Payment)
        .where(
            Payment.booking_id == booking_id,
            Payment.status.in_((PaymentStatus.CREATED.value, PaymentStatus.FAILED.value)),
            Payment.gateway == gateway_name,
            Payment.amount_paise == amount_paise,
        )
        .order_by(case((Payment.status == PaymentStatus.CREATED.value, 0), else_=1), Payment.id.desc())
        .limit(1)
    )


def payment_for_order(user, order_id):
    """The payer's own payment for a gateway order id, or None."""
    if not isinstance(order_id, str) or not order_id:
        return None
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    return payment if payment is not None and payment.payer_id == user.id else None


def booking_payments(booking):
    """Every payment made or tried for ``booking``, oldest first (its receipt lists them all)."""
    return list(
        db.session.scalars(select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.id))
    )


def refunds_by_payment(payments):
    """{payment id: its refunds, oldest first} for ``payments`` (the receipt says what each one
    gave back and why)."""
    found = {payment.id: [] for payment in payments}
    if found:
        query = select(Refund).where(Refund.payment_id.in_(found)).order_by(Refund.id)
        for refund in db.session.scalars(query):
            found[refund.payment_id].append(refund)
    return found


def payment_history(user, *, page, per_page):
    """One page (services.pagination) of what ``user`` paid or tried to pay, latest first."""
    query = (
        select(Payment)
        .where(Payment.payer_id == user.id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    return paginate(query, page=page, per_page=per_page)


# ---------------------------------------------------------------------------- capture


def verify_checkout(user, *, order_id, payment_id, signature):
    """Confirm a payment from the checkout callback. The signature is checked against the order
    id we issued, and the payment's amount and currency against our record, before anything
    changes."""
    for name, value in (
        ("razorpay_order_id", order_id),
        ("razorpay_payment_id", payment_id),
        ("razorpay_signature", signature),
    ):
        if not isinstance(value, str) or not value or len(value) > 100:
            raise ValidationError(
                _("%(name)s is required.", name=name), fields={name: [_("This field is required.")]}
            )
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    if payment is None or payment.payer_id != user.id:
        raise NotFound(_("No such order."))
    gateway = get_gateway()
    if payment.gateway != gateway.name or not gateway.checkout_signature_valid(
        order_id=payment.order_id, payment_id=payment_id, signature=signature
    ):
        raise PaymentRejected(_("The payment signature does not match this order."), code="bad_signature")
    if payment.is_captured:
        if payment.gateway_payment_id != payment_id:
            raise PaymentRejected(_("This order was paid by a different payment."), code="payment_mismatch")
        return payment
    try:
        remote = gateway.fetch_payment(payment_id)
    except GatewayError as exc:
        raise GatewayUnavailable(
            _("We could not confirm the payment yet; it will be confirmed shortly.")
        ) from exc
    return apply_gateway_payment(payment, remote)


def apply_gateway_payment(payment, remote):
    """Bring our Payment in line with the gateway's view of one of its payments."""
    if remote.order_id != payment.order_id:
        raise PaymentRejected(_("That payment belongs to another order."), code="payment_mismatch")
    if remote.amount_paise != payment.amount_paise or remote.currency != payment.currency:
        raise PaymentRejected(_("The paid amount does not match the order."), code="amount_mismatch")
    if remote.status == "authorized":
        try:
            remote = get_gateway().capture(
                remote.id, amount_paise=payment.amount_paise, currency=payment.currency
            )
        except GatewayError as exc:
            raise GatewayUnavailable(
                _("The payment is authorised but not captured yet; try again shortly.")
            ) from exc
    if remote.status in ("captured", "refunded"):
        return apply_capture(payment, remote.id, method=remote.method)
    if remote.status == "failed":
        mark_failed(payment, remote.id, remote.error_description or system_texts.PAYMENT_FAILED)
        return payment
    return payment


def apply_capture(payment, gateway_payment_id, *, method=""):
    """Record a capture once: ledger entries and the booking's confirmation, in one transaction."""
    now = utcnow()
    won = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status.in_((PaymentStatus.CREATED.value, PaymentStatus.FAILED.value)),
        )
        .values(
            status=PaymentStatus.CAPTURED.value,
            gateway_payment_id=gateway_payment_id,
            method=(method or "")[:20],
            captured_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        db.session.refresh(payment)
        return payment  # someone else recorded it
    db.session.refresh(payment)
    if payment.purpose == PaymentPurpose.BOOKING:
        coupons.record_use(payment, now)  # before the ledger, which splits by who funded a discount
    ledger.record_capture(payment)
    late_refund = gift = None
    if payment.purpose == PaymentPurpose.BOOKING:
        late_refund = _confirm_paid_booking(payment, now)
    elif payment.purpose == PaymentPurpose.PACK:
        packs.activate(payment, now)
    elif payment.purpose == PaymentPurpose.MOVE:
        late_refund = move_orders.captured(payment, now)  # moves the booking, or refunds the difference
    elif payment.purpose == PaymentPurpose.GIFT:
        gift = gifts.mark_paid(payment, now)
        late_refund = _refund_gift_of_cancelled_session(payment, gift)
        if late_refund is not None:
            gift = None  # nobody is told of a gift that goes straight back

    if (
        payment.purpose == PaymentPurpose.BOOKING
        and payment.booking.status == BookingStatus.CONFIRMED
        and late_refund is None
    ):
        events.record("booking_confirmed", payment.booking, payment)
        interactions.booked(payment.booking)
    if gift is not None:
        events.record("gift_received", gift)
        interactions.gifted(gift)
    db.session.commit()
    outbox.dispatch()
    if late_refund is not None:
        dispatch_refund(late_refund)
    if payment.booking is not None and payment.booking.status == BookingStatus.CONFIRMED:
        events.record("learner_interests_changed", payment.booking.learner_id)
    if gift is not None:
        gifts.announce(gift)
    return payment


def _refund_gift_of_cancelled_session(payment, gift):
    """A gift captured after its session was cancelled (or settled as not held) goes back in full:
    nothing is kept for a session that did not take place."""
    if gift is None:
        return None
    status = db.session.scalar(select(LearningSession.status).where(LearningSession.id == gift.session_id))
    if status != SessionStatus.CANCELLED:
        return None
    return reserve_refund(
        payment,
        payment.refundable_paise,
        key=f"payment-{payment.id}-session-cancelled",
        reason=system_texts.GIFT_NOT_HELD,
    )


def _confirm_paid_booking(payment, now):
    """Confirm the booking a capture pays for. A payment that arrives after the hold expired
    takes a seat if one is free; otherwise (or if the booking was cancelled) it is refunded."""
    booking = payment.booking
    confirmed = db.session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == BookingStatus.PENDING_PAYMENT.value)
        .values(status=BookingStatus.CONFIRMED.value, confirmed_at=now, hold_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if confirmed:
        db.session.refresh(booking)
        return None
    db.session.refresh(booking)
    if booking.status == BookingStatus.CONFIRMED:
        paid_by_another = db.session.scalar(
            select(Payment.id).where(
                Payment.booking_id == booking.id,
                Payment.id != payment.id,
                Payment.status.in_(CAPTURED_STATES),
            )
        )
        if paid_by_another is None:
            return None
        return reserve_refund(
            payment,
            payment.refundable_paise,
            key=f"payment-{payment.id}-duplicate",
            reason=system_texts.PAID_TWICE,
        )
    if booking.status == BookingStatus.EXPIRED:
        savepoint = db.session.begin_nested()
        try:
            if take_seat(booking.session_id, now):
                booking.status = BookingStatus.CONFIRMED.value
                booking.confirmed_at = now
                booking.hold_expires_at = None
                db.session.flush()
                savepoint.commit()
                return None
            savepoint.rollback()
        except IntegrityError:
            savepoint.rollback()  # the learner already holds another active booking
    return reserve_refund(
        payment,
        payment.refundable_paise,
        key=f"payment-{payment.id}-unplaced",
        reason=system_texts.PAID_AFTER_RELEASE,
    )


def mark_failed(payment, gateway_payment_id, reason):
    now = utcnow()
    failed = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == PaymentStatus.CREATED.value)
        .values(
            status=PaymentStatus.FAILED.value,
            gateway_payment_id=gateway_payment_id,
            failure_reason=(reason or "")[:500],
            failed_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if payment.purpose == PaymentPurpose.GIFT:
        gifts.mark_failed(payment)
    elif failed and payment.purpose == PaymentPurpose.BOOKING:  # told once, when it first fails
        db.session.refresh(payment)
        events.record("payment_failed", payment)
    db.session.commit()
    outbox.dispatch()
    db.session.refresh(payment)


# ---------------------------------------------------------------------------- webhooks


def handle_webhook(body, signature, event_id):
    """Verify and apply one gateway event, at most once per event id. Returns a short outcome."""
    gateway = get_gateway()
    if not isinstance(body, bytes | bytearray) or not gateway.webhook_signature_valid(
        bytes(body), signature or ""
    ):
        raise PaymentRejected(_("Invalid webhook signature."), code="bad_signature")
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise PaymentRejected(_("The webhook body is not JSON."), code="malformed_json") from exc
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise PaymentRejected(_("The webhook body has no event."), code="malformed_event")
    event_id = (event_id or "").strip()[
        :100
    ] or f"{event['event']}:{event.get('created_at')}:{_entity_id(event)}"
    record = WebhookEvent(
        gateway=gateway.name, event_id=event_id, event_type=event["event"][:60], payload=event
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        record = db.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event_id))
        if record is None or record.processed_at is not None:
            return "duplicate"
        # Seen before but never finished (the process died, the database failed): the gateway
        # is redelivering it, so apply it now. Applying is idempotent.
    try:
        outcome = _apply_event(event)
    except DomainError as exc:
        db.session.rollback()
        outcome = f"ignored: {exc.message}"
    record = db.session.get(WebhookEvent, record.id)
    record.processed_at = utcnow()
    record.error = outcome if outcome.startswith("ignored") else ""
    db.session.commit()
    return outcome


def _entity_id(event):
    payload = event.get("payload") or {}
    for name in ("refund", "payment", "order"):
        entity = (payload.get(name) or {}).get("entity") or {}
        if entity.get("id"):
            return entity["id"]
    return ""


def _entity(event, name):
    entity = ((event.get("payload") or {}).get(name) or {}).get("entity")
    return entity if isinstance(entity, dict) else None


def _apply_event(event):
    kind = event["event"]
    if kind in ("payment.captured", "payment.failed", "payment.authorized", "order.paid"):
        entity = _entity(event, "payment")
        if entity is None:
            return "ignored: no payment in event"
        payment = db.session.scalar(select(Payment).where(Payment.order_id == str(entity.get("order_id"))))
        if payment is None:
            return "ignored: unknown order"
        remote = GatewayPayment(
            id=str(entity.get("id")),
            order_id=str(entity.get("order_id")),
            amount_paise=entity.get("amount") if isinstance(entity.get("amount"), int) else -1,
            currency=str(entity.get("currency")),
            status="captured" if kind == "order.paid" else str(entity.get("status")),
            method=str(entity.get("method") or ""),
            error_description=str(entity.get("error_description") or ""),
        )
        if remote.status == "failed" and payment.is_captured:
            return "ignored: already captured"
        apply_gateway_payment(payment, remote)
        return f"payment {payment.id} {payment.status}"
    if kind in ("refund.processed", "refund.failed", "refund.created"):
        entity = _entity(event, "refund")
        if entity is None:
            return "ignored: no refund in event"
        refund = db.session.scalar(select(Refund).where(Refund.gateway_refund_id == str(entity.get("id"))))
        if refund is None:
            notes = entity.get("notes") if isinstance(entity.get("notes"), dict) else {}
            refund_id = whole_number(str(notes.get("refund_id", "")))
            refund = db.session.get(Refund, refund_id) if refund_id and refund_id <= MAX_ID else None
        if refund is None:
            return "ignored: unknown refund"
        status = {"refund.processed": "processed", "refund.failed": "failed"}.get(kind, "pending")
        apply_refund_status(
            refund, str(entity.get("id")), status, reason=system_texts.REFUND_FAILED_AT_GATEWAY
        )
        return f"refund {refund.id} {refund.status}"
    return f"ignored: {kind} not handled"


# ---------------------------------------------------------------------------- reconciling


def reconcile_payment(payment):
    """Ask the gateway what happened to an open order (a missed webhook, a closed tab)."""
    if payment.status not in (PaymentStatus.CREATED, PaymentStatus.FAILED):
        return payment
    remote_payments = gateway_for(payment).order_payments(payment.order_id)
    captured = [p for p in remote_payments if p.status in ("captured", "authorized", "refunded")]
    if captured:
        return apply_gateway_payment(payment, captured[0])
    failed = [p for p in remote_payments if p.status == "failed"]
    if failed and payment.booking is not None and payment.booking.status != BookingStatus.PENDING_PAYMENT:
        mark_failed(payment, failed[-1].id, failed[-1].error_description)
    return payment


# Orders older than this are abandoned checkouts; a late capture still arrives by webhook.
RECONCILE_WINDOW = timedelta(days=3)


def reconcile_open_payments(limit=200, now=None):
    """Reconcile recent open orders and settle pending refunds, least recently checked first (so
    a backlog never starves newer ones). Returns (orders checked, refunds settled or sent)."""
    now = now or utcnow()
    checked = settled = captured = failed = errors = 0
    for payment in db.session.scalars(
        select(Payment)
        .where(
            Payment.status.in_((PaymentStatus.CREATED.value, PaymentStatus.FAILED.value)),
            Payment.created_at >= now - RECONCILE_WINDOW,
        )
        .order_by(Payment.updated_at, Payment.id)
        .limit(limit)
    ).all():
        payment_id, before = payment.id, payment.status
        try:
            after = reconcile_payment(payment).status
        except (GatewayError, DomainError) as exc:
            db.session.rollback()
            log.warning("reconciling payment %s failed: %s", payment_id, exc)
            errors += 1
        else:
            captured += after == PaymentStatus.CAPTURED
            failed += after == PaymentStatus.FAILED and before != PaymentStatus.FAILED
        _touch(Payment, payment_id, now)
        checked += 1
    for refund in db.session.scalars(
        select(Refund)
        .where(Refund.status == RefundStatus.PENDING.value)
        .order_by(Refund.updated_at, Refund.id)
        .limit(limit)
    ).all():
        try:
            send_refund(refund.id)
        except GatewayError as exc:
            db.session.rollback()
            log.warning("refund %s still pending: %s", refund.id, exc)
            errors += 1
        else:
            db.session.refresh(refund)
            settled += refund.status != RefundStatus.PENDING
        _touch(Refund, refund.id, now)
    reconcile_log.record(
        checked=checked, captured=captured, failed=failed, errors=errors, refunds_settled=settled
    )
    return checked, settled


def _touch(model, row_id, now):
    db.session.execute(
        update(model)
        .where(model.id == row_id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
