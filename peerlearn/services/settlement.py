"""Settling a session once it is over: it was held, or it was not, by its mentor's presence.

A session is held when its mentor was in the room (their Attendance stays, within the slot) for
at least HELD_MIN_PERCENT of its scheduled minutes. It is settled once, when the mentor ends it
for everyone after its start (room.end) or when the sweep finds its room closed
(sessions.complete_due_sessions), whichever comes first:

- held: ``completed``, with ``ended_at``, ``mentor_present_minutes`` and ``settles_at`` (the end
  plus SETTLEMENT_HOURS, when its earnings stop being pending); the bookings are settled to
  attended or no-show from the room's attendance.
- not held: ``cancelled`` with a reason giving the minutes; every booking still open is
  cancelled, every captured payment of the session (bookings in any state, so also what a late
  cancellation kept, and gifts) is refunded in full, the learners are told, and the mentor gets
  one strike. STRIKE_LIMIT strikes within STRIKE_WINDOW_DAYS suspend their publishing until an
  admin lifts it.

Both callers race safely: the conditional UPDATE on the session's status is the only way in,
so one of them applies the outcome and the other finds the session already settled.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, system_texts
from ..extensions import db
from ..models import (
    Attendance,
    Booking,
    BookingStatus,
    Gift,
    LearningSession,
    MentorStrike,
    Payment,
    SessionStatus,
    User,
)
from . import attendance, audit, outbox
from .refunds import CAPTURED_STATES, MIN_REFUND_PAISE, dispatch_refund, reserve_refund

OPEN_STATUSES = (SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value)


@dataclass
class Settlement:
    """What settling one session did; ``dispatch()`` hands its work on after the commit."""

    session: LearningSession
    held: bool
    mentor_minutes: int
    refunds: list = field(default_factory=list)
    suspended: bool = False

    def dispatch(self):
        outbox.dispatch()
        for refund in self.refunds:
            dispatch_refund(refund)


def held_minutes_needed(session):
    """The whole minutes of presence that make ``session`` held (HELD_MIN_PERCENT, rounded up)."""
    percent = current_app.config["HELD_MIN_PERCENT"]
    return -(-session.duration_minutes * percent // 100)


def is_held(session, mentor_minutes):
    return mentor_minutes >= held_minutes_needed(session)


def was_not_held(session):
    """A session settled as not held: cancelled by settlement, not by a person (only settlement
    records the mentor's minutes on a cancelled session)."""
    return session.status == SessionStatus.CANCELLED and session.mentor_present_minutes is not None


def not_held_reason(session, mentor_minutes):
    """Why ``session`` counts as not held, in English as stored (read through system_texts)."""
    refunded = not session.is_free
    needed = held_minutes_needed(session)
    if mentor_minutes == 0:
        pattern = system_texts.NOT_HELD_ABSENT_REFUNDED if refunded else system_texts.NOT_HELD_ABSENT
        return system_texts.fill(pattern, needed=needed)
    pattern = system_texts.NOT_HELD_SHORT_REFUNDED if refunded else system_texts.NOT_HELD_SHORT
    return system_texts.fill(
        pattern, minutes=mentor_minutes, duration=session.duration_minutes, needed=needed
    )


def settle_session(session, now, *, ended_at=None):
    """Settle ``session`` in the caller's transaction; the caller commits, then calls
    ``dispatch()`` on the result. Returns None when the session was already settled (by the
    other of End and the sweep, or by a cancellation): nothing is applied twice.

    ``ended_at`` is when it ended: the mentor's End, else its scheduled end.
    """
    ended_at = ended_at or min(now, session.ends_at)
    minutes = attendance.minutes_attended(session.id, session.mentor_id, now)
    if is_held(session, minutes):
        settles_at = ended_at + timedelta(hours=current_app.config["SETTLEMENT_HOURS"])
        won = _claim(
            session,
            now,
            status=SessionStatus.COMPLETED.value,
            ended_at=ended_at,
            mentor_present_minutes=minutes,
            settles_at=settles_at,
        )
        if not won:
            return None
        attendance.settle_attendance(session, now)
        events.record("session_completed", session, minutes)
        return Settlement(session, held=True, mentor_minutes=minutes)
    won = _claim(
        session,
        now,
        status=SessionStatus.CANCELLED.value,
        ended_at=ended_at,
        cancelled_at=now,
        cancel_reason=not_held_reason(session, minutes)[:500],
        mentor_present_minutes=minutes,
        seats_taken=0,
    )
    if not won:
        return None
    return _not_held(session, minutes, now)


def _claim(session, now, **values):
    """The one conditional UPDATE that settles a session: True for the caller that won."""
    won = db.session.execute(
        update(LearningSession)
        .where(LearningSession.id == session.id, LearningSession.status.in_(OPEN_STATUSES))
        .values(updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        db.session.refresh(session)
    return won == 1


def _not_held(session, minutes, now):
    db.session.execute(
        update(Attendance)
        .where(Attendance.session_id == session.id, Attendance.left_at.is_(None))
        .values(left_at=now)
        .execution_options(synchronize_session=False)
    )
    seated = cancel_open_bookings(session, now, reason=system_texts.BOOKING_NOT_HELD)
    refunds = refund_session_payments(
        session, key=f"session-{session.id}-not-held", reason=system_texts.SESSION_NOT_HELD
    )
    events.record("session_not_held", session, [b for b in seated if b.confirmed_at is not None], minutes)
    suspended = _strike(session, minutes, now)
    return Settlement(session, held=False, mentor_minutes=minutes, refunds=refunds, suspended=suspended)


def cancel_open_bookings(session, now, *, reason, by=None):
    """Cancel every booking of ``session`` still holding or having a seat, in the caller's
    transaction, and return them; ``by`` is who cancelled the session (None: settlement)."""
    bookings = list(
        db.session.scalars(
            select(Booking).where(
                Booking.session_id == session.id,
                Booking.status.in_((BookingStatus.PENDING_PAYMENT.value, BookingStatus.CONFIRMED.value)),
            )
        )
    )
    for booking in bookings:
        booking.status = BookingStatus.CANCELLED.value
        booking.cancelled_at = now
        booking.cancel_reason = reason
        if by is not None:
            booking.cancelled_by_id = by.id
    return bookings


def session_payments(session):
    """Every captured payment of ``session``: for its bookings in any state, and its gifts."""
    booked = (
        select(Payment)
        .join(Booking, Payment.booking_id == Booking.id)
        .where(Booking.session_id == session.id, Payment.status.in_(CAPTURED_STATES))
    )
    gifted = (
        select(Payment)
        .join(Gift, Gift.payment_id == Payment.id)
        .where(Gift.session_id == session.id, Payment.status.in_(CAPTURED_STATES))
    )
    # Fresh from the database: a refund reserved earlier in this transaction (a conditional
    # UPDATE) is not in the loaded objects.
    fresh = {"populate_existing": True}
    payments = {p.id: p for p in db.session.scalars(booked, execution_options=fresh)}
    payments.update((p.id, p) for p in db.session.scalars(gifted, execution_options=fresh))
    return [payments[key] for key in sorted(payments)]


def refund_session_payments(session, *, key, reason):
    """Reserve a full refund of what is left of every captured payment of ``session``, in the
    caller's transaction, one per payment under ``<key>-<payment id>``: asking again finds the
    same refunds. Returns them, to dispatch after the commit."""
    refunds = []
    for payment in session_payments(session):
        if payment.refundable_paise >= MIN_REFUND_PAISE:
            refunds.append(
                reserve_refund(payment, payment.refundable_paise, key=f"{key}-{payment.id}", reason=reason)
            )
    return refunds


def _strike(session, minutes, now):
    """One strike for the session's mentor; their publishing is suspended when the strikes
    within STRIKE_WINDOW_DAYS reach STRIKE_LIMIT. Returns True if this strike suspended it."""
    config = current_app.config
    savepoint = db.session.begin_nested()
    try:
        db.session.add(
            MentorStrike(
                mentor_id=session.mentor_id,
                session_id=session.id,
                reason=not_held_reason(session, minutes)[:300],
                created_at=now,
            )
        )
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()  # this session's strike exists already: it counts once
        return False
    savepoint.commit()
    count = strikes_within_window(session.mentor_id, now)
    suspended = False
    if count >= config["STRIKE_LIMIT"]:
        suspended = (
            db.session.execute(
                update(User)
                .where(User.id == session.mentor_id, User.publishing_suspended_at.is_(None))
                .values(publishing_suspended_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )
    mentor = db.session.get(User, session.mentor_id)
    db.session.refresh(mentor)
    if suspended:
        audit.record(
            None,
            audit.MENTOR_PUBLISHING_SUSPEND,
            target_type="user",
            target_id=mentor.id,
            details={"strikes": count, "window_days": config["STRIKE_WINDOW_DAYS"], "session_id": session.id},
        )
    events.record("mentor_struck", session, minutes, strikes=count, suspended=suspended)
    return suspended


def strikes_within_window(mentor_id, now):
    since = now - timedelta(days=current_app.config["STRIKE_WINDOW_DAYS"])
    return db.session.scalar(
        select(func.count(MentorStrike.id)).where(
            MentorStrike.mentor_id == mentor_id, MentorStrike.created_at > since
        )
    )


def mentor_strikes(mentor_id):
    """A mentor's strikes, newest first, with their sessions."""
    return list(
        db.session.scalars(
            select(MentorStrike)
            .where(MentorStrike.mentor_id == mentor_id)
            .order_by(MentorStrike.created_at.desc(), MentorStrike.id.desc())
        )
    )


def ended_message(session):
    """What the mentor is told after ending ``session`` for everyone."""
    if was_not_held(session):
        return _(
            "Session ended. You were in the room for %(present)s of its %(duration)s minutes, less than "
            "the %(needed)s that make a session held, so it counts as not held: everyone who paid is "
            "refunded in full, and it is a strike on your account.",
            present=session.mentor_present_minutes,
            duration=session.duration_minutes,
            needed=held_minutes_needed(session),
        )
    return _("Session ended for everyone. Thanks for teaching!")
