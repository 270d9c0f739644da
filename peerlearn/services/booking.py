"""Booking seats: race-free seat counting, holds that expire, and cancellation by policy.

Seats are taken with one conditional UPDATE (``seats_taken < capacity``) in the same transaction
as the booking row, never by counting first; on PostgreSQL the update's row lock queues
concurrent bookers, on SQLite the write lock does. One active booking per learner and session
is a partial unique index, so a double click finds the booking the first click made.
"""

from datetime import timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from .. import events, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied
from ..extensions import db
from ..formats import localtime, viewer_timezone
from ..models import (
    ACTIVE_BOOKING_STATUSES,
    Booking,
    BookingStatus,
    LearningSession,
    Payment,
    RequestStatus,
    SessionRequest,
    SessionStatus,
    utcnow,
)
from . import fragments, interactions, outbox, refunds
from .pagination import paginate


def take_seat(session_id, now):
    """Atomically take one seat of a scheduled, not yet started session. True if taken."""
    result = db.session.execute(
        update(LearningSession)
        .where(
            LearningSession.id == session_id,
            LearningSession.status == SessionStatus.SCHEDULED.value,
            LearningSession.starts_at > now,
            LearningSession.seats_taken < LearningSession.capacity,
        )
        .values(seats_taken=LearningSession.seats_taken + 1)
        .returning(LearningSession.seats_taken, LearningSession.capacity)
        .execution_options(synchronize_session=False, peerlearn_seats_only=True)
    ).first()
    if result is not None:
        # Marked seats only: the kept cards' seats move, not the pages (services/fragments.py).
        fragments.seats_moved(*result, taken=True)
    return result is not None


def reserved_for(session_id, now=None):
    """The learner a session made from an accepted request is kept for, or None.

    While the request's window is open, nobody else may book it (services.session_requests)."""
    now = now or utcnow()
    return db.session.scalar(
        select(SessionRequest.learner_id).where(
            SessionRequest.session_id == session_id,
            SessionRequest.status == RequestStatus.ACCEPTED.value,
            SessionRequest.expires_at > now,
        )
    )


