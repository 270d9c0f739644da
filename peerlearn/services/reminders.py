"""Reminders before a session: one a day before, one a quarter of an hour before.

The rules, for each learner with a confirmed seat in a scheduled session:

- A reminder is due from its moment (24 hours, or 15 minutes, before the start) until a cut-off:
  the day-before one until an hour before the start (later, the 15-minute one is what matters),
  the 15-minute one until the start.
- Only a learner who last heard about the time *before* the reminder's moment gets it: one who
  books (or is told of a new time) three hours ahead has just had an email with the time, so
  gets only the 15-minute reminder.
- Each reminder goes once per booking and per ``schedule_version``: a ``SessionReminder`` row with
  a unique key is written in the same transaction as the notification and its email, so a second
  sweep running at the same moment fails that insert and skips. A reschedule bumps the version:
  what was sent for the old time no longer counts, and the new time gets its own reminders.
- Cancelled bookings and sessions that are cancelled (or already live) get none.
"""

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import events
from ..extensions import db
from ..models import (
    Booking,
    BookingStatus,
    LearningSession,
    ReminderKind,
    SessionReminder,
    SessionStatus,
    utcnow,
)
from . import outbox

log = logging.getLogger(__name__)

# (kind, how long before the start it is due, how long before the start it stops being worth sending)
SCHEDULE = (
    (ReminderKind.DAY_BEFORE, timedelta(hours=24), timedelta(hours=1)),
    (ReminderKind.STARTING_SOON, timedelta(minutes=15), timedelta(0)),
)
HORIZON = max(lead for _kind, lead, _cutoff in SCHEDULE)


def due_kinds(booking, session, now):
    """The reminders of ``booking`` due at ``now`` by the rules above (sent or not)."""
    if booking.status != BookingStatus.CONFIRMED or session.status != SessionStatus.SCHEDULED:
        return []
    # When the learner last had an email with the time: the confirmation, or the new time (the
    # mentor's, or the session they moved their booking to).
    told = (booking.confirmed_at or booking.created_at, booking.rescheduled_at, booking.moved_at)
    informed = max(t for t in told if t)
    kinds = []
    for kind, lead, cutoff in SCHEDULE:
        moment = session.starts_at - lead
        if informed < moment <= now < session.starts_at - cutoff:
            kinds.append(kind)
    return kinds


def _candidates(now):
    """(booking id, kind, schedule version) of every reminder due now and not yet sent."""
    bookings = list(
        db.session.scalars(
            select(Booking)
            .join(LearningSession, LearningSession.id == Booking.session_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED.value,
                LearningSession.status == SessionStatus.SCHEDULED.value,
                LearningSession.starts_at > now,
                LearningSession.starts_at <= now + HORIZON,
            )
            .order_by(LearningSession.starts_at, Booking.id)
        )
    )
    due = [
        (booking.id, kind.value, booking.session.schedule_version)
        for booking in bookings
        for kind in due_kinds(booking, booking.session, now)
    ]
    if not due:
        return []
    sent = set(
        db.session.execute(
            select(SessionReminder.booking_id, SessionReminder.kind, SessionReminder.schedule_version).where(
                SessionReminder.booking_id.in_({booking_id for booking_id, _kind, _version in due})
            )
        ).all()
    )
    return [key for key in due if key not in sent]


def _send_one(booking_id, kind, version, now):
    """Record and send one reminder in its own transaction; False if it is no longer due or
    another sweep got there first."""
    booking = db.session.get(Booking, booking_id, populate_existing=True)
    if booking is None:
        return False
    # Lock the session row (PostgreSQL) so a reschedule or cancellation waits for this reminder,
    # or this reminder sees it.
    db.session.execute(
        select(LearningSession.id).where(LearningSession.id == booking.session_id).with_for_update()
    )
    session = db.session.get(LearningSession, booking.session_id, populate_existing=True)
    if session.schedule_version != version or kind not in due_kinds(booking, session, now):
        db.session.rollback()
        return False
    db.session.add(
        SessionReminder(
            booking_id=booking.id, kind=kind, schedule_version=version, starts_at=session.starts_at
        )
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # a concurrent sweep sent it
        return False
    events.record("session_reminder", booking, ReminderKind(kind), now)
    db.session.commit()
    outbox.dispatch()
    return True


def send_due_reminders(now=None):
    """Send every reminder due at ``now`` (see the module docstring). Returns how many went out."""
    now = now or utcnow()
    candidates = _candidates(now)
    db.session.rollback()  # end the read; each reminder gets its own transaction
    sent = 0
    for booking_id, kind, version in candidates:
        try:
            sent += _send_one(booking_id, kind, version, now)
        except Exception:
            db.session.rollback()
            log.exception("reminder %s for booking %s could not be sent", kind, booking_id)
    return sent
