"""A learner moves their confirmed booking to another upcoming session of the same mentor.

The booking row itself moves (its ``session_id`` changes), so its payment, receipt, coupon and
ledger entries stay one story: the payment is still the one that paid for this seat, and its
ledger entries follow the seat to the new session, so settlement pays the mentor for the session
the learner actually attends (or refunds it when that one is not held).

One transaction: both sessions' rows are locked in id order (on PostgreSQL; SQLite has one
writer), a seat of the target is taken with the same conditional UPDATE booking uses, the booking
is moved by a conditional UPDATE on its old session, and the old seat is given back. Any refusal
or failure rolls all of it back, so either both seat counts changed or neither did.

Money: the difference is worked out on list prices (a coupon's discount stays with the original
payment). A cheaper session refunds the difference through the ordinary refund path (a partial
refund, its ledger reversal split in proportion). A dearer one is paid for: the learner opens a
move order for the difference (services.move_orders), which holds a seat of the target, and its
capture moves the booking with this module's :func:`move_booking`, as a cheaper move does. A
booking made with a pack credit moves with no money to any session the credit may book; the
credit follows the booking.
"""

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, system_texts
from ..exceptions import Conflict, NotFound, ValidationError
from ..extensions import db
from ..models import (
    COUNTED_REDEMPTION_STATUSES,
    Booking,
    BookingStatus,
    CouponRedemption,
    LearningSession,
    LedgerEntry,
    Payment,
    PaymentStatus,
    PurchaseStatus,
    SessionReminder,
    SessionStatus,
    utcnow,
)
from ..models.payment import MoveOrder, MoveOrderStatus
from . import outbox, packs, refunds, waitlist
from .booking import active_booking, learner_booking, lock_session, release_seat, reserved_for, take_seat

# How many of the mentor's sessions the reschedule page offers at most.
TARGETS_SHOWN = 50
# The least a gateway charges (a Payment's minimum): a smaller difference is moved without one.
MIN_CHARGE_PAISE = 100


def list_price(booking):
    """The list price the learner's seat was bought at: before a coupon's discount, if one was
    used, plus the differences paid to move it to dearer sessions (``booking.amount_paise``
    counts those already)."""
    redeemed = db.session.scalar(
        select(CouponRedemption.list_price_paise).where(
            CouponRedemption.booking_id == booking.id,
            CouponRedemption.status.in_(COUNTED_REDEMPTION_STATUSES),
        )
    )
    if redeemed is None:
        return booking.amount_paise
    paid_to_move = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_paise), 0))
        .join(MoveOrder, MoveOrder.payment_id == Payment.id)
        .where(MoveOrder.booking_id == booking.id, MoveOrder.status == MoveOrderStatus.MOVED.value)
    )
    return redeemed + int(paid_to_move)


def difference(booking, target):
    """What moving ``booking`` to ``target`` costs (negative: refunded), on list prices; 0 for a
    booking made with a pack credit, which pays for any session it may book."""
    if packs.credit_for_booking(booking.id) is not None:
        return 0
    return target.price_paise - list_price(booking)


def charged(difference_paise):
    """Whether a move with this difference is paid for with a move order."""
    return difference_paise >= MIN_CHARGE_PAISE


def window_closes_at(booking):
    """Until when the learner may move ``booking``: as long as cancelling would refund in full
    (FULL_REFUND_HOURS before the start), or until the start when the mentor moved the session."""
    if booking.rescheduled_at is not None:
        return booking.session.starts_at
    return booking.session.starts_at - timedelta(hours=current_app.config["FULL_REFUND_HOURS"])


def _booking_refusal(booking, now):
    session = booking.session
    if booking.status != BookingStatus.CONFIRMED:
        return Conflict(_("Only a confirmed booking can be moved."), code="not_movable")
    if session.status != SessionStatus.SCHEDULED or session.starts_at <= now:
        return Conflict(_("This session has already started or ended."), code="session_started")
    if now >= window_closes_at(booking):
        hours = current_app.config["FULL_REFUND_HOURS"]
        return Conflict(
            _("A booking can be moved up to %(hours)s hours before the session starts.", hours=hours),
            code="reschedule_window_closed",
        )
    return None


def _credit_refusal(credit, target, now):
    """Why the pack credit a booking was made with can't pay for ``target``, or None. The credit is
    already taken (it follows the booking), so only the pack's other rules apply."""
    purchase = credit.purchase
    if purchase.status != PurchaseStatus.ACTIVE or purchase.expires_at <= now:
        return Conflict(
            _("The pack this booking was made with has expired: its credit can't move."),
            code="pack_expired",
        )
    if (
        target.price_paise == 0
        or (purchase.one_to_one_only and target.capacity != 1)
        or (purchase.max_session_price_paise and target.price_paise > purchase.max_session_price_paise)
    ):
        return Conflict(
            _("The pack credit this booking was made with can't book that session."),
            code="pack_not_eligible",
        )
    return None


