"""Moving a booking to a dearer session: the learner pays the difference in a move order.

Opening one (:func:`open_move_order`) locks both sessions in id order, takes a seat of the
target with the same conditional UPDATE booking uses, and writes a ``MoveOrder`` and its ``move``
Payment (for the difference in list prices, from the database) in one transaction with the
gateway's order. The learner's original seat stays theirs; the target's is held for them until
``hold_expires_at`` (BOOKING_HOLD_MINUTES, never past the start), after which the hold-expiry job
gives it back (:func:`lapse_expired_holds`). One open order per booking is a partial unique
index: choosing another session replaces the open order and gives its held seat back.

The capture (checkout verification, a webhook, the reconciler: all through
``services.payments.apply_capture``, which wins once) calls :func:`captured` in its transaction:
the booking moves exactly as a cheaper move does (``services.reschedule.move_booking``), using
the held seat (or a free one, when the hold had lapsed), and the difference's ledger entries
follow the seat like the original payment's. When the booking can no longer move (cancelled or
moved meanwhile, the target cancelled, started or full), the difference goes back in full and
the learner is told.

Cancelling a moved booking refunds by the policy of what was paid for the seat in all
(``Booking.amount_paise`` counts the differences): :func:`booking_cancelled` refunds from the
move payments what the cancellation's own refund of one payment left.
"""

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import events, system_texts
from ..exceptions import Conflict, GatewayUnavailable, ValidationError
from ..extensions import db
from ..formats import format_inr
from ..models import (
    Booking,
    BookingStatus,
    LearningSession,
    NotificationKind,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    SessionStatus,
    User,
    utcnow,
)
from ..models.payment import MoveOrder, MoveOrderStatus
from ..payments import GatewayError, get_gateway
from . import outbox, refunds
from . import reschedule as reschedule_service
from .booking import learner_booking, lock_session, refund_due, release_seat, take_seat
from .notifications.inbox import notify


def _check_id(target_session_id):
    if isinstance(target_session_id, bool) or not isinstance(target_session_id, int):
        raise ValidationError(_("Choose a session."), fields={"session_id": [_("A session id is required.")]})


def request_move(learner, booking_id, target_session_id, *, now=None):
    """What the page and the API call when the learner chooses a session to move to. Returns
    ``(booking, refund, moved, order)``: ``order`` (a MoveOrder) when the target is dearer and
    must be paid for first (nothing has moved yet), else the answer of
    ``services.reschedule.reschedule``."""
    now = now or utcnow()
    _check_id(target_session_id)
    booking = learner_booking(learner, booking_id)
    target = db.session.get(LearningSession, target_session_id)
    if (
        target is not None
        and target.id != booking.session_id
        and reschedule_service.charged(reschedule_service.difference(booking, target))
    ):
        return booking, None, False, open_move_order(learner, booking_id, target_session_id, now=now)
    booking, refund, moved = reschedule_service.reschedule(learner, booking_id, target_session_id, now=now)
    return booking, refund, moved, None


def _open_order_of(booking_id):
    return db.session.scalar(
        select(MoveOrder)
        .where(MoveOrder.booking_id == booking_id, MoveOrder.status == MoveOrderStatus.OPEN.value)
        .execution_options(populate_existing=True)
    )