def lock_session(session_id):
    """Lock the session's row until the transaction ends, and return its status (None if there is
    no such session). Every path that changes a session and its bookings in one transaction takes
    this lock before touching any booking, so two of them never wait for each other's rows in
    opposite orders (a deadlock on PostgreSQL). SQLite has one writer at a time: nothing to lock."""
    return db.session.scalar(
        select(LearningSession.status)
        .where(LearningSession.id == session_id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: rows referring to it can still be added
    )


def release_seat(session_id):
    result = db.session.execute(
        update(LearningSession)
        .where(LearningSession.id == session_id, LearningSession.seats_taken > 0)
        .values(seats_taken=LearningSession.seats_taken - 1)
        .returning(LearningSession.seats_taken, LearningSession.capacity)
        .execution_options(synchronize_session=False, peerlearn_seats_only=True)
    ).first()
    if result is not None:
        fragments.seats_moved(*result, taken=False)


def active_booking(session_id, learner_id):
    params = {"session_id": session_id, "learner_id": learner_id}
    return db.session.scalar(_active_booking_statement(), params)


@cache
def _active_booking_statement():
    # Built once: every booking (and every second click) asks it first, and SQLAlchemy keeps a
    # statement's cache key on the object, so a prebuilt one is not built and keyed again.
    return select(Booking).where(
        Booking.session_id == bindparam("session_id"),
        Booking.learner_id == bindparam("learner_id"),
        Booking.status.in_(ACTIVE_BOOKING_STATUSES),
    )


def _refusal(session, learner, now):
    """Why ``learner`` cannot book ``session`` now, as a domain error, or None."""
    if session is None or (session.status == SessionStatus.DRAFT and session.mentor_id != learner.id):
        return NotFound(_("No such session."))
    if session.mentor_id == learner.id:
        return Conflict(_("You can't book your own session."), code="own_session")
    if not learner.is_verified:
        return PermissionDenied(_("Confirm your email address before booking."), code="email_unverified")
    if session.status == SessionStatus.DRAFT:
        return Conflict(_("This session is not published yet."), code="session_draft")
    if session.status == SessionStatus.CANCELLED:
        return Conflict(_("This session was cancelled."), code="session_cancelled")
    if session.status in (SessionStatus.LIVE, SessionStatus.COMPLETED) or session.starts_at <= now:
        return Conflict(_("This session has already started."), code="session_started")
    holder = reserved_for(session.id, now)
    if holder is not None and holder != learner.id:
        return Conflict(_("This session is kept for the learner who asked for it."), code="session_reserved")
    if session.seats_taken >= session.capacity:
        return Conflict(_("This session is full."), code="session_full")
    return None


def booking_refusal(session, learner, now):
    """Why ``learner`` cannot book ``session`` now (by payment or a pack credit), or None."""
    return _refusal(session, learner, now)


def book(session_id, learner, *, now=None):
    """Take a seat for ``learner``. Returns ``(booking, created)``.

    Free sessions are confirmed at once; paid ones are held as ``pending_payment`` until the
    hold expires. Asking again while a booking is active returns that booking.
    """
    now = now or utcnow()
    existing = active_booking(session_id, learner.id)
    if existing is not None:
        return existing, False
    # The refusal reads the session's own columns: its skills are left for whoever shows them.
    session = db.session.get(LearningSession, session_id, options=[lazyload(LearningSession.skills)])
    refusal = _refusal(session, learner, now)
    if refusal is not None:
        raise refusal
    price = session.price_paise
    if not take_seat(session_id, now):
        db.session.rollback()
        db.session.expire_all()
        refusal = _refusal(db.session.get(LearningSession, session_id), learner, now)
        raise refusal or Conflict(_("This session is full."), code="session_full")
    booking = Booking(
        session_id=session_id,
        learner_id=learner.id,
        amount_paise=price,
        currency=session.currency,
    )
    if price == 0:
        booking.status = BookingStatus.CONFIRMED.value
        booking.confirmed_at = now
    else:
        booking.status = BookingStatus.PENDING_PAYMENT.value
        # A hold never runs past the start: nobody pays for a session already under way.
        booking.hold_expires_at = min(
            now + timedelta(minutes=current_app.config["BOOKING_HOLD_MINUTES"]), session.starts_at
        )
    db.session.add(booking)
    try:
        db.session.flush()
    except IntegrityError:
        # A concurrent request of the same learner won; its booking is the answer, and
        # rolling back returns the seat this request took.
        db.session.rollback()
        existing = active_booking(session_id, learner.id)
        if existing is None:
            raise
        return existing, False
    if booking.status == BookingStatus.CONFIRMED:
        events.record("booking_confirmed", booking)
        interactions.booked(booking)
    db.session.commit()
    outbox.dispatch()
    if booking.status == BookingStatus.CONFIRMED:
        events.record("learner_interests_changed", learner.id)
    return booking, True


def expire_holds(now=None):
    """Expire unpaid holds whose time is up and give their seats back. Returns how many."""
    now = now or utcnow()
    ids = db.session.execute(
        select(Booking.id, Booking.session_id).where(
            Booking.status == BookingStatus.PENDING_PAYMENT.value, Booking.hold_expires_at <= now
        )
    ).all()
    expired = 0
    for booking_id, session_id in ids:
        lock_session(session_id)
        result = db.session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.status == BookingStatus.PENDING_PAYMENT.value)
            .values(status=BookingStatus.EXPIRED.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            release_seat(session_id)
            events.record("seat_freed", session_id, now=now)  # the waitlist's next learner
            expired += 1
        db.session.commit()
    outbox.dispatch()
    return expired


# The tabs of "My bookings", the page's and the API's.
BOOKING_TABS = ("upcoming", "past", "cancelled")
_ENDED = (BookingStatus.CANCELLED.value, BookingStatus.EXPIRED.value)


def _bookings_query(learner, tab, now):
    query = select(Booking).join(LearningSession).where(Booking.learner_id == learner.id)
    if tab == "cancelled":
        return query.where(Booking.status.in_(_ENDED)).order_by(Booking.updated_at.desc(), Booking.id.desc())
    active = query.where(Booking.status.notin_(_ENDED))
    if tab == "past":
        return active.where(LearningSession.starts_at <= now).order_by(
            LearningSession.starts_at.desc(), Booking.id.desc()
        )
    return active.where(LearningSession.starts_at > now).order_by(LearningSession.starts_at, Booking.id)


def bookings_page(learner, tab, *, page, per_page, now=None):
    """One page (services.pagination) of the learner's bookings for one tab of "My bookings":
    upcoming (soonest first), past (latest first) or cancelled (latest cancelled first)."""
    return paginate(_bookings_query(learner, tab, now or utcnow()), page=page, per_page=per_page)


def learner_booking(learner, booking_id):
    """A booking the learner owns; anyone else's is 404 (existence is not revealed)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.learner_id != learner.id:
        raise NotFound(_("No such booking."))
    return booking


def refund_due(booking, actor, now=None):
    """How much of the booking's payment goes back if ``actor`` cancels now."""
    now = now or utcnow()
    session = booking.session
    if booking.amount_paise == 0:
        return 0
    if actor.id != booking.learner_id:  # the mentor or an admin cancels: everyone is made whole
        return booking.amount_paise
    if booking.rescheduled_at is not None:  # the time changed after they booked
        return booking.amount_paise
    hours = current_app.config["FULL_REFUND_HOURS"]
    if session.starts_at - now >= timedelta(hours=hours):
        return booking.amount_paise
    percent = current_app.config["LATE_CANCEL_REFUND_PERCENT"]
    return booking.amount_paise * percent // 100


def refund_promise(target, now=None, *, tz=None):
    """What a learner gets back, said exactly for this booking (or, before booking, for booking
    ``target`` session now): the one text shown before booking, on the pay page, the receipt and
    in the booking email. Empty when there is nothing to promise (free, over, cancelled).

    ``tz``: the timezone to give times in; a booking's learner's, else the viewer's.
    """

    now = now or utcnow()
    booking = target if isinstance(target, Booking) else None
    session = booking.session if booking is not None else target
    price = booking.amount_paise if booking is not None else session.price_paise
    if price == 0 or session.status not in (SessionStatus.DRAFT, SessionStatus.SCHEDULED):
        return ""
    if booking is not None and booking.status not in (
        BookingStatus.PENDING_PAYMENT,
        BookingStatus.CONFIRMED,
    ):
        return ""
    if now >= session.starts_at:
        return ""
    if tz is None and booking is not None:
        tz = booking.learner.timezone
    config = current_app.config
    hours, percent = config["FULL_REFUND_HOURS"], config["LATE_CANCEL_REFUND_PERCENT"]
    deadline = session.starts_at - timedelta(hours=hours)
    zone = tz or viewer_timezone()

    def when(moment):
        return localtime(moment, "%a %d %b %Y, %I:%M %p", tz=zone) + f" ({zone})"

    # Whole sentences for each case, with and without a late refund, so each reads naturally
    # in every language.
    if booking is not None and booking.rescheduled_at is not None:
        promise = _(
            "The mentor moved this session after you booked, so you get a full refund if you cancel "
            "before it starts."
        )
    elif now < deadline and percent:
        promise = _(
            "Full refund if you cancel before %(time)s; %(percent)s%% back after that.",
            time=when(deadline),
            percent=percent,
        )
    elif now < deadline:
        promise = _("Full refund if you cancel before %(time)s; no refund after that.", time=when(deadline))
    elif booking is None and percent:
        promise = _(
            "This session starts within %(hours)s hours: if you book now, cancelling gets you "
            "%(percent)s%% back.",
            hours=hours,
            percent=percent,
        )
    elif booking is None:
        promise = _(
            "This session starts within %(hours)s hours: if you book now, you can't get a refund by "
            "cancelling.",
            hours=hours,
        )
    elif booking.created_at >= deadline and percent:
        promise = _(
            "You booked within %(hours)s hours of the start, so cancelling gets you %(percent)s%% back.",
            hours=hours,
            percent=percent,
        )
    elif booking.created_at >= deadline:
        promise = _(
            "You booked within %(hours)s hours of the start, so you can't get a refund by cancelling.",
            hours=hours,
        )
    elif percent:
        promise = _(
            "The full-refund period ended at %(time)s: cancelling gets you %(percent)s%% back now.",
            time=when(deadline),
            percent=percent,
        )
    else:
        promise = _(
            "The full-refund period ended at %(time)s: you can't get a refund by cancelling now.",
            time=when(deadline),
        )
    if booking is None or booking.rescheduled_at is None:
        promise += " " + _("If the mentor moves the session, you can cancel for a full refund.")
    return promise + " " + _("If the mentor cancels or doesn't hold the session, you're refunded in full.")


def cancel(booking, actor, *, reason="", now=None):
    """Cancel a pending or confirmed booking and refund by policy. Returns the Refund or None.

    The session's row is locked first, as cancelling the session locks it, and the booking is
    read again under that lock: a booking the session's cancellation took meanwhile is refused
    as already cancelled (a 409), never cancelled or refunded twice."""
    now = now or utcnow()
    lock_session(booking.session_id)
    db.session.refresh(booking)
    session = db.session.get(LearningSession, booking.session_id, populate_existing=True)
    refusal = None
    if booking.status not in (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED):
        refusal = _not_cancellable(booking)
    elif actor.id == booking.learner_id and session.has_started(now):
        refusal = Conflict(
            _("The session has already started; it can no longer be cancelled."), code="session_started"
        )
    if refusal is not None:
        db.session.rollback()  # lets go of the session's row
        raise refusal
    was_confirmed = booking.status == BookingStatus.CONFIRMED
    result = db.session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == booking.status, Booking.session_id == session.id)
        .values(
            status=BookingStatus.CANCELLED.value,
            cancelled_at=now,
            cancelled_by_id=actor.id,
            cancel_reason=(reason or "")[:500],
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(booking)
        if booking.status not in (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED):
            raise _not_cancellable(booking)  # cancelled meanwhile, with its session or elsewhere
        raise Conflict(_("This booking changed meanwhile; reload and try again."), code="booking_changed")
    release_seat(booking.session_id)
    events.record("seat_freed", booking.session_id, now=now)
    refund = None
    if was_confirmed:
        amount = refund_due(booking, actor, now)
        payment = db.session.scalar(
            select(Payment).where(
                Payment.booking_id == booking.id, Payment.status.in_(("captured", "partially_refunded"))
            )
        )
        if payment is not None and amount >= refunds.MIN_REFUND_PAISE:
            refund = refunds.reserve_refund(
                payment,
                min(amount, payment.refundable_paise),
                key=f"booking-{booking.id}-cancel",
                reason=system_texts.BOOKING_CANCELLED,
            )
    events.record("booking_cancelled", booking, refund)
    if was_confirmed and actor.id != session.mentor_id:
        events.record("seat_cancelled_for_mentor", booking, actor)
    db.session.commit()
    db.session.refresh(booking)
    outbox.dispatch()
    if refund is not None:
        refunds.dispatch_refund(refund)
    return refund


def _not_cancellable(booking):
    words = {
        BookingStatus.PENDING_PAYMENT: _("pending payment"),
        BookingStatus.CONFIRMED: _("confirmed"),
        BookingStatus.ATTENDED: _("attended"),
        BookingStatus.NO_SHOW: _("no show"),
        BookingStatus.EXPIRED: _("expired"),
        BookingStatus.CANCELLED: _("cancelled"),
    }
    status = words.get(booking.status, booking.status.replace("_", " "))
    return Conflict(
        _("This booking is %(status)s and can't be cancelled.", status=status), code="not_cancellable"
    )