def target_refusal(booking, target, now, *, old_list_price, dearer_allowed=False):
    """Why ``booking`` can't move to ``target`` now, as a domain error, or None. A dearer target
    (by at least MIN_CHARGE_PAISE) is refused unless ``dearer_allowed`` (a move order pays it)."""
    learner = booking.learner
    if target is None or target.status == SessionStatus.DRAFT:
        return NotFound(_("No such session."))
    if target.id == booking.session_id:
        return Conflict(_("Your booking is already in this session."), code="same_session")
    if target.mentor_id != booking.session.mentor_id:
        return Conflict(
            _("A booking can only move to another session of the same mentor."), code="other_mentor"
        )
    if target.status != SessionStatus.SCHEDULED or target.starts_at <= now:
        return Conflict(
            _("That session has already started or is not open for booking."), code="session_started"
        )
    if target.currency != booking.currency:
        return Conflict(_("That session is priced in another currency."), code="other_currency")
    holder = reserved_for(target.id, now)
    if holder is not None and holder != learner.id:
        return Conflict(_("That session is kept for the learner who asked for it."), code="session_reserved")
    if active_booking(target.id, learner.id) is not None:
        return Conflict(_("You already have a booking in that session."), code="already_booked")
    credit = packs.credit_for_booking(booking.id)
    if credit is not None:
        refusal = _credit_refusal(credit, target, now)
        if refusal is not None:
            return refusal
    elif charged(target.price_paise - old_list_price) and not dearer_allowed:
        return Conflict(
            _("That session costs more than your booking: pay the difference to move to it."),
            code="reschedule_costs_more",
        )
    if target.seats_taken >= target.capacity:
        return Conflict(_("That session is full."), code="session_full")
    return None


def refusal(booking, now=None):
    """Why ``booking`` can't be moved now, in words for its learner, or "" when it can."""
    error = _booking_refusal(booking, now or utcnow())
    return error.message if error is not None else ""


def targets(booking, now=None):
    """The mentor's sessions ``booking`` may move to now, soonest first, each as
    ``{"session": ..., "difference_paise": ..., "charged": ...}`` (negative: refunded; charged:
    paid for with a move order). Empty when the booking itself may not move."""
    now = now or utcnow()
    if _booking_refusal(booking, now) is not None:
        return []
    old_list = list_price(booking)
    sessions = db.session.scalars(
        select(LearningSession)
        .where(
            LearningSession.mentor_id == booking.session.mentor_id,
            LearningSession.id != booking.session_id,
            LearningSession.status == SessionStatus.SCHEDULED.value,
            LearningSession.starts_at > now,
            LearningSession.seats_taken < LearningSession.capacity,
        )
        .order_by(LearningSession.starts_at, LearningSession.id)
        .limit(TARGETS_SHOWN)
    )
    options = []
    for session in sessions:
        if target_refusal(booking, session, now, old_list_price=old_list, dearer_allowed=True) is None:
            change = difference(booking, session)
            options.append({"session": session, "difference_paise": change, "charged": charged(change)})
    return options


def _refundable_payments(booking):
    """The booking's captured payments with money left to refund, latest first: a move's
    difference goes back before the original payment."""
    return list(
        db.session.scalars(
            select(Payment)
            .where(
                Payment.booking_id == booking.id,
                Payment.status.in_((PaymentStatus.CAPTURED.value, PaymentStatus.PARTIALLY_REFUNDED.value)),
            )
            .order_by(Payment.id.desc())
            .execution_options(populate_existing=True)
        )
    )


def refund_across(booking, amount_paise, *, key, reason):
    """Reserve refunds of ``amount_paise`` in all from the booking's payments, latest first (in
    the caller's transaction; one refund per payment and ``key``). Returns them."""
    reserved = []
    for payment in _refundable_payments(booking):
        part = min(amount_paise, payment.refundable_paise)
        if part < refunds.MIN_REFUND_PAISE:
            continue
        reserved.append(refunds.reserve_refund(payment, part, key=f"{key}-{payment.id}", reason=reason))
        amount_paise -= part
    return reserved


def refusing(error):
    """Roll back (letting go of the locked sessions' rows) and raise ``error``."""
    db.session.rollback()
    raise error


