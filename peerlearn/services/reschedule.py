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
refund, its ledger reversal split in proportion); a dearer one is refused, since a booking has one
payment: the learner cancels (refunded by policy) and books the other session instead.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .. import events
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
    SessionReminder,
    SessionStatus,
    utcnow,
)
from . import outbox, refunds, waitlist
from .booking import active_booking, learner_booking, lock_session, release_seat, reserved_for, take_seat

# How many of the mentor's sessions the reschedule page offers at most.
TARGETS_SHOWN = 50


def list_price(booking):
    """The list price the learner's seat was bought at: before a coupon's discount, if one was used."""
    redeemed = db.session.scalar(
        select(CouponRedemption.list_price_paise).where(
            CouponRedemption.booking_id == booking.id,
            CouponRedemption.status.in_(COUNTED_REDEMPTION_STATUSES),
        )
    )
    return booking.amount_paise if redeemed is None else redeemed


def window_closes_at(booking):
    """Until when the learner may move ``booking``: as long as cancelling would refund in full
    (FULL_REFUND_HOURS before the start), or until the start when the mentor moved the session."""
    if booking.rescheduled_at is not None:
        return booking.session.starts_at
    return booking.session.starts_at - timedelta(hours=current_app.config["FULL_REFUND_HOURS"])


def _booking_refusal(booking, now):
    session = booking.session
    if booking.status != BookingStatus.CONFIRMED:
        return Conflict("Only a confirmed booking can be moved.", code="not_movable")
    if session.status != SessionStatus.SCHEDULED or session.starts_at <= now:
        return Conflict("This session has already started or ended.", code="session_started")
    if now >= window_closes_at(booking):
        hours = current_app.config["FULL_REFUND_HOURS"]
        return Conflict(
            f"A booking can be moved up to {hours} hours before the session starts.",
            code="reschedule_window_closed",
        )
    return None


def _target_refusal(booking, target, now, *, old_list_price):
    learner = booking.learner
    if target is None or target.status == SessionStatus.DRAFT:
        return NotFound("No such session.")
    if target.id == booking.session_id:
        return Conflict("Your booking is already in this session.", code="same_session")
    if target.mentor_id != booking.session.mentor_id:
        return Conflict("A booking can only move to another session of the same mentor.", code="other_mentor")
    if target.status != SessionStatus.SCHEDULED or target.starts_at <= now:
        return Conflict(
            "That session has already started or is not open for booking.", code="session_started"
        )
    if target.currency != booking.currency:
        return Conflict("That session is priced in another currency.", code="other_currency")
    holder = reserved_for(target.id, now)
    if holder is not None and holder != learner.id:
        return Conflict("That session is kept for the learner who asked for it.", code="session_reserved")
    if active_booking(target.id, learner.id) is not None:
        return Conflict("You already have a booking in that session.", code="already_booked")
    if target.price_paise > old_list_price:
        return Conflict(
            "That session costs more than your booking. Cancel this booking and book that session instead.",
            code="reschedule_costs_more",
        )
    if target.seats_taken >= target.capacity:
        return Conflict("That session is full.", code="session_full")
    return None


def refusal(booking, now=None):
    """Why ``booking`` can't be moved now, in words for its learner, or "" when it can."""
    error = _booking_refusal(booking, now or utcnow())
    return error.message if error is not None else ""


def targets(booking, now=None):
    """The mentor's sessions ``booking`` may move to now, soonest first, each as
    ``{"session": ..., "difference_paise": ...}`` (negative: refunded). Empty when the booking
    itself may not move."""
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
            LearningSession.price_paise <= old_list,
        )
        .order_by(LearningSession.starts_at, LearningSession.id)
        .limit(TARGETS_SHOWN)
    )
    return [
        {"session": session, "difference_paise": session.price_paise - old_list}
        for session in sessions
        if _target_refusal(booking, session, now, old_list_price=old_list) is None
    ]


def _payment(booking):
    return db.session.scalar(
        select(Payment).where(
            Payment.booking_id == booking.id, Payment.status.in_(("captured", "partially_refunded"))
        )
    )


def _refusing(error):
    db.session.rollback()  # lets go of both sessions' rows
    raise error


def reschedule(learner, booking_id, target_session_id, *, now=None):
    """Move the learner's booking ``booking_id`` to session ``target_session_id``.

    Returns ``(booking, refund, moved)``: ``refund`` is the partial refund of a cheaper session
    (or None); ``moved`` is False when the booking was already in that session (a second click
    of the same request answers with what the first did)."""
    now = now or utcnow()
    if isinstance(target_session_id, bool) or not isinstance(target_session_id, int):
        raise ValidationError("Choose a session.", fields={"session_id": ["A session id is required."]})
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
        _refusing(Conflict("This booking changed meanwhile; reload and try again.", code="booking_changed"))
    source = db.session.get(LearningSession, source_id, populate_existing=True)
    target = db.session.get(LearningSession, target_session_id, populate_existing=True)
    refusal = _booking_refusal(booking, now)
    old_list = list_price(booking)
    if refusal is None:
        refusal = _target_refusal(booking, target, now, old_list_price=old_list)
    if refusal is not None:
        _refusing(refusal)
    if not take_seat(target.id, now):
        _refusing(Conflict("That session is full.", code="session_full"))
    payment = _payment(booking)
    refund_amount = min(old_list - target.price_paise, booking.amount_paise)
    if payment is None or refund_amount < refunds.MIN_REFUND_PAISE:
        refund_amount = 0  # free, or less than the gateway can send back: the price stays
    refund_amount = min(refund_amount, payment.refundable_paise if payment is not None else 0)
    # The booking's calendar entry keeps its UID and must outrank what calendars have.
    sequence = source.schedule_version + booking.calendar_sequence_offset + 1
    try:
        moved = db.session.execute(
            update(Booking)
            .where(
                Booking.id == booking.id,
                Booking.session_id == source_id,
                Booking.status == BookingStatus.CONFIRMED.value,
            )
            .values(
                session_id=target.id,
                moved_at=now,
                rescheduled_at=None,  # the learner chose the new time
                amount_paise=Booking.amount_paise - refund_amount,
                calendar_sequence_offset=sequence - target.schedule_version,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    except IntegrityError:
        _refusing(Conflict("You already have a booking in that session.", code="already_booked"))
    if moved != 1:
        _refusing(Conflict("This booking changed meanwhile; reload and try again.", code="booking_changed"))
    release_seat(source_id)
    # Reminders sent for the old session's time don't count for the new one's.
    db.session.execute(
        delete(SessionReminder)
        .where(SessionReminder.booking_id == booking.id)
        .execution_options(synchronize_session=False)
    )
    refund = None
    if payment is not None:
        # The money follows the seat: settlement of the new session pays (or refunds) it.
        db.session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.payment_id == payment.id)
            .values(session_id=target.id)
            .execution_options(synchronize_session=False)
        )
        if refund_amount:
            refund = refunds.reserve_refund(
                payment,
                refund_amount,
                key=f"booking-{booking.id}-move-{sequence}",
                reason="Moved to a lower-priced session",
            )
    db.session.refresh(booking)
    waitlist.booking_confirmed(booking)  # leaves the new session's line, if they were in it
    events.record("seat_freed", source_id, now=now)  # the old session's waitlist is offered the seat
    events.record("booking_moved", booking, source, refund)
    db.session.commit()
    db.session.refresh(booking)
    outbox.dispatch()
    if refund is not None:
        refunds.dispatch_refund(refund)
    return booking, refund, True