def _close(order, status, now):
    """Close an open order (lapsed, moved or refunded) once, giving its held seat back unless it
    moved into it; True for the caller that closed it. The target's row must be locked."""
    closed = db.session.execute(
        update(MoveOrder)
        .where(MoveOrder.id == order.id, MoveOrder.status == MoveOrderStatus.OPEN.value)
        .values(status=status, seat_held=False, settled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed and order.seat_held and status != MoveOrderStatus.MOVED:
        release_seat(order.to_session_id)
        events.record("seat_freed", order.to_session_id, now=now)  # the waitlist's next learner
    return closed == 1


def open_move_order(learner, booking_id, target_session_id, *, now=None):
    """Open (or find) the learner's order to move ``booking_id`` to the dearer session
    ``target_session_id``, holding a seat of it. Returns the MoveOrder (its ``payment`` has the
    gateway's order id and the amount). Refused, with nothing held, for any reason a move is
    (services.reschedule), and when the target is full."""
    now = now or utcnow()
    _check_id(target_session_id)
    booking = learner_booking(learner, booking_id)
    source_id = booking.session_id
    previous = _open_order_of(booking.id)
    if (
        previous is not None
        and previous.to_session_id == target_session_id
        and previous.hold_expires_at > now
        and previous.payment.status in (PaymentStatus.CREATED, PaymentStatus.FAILED)
    ):
        return previous  # a second click, or back from the pay page: the same order
    locked = {source_id, target_session_id} | ({previous.to_session_id} if previous is not None else set())
    for session_id in sorted(locked):
        lock_session(session_id)  # in id order, as every move and cancellation takes them
    db.session.refresh(booking)
    if booking.session_id != source_id:
        reschedule_service.refusing(
            Conflict(_("This booking changed meanwhile; reload and try again."), code="booking_changed")
        )
    target = db.session.get(LearningSession, target_session_id, populate_existing=True)
    old_list = reschedule_service.list_price(booking)
    refusal = reschedule_service._booking_refusal(booking, now)
    if refusal is None:
        refusal = reschedule_service.target_refusal(
            booking, target, now, old_list_price=old_list, dearer_allowed=True
        )
    difference = target.price_paise - old_list if target is not None else 0
    if refusal is None and not reschedule_service.charged(difference):
        refusal = Conflict(_("That session costs no more: move to it directly."), code="nothing_to_pay")
    if refusal is not None:
        reschedule_service.refusing(refusal)
    previous = _open_order_of(booking.id)
    if previous is not None:
        # Its seat goes back; a payment of it arriving later is refunded (the learner chose again).
        _close(previous, MoveOrderStatus.LAPSED.value, now)
    if not take_seat(target.id, now):
        reschedule_service.refusing(Conflict(_("That session is full."), code="session_full"))
    gateway = get_gateway()
    receipt = f"mv_{booking.id}_{secrets.token_hex(4)}"
    payment = Payment(
        purpose=PaymentPurpose.MOVE.value,
        booking_id=booking.id,
        payer_id=learner.id,
        mentor_id=target.mentor_id,
        gateway=gateway.name,
        order_id=f"reserved_{receipt}",  # never committed: the gateway's id replaces it
        receipt=receipt,
        amount_paise=difference,  # list prices from the database, never from the client
        currency=target.currency,
    )
    hold_minutes = current_app.config["BOOKING_HOLD_MINUTES"]
    order = MoveOrder(
        payment=payment,
        booking_id=booking.id,
        from_session_id=source_id,
        to_session_id=target.id,
        from_list_price_paise=old_list,
        status=MoveOrderStatus.OPEN.value,
        seat_held=True,
        hold_expires_at=min(now + timedelta(minutes=hold_minutes), target.starts_at),
    )
    db.session.add_all([payment, order])
    try:
        db.session.flush()
    except IntegrityError:
        # A concurrent request opened an order for this booking first; rolling back returns
        # the seat this one took, and that request's order is the answer.
        db.session.rollback()
        existing = _open_order_of(booking.id)
        if existing is None:
            raise
        return existing
    try:
        payment.order_id = gateway.create_order(
            amount_paise=payment.amount_paise,
            currency=payment.currency,
            receipt=receipt,
            notes={"booking_id": str(booking.id), "move_to_session_id": str(target.id)},
        )
    except GatewayError as exc:
        db.session.rollback()  # the held seat and the order go: nothing is left half-made
        raise GatewayUnavailable(
            _("The payment service is not responding. Please try again in a minute.")
        ) from exc
    db.session.commit()
    return order


def order_for_payment(payment):
    return db.session.scalar(select(MoveOrder).where(MoveOrder.payment_id == payment.id))


def learner_order(learner, order_id):
    """The learner's move order for a gateway order id, or None."""
    if not isinstance(order_id, str) or not order_id:
        return None
    order = db.session.scalar(
        select(MoveOrder)
        .join(Payment, Payment.id == MoveOrder.payment_id)
        .where(Payment.order_id == order_id)
    )
    return order if order is not None and order.payment.payer_id == learner.id else None


def _why_not(booking, order, target, now):
    if booking.status != BookingStatus.CONFIRMED:
        return _("the booking was cancelled before the payment arrived")
    if booking.session_id != order.from_session_id:
        return _("the booking had moved to another session meanwhile")
    replaced = db.session.scalar(
        select(MoveOrder.id).where(MoveOrder.booking_id == booking.id, MoveOrder.id > order.id).limit(1)
    )
    if replaced is not None:
        return _("you chose another session to move to after this one")
    if target.status != SessionStatus.SCHEDULED or target.starts_at <= now:
        return _("the new session was cancelled or had started")
    return None


def captured(payment, now):
    """Apply a captured move payment, in the capture's transaction (services.payments): move the
    booking into the held seat (or a free one if the hold lapsed), or refund the difference in
    full when it can no longer move. Returns that refund, or None when the booking moved."""
    order = order_for_payment(payment)
    booking = db.session.get(Booking, order.booking_id)
    for session_id in sorted({booking.session_id, order.to_session_id, order.from_session_id}):
        lock_session(session_id)
    db.session.refresh(booking)
    db.session.refresh(order)
    target = db.session.get(LearningSession, order.to_session_id, populate_existing=True)
    if order.status not in (MoveOrderStatus.OPEN, MoveOrderStatus.LAPSED):
        return None  # already applied (apply_capture wins once; this is a safeguard)
    reason = _why_not(booking, order, target, now)
    seat = reason is None and order.status == MoveOrderStatus.OPEN and order.seat_held
    if reason is None and not seat:
        seat = take_seat(target.id, now)  # the hold lapsed: a free seat still does
        if not seat:
            reason = _("the new session filled up after the seat hold expired")
    if reason is None:
        source = db.session.get(LearningSession, booking.session_id, populate_existing=True)
        try:
            reschedule_service.move_booking(booking, source, target, now, paid_paise=payment.amount_paise)
        except Conflict:
            reason = _("the booking could not move into the new session")
            if not order.seat_held or order.status != MoveOrderStatus.OPEN:
                release_seat(target.id)  # the free seat taken just now
    if reason is None:
        _settle(order, MoveOrderStatus.MOVED.value, now)
        return None
    if order.status == MoveOrderStatus.OPEN:
        _close(order, MoveOrderStatus.REFUNDED.value, now)
    else:
        _settle(order, MoveOrderStatus.REFUNDED.value, now)
    refund = refunds.reserve_refund(
        payment,
        payment.refundable_paise,
        key=f"payment-{payment.id}-move-unplaced",
        reason=system_texts.MOVE_NOT_PLACED,
    )
    notify(
        booking.learner,
        NotificationKind.SESSION_RESCHEDULED,
        title=_("Your booking did not move"),
        body=_(
            "Your booking stays as it was: %(reason)s. The %(amount)s you paid to move it is on its "
            "way back to your original payment method.",
            reason=reason,
            amount=format_inr(payment.amount_paise),
        ),
        url=f"/bookings/{booking.id}",
        data={"booking_id": booking.id, "session_id": order.to_session_id},
    )
    return refund


def _settle(order, status, now):
    db.session.execute(
        update(MoveOrder)
        .where(MoveOrder.id == order.id)
        .values(status=status, seat_held=False, settled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def lapse_expired_holds(now=None):
    """Give back the seats held by move orders not paid in time (with the booking holds, by the
    same periodic job). The booking keeps its seat; a payment arriving later still moves it if
    a seat is free. Returns how many lapsed."""
    now = now or utcnow()
    due = db.session.scalars(
        select(MoveOrder).where(
            MoveOrder.status == MoveOrderStatus.OPEN.value, MoveOrder.hold_expires_at <= now
        )
    ).all()
    lapsed = 0
    for order in due:
        lock_session(order.to_session_id)
        lapsed += _close(order, MoveOrderStatus.LAPSED.value, now)
        db.session.commit()
    outbox.dispatch()
    return lapsed


def booking_cancelled(booking, refund=None, *_args, **_kwargs):
    """Subscriber of ``booking_cancelled``. A moved booking was paid for by more than one
    payment; the cancellation refunded the policy's amount of the whole price from one of them,
    so what is left of that amount comes back from the others (latest first)."""
    moved = db.session.scalar(
        select(MoveOrder.id).where(
            MoveOrder.booking_id == booking.id, MoveOrder.status == MoveOrderStatus.MOVED.value
        )
    )
    if moved is None:
        return
    row = db.session.execute(
        select(Booking.cancelled_by_id, Booking.cancelled_at, Booking.amount_paise).where(
            Booking.id == booking.id
        )
    ).one()
    actor = db.session.get(User, row.cancelled_by_id) if row.cancelled_by_id else None
    if actor is None:
        return  # cancelled with its session: settlement refunds every payment of the booking in full
    due = refund_due(booking, actor, row.cancelled_at)
    if due < refunds.MIN_REFUND_PAISE:
        return
    left = due - (refund.amount_paise if refund is not None else 0)
    for reserved in reschedule_service.refund_across(
        booking, left, key=f"booking-{booking.id}-cancel", reason=system_texts.BOOKING_CANCELLED
    ):
        outbox.stage(reserved)  # sent after the cancellation commits


def difference_text(amount_paise):
    return _("Pay %(amount)s more", amount=format_inr(amount_paise))