def move_booking(booking, source, target, now, *, paid_paise=0, refund_paise=0):
    """Move ``booking`` from ``source`` to ``target``, whose seat the caller has taken, in the
    caller's transaction (both sessions locked): the old seat goes back, reminders start again,
    the calendar entry outranks what calendars have, and the booking's money follows the seat.
    ``paid_paise``: a difference just paid (services.move_orders); ``refund_paise``: a
    difference to refund. Returns the refunds reserved; raises Conflict (a changed booking) with
    nothing written when the booking can't move."""
    # The booking's calendar entry keeps its UID and must outrank what calendars have.
    sequence = source.schedule_version + booking.calendar_sequence_offset + 1
    try:
        with db.session.begin_nested():
            moved = db.session.execute(
                update(Booking)
                .where(
                    Booking.id == booking.id,
                    Booking.session_id == source.id,
                    Booking.status == BookingStatus.CONFIRMED.value,
                )
                .values(
                    session_id=target.id,
                    moved_at=now,
                    rescheduled_at=None,  # the learner chose the new time
                    amount_paise=Booking.amount_paise + paid_paise - refund_paise,
                    calendar_sequence_offset=sequence - target.schedule_version,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
    except IntegrityError:
        raise Conflict(_("You already have a booking in that session."), code="already_booked") from None
    if moved != 1:
        raise Conflict(_("This booking changed meanwhile; reload and try again."), code="booking_changed")
    release_seat(source.id)
    # Reminders sent for the old session's time don't count for the new one's.
    db.session.execute(
        delete(SessionReminder)
        .where(SessionReminder.booking_id == booking.id)
        .execution_options(synchronize_session=False)
    )
    # The money follows the seat: settlement of the new session pays (or refunds) every payment
    # of the booking, a difference paid for this move included.
    db.session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.payment_id.in_(select(Payment.id).where(Payment.booking_id == booking.id)))
        .values(session_id=target.id)
        .execution_options(synchronize_session=False)
    )
    reserved = []
    if refund_paise:
        reserved = refund_across(
            booking,
            refund_paise,
            key=f"booking-{booking.id}-move-{sequence}",
            reason=system_texts.MOVED_TO_CHEAPER_SESSION,
        )
    db.session.refresh(booking)
    waitlist.booking_confirmed(booking)  # leaves the new session's line, if they were in it
    events.record("seat_freed", source.id, now=now)  # the old session's waitlist is offered the seat
    events.record("booking_moved", booking, source, reserved[0] if reserved else None)
    return reserved


def reschedule(learner, booking_id, target_session_id, *, now=None):
    """Move the learner's booking ``booking_id`` to session ``target_session_id``, when that costs
    no more than the booking (a dearer one is paid for first: services.move_orders).

    Returns ``(booking, refund, moved)``: ``refund`` is the partial refund of a cheaper session
    (or None); ``moved`` is False when the booking was already in that session (a second click
    of the same request answers with what the first did)."""
    now = now or utcnow()
    if isinstance(target_session_id, bool) or not isinstance(target_session_id, int):
        raise ValidationError(_("Choose a session."), fields={"session_id": [_("A session id is required.")]})
    booking = learner_booking(learner, booking_id)
    source_id = booking.session_id
    if source_id == target_session_id and booking.moved_at is not None:
        return booking, None, False
    for session_id in sorted({source_id, target_session_id}):
        lock_session(session_id)  # in id order: two moves in opposite directions never deadlock
    db.session.refresh(booking)
    if booking.session_id != source_id:
        if booking.session_id == target_session_id:
            db.session.rollback()
            return booking, None, False  # the first click moved it meanwhile
        refusing(Conflict(_("This booking changed meanwhile; reload and try again."), code="booking_changed"))
    source = db.session.get(LearningSession, source_id, populate_existing=True)
    target = db.session.get(LearningSession, target_session_id, populate_existing=True)
    refusal = _booking_refusal(booking, now)
    old_list = list_price(booking)
    if refusal is None:
        refusal = target_refusal(booking, target, now, old_list_price=old_list)
    if refusal is not None:
        refusing(refusal)
    if not take_seat(target.id, now):
        refusing(Conflict(_("That session is full."), code="session_full"))
    refundable = sum(payment.refundable_paise for payment in _refundable_payments(booking))
    refund_amount = min(old_list - target.price_paise, booking.amount_paise, refundable)
    if refund_amount < refunds.MIN_REFUND_PAISE:
        refund_amount = 0  # free, dearer by less than a charge, or too little to send back
    try:
        reserved = move_booking(booking, source, target, now, refund_paise=refund_amount)
    except Conflict as error:
        refusing(error)
    db.session.commit()
    db.session.refresh(booking)
    outbox.dispatch()
    for refund in reserved:
        refunds.dispatch_refund(refund)
    return booking, (reserved[0] if reserved else None), True
