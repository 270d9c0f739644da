"""Attendance: how long each person was in a session's room, within its slot, and what that
makes of each booking when a held session completes (attended or no-show). The room records the
stays (services.room); settlement reads them to decide whether a session was held."""

from datetime import timedelta

from sqlalchemy import select, update

from ..extensions import db
from ..models import Attendance, Booking, BookingStatus, LearningSession, utcnow
from . import interactions


def settle_attendance(session, now=None):
    """When a held session completes (in the caller's transaction): close the stays still open,
    and mark each confirmed booking ``attended`` if the learner was in the room, ``no_show`` if
    not.

    Only if the mentor was there (a held session always has them): a session its mentor never
    opened did not take place, and settlement cancels and refunds it instead.
    """
    now = now or utcnow()
    db.session.execute(
        update(Attendance)
        .where(Attendance.session_id == session.id, Attendance.left_at.is_(None))
        .values(left_at=now)
        .execution_options(synchronize_session=False)
    )
    present = select(Attendance.user_id).where(Attendance.session_id == session.id)
    mentor_came = db.session.scalar(present.where(Attendance.user_id == session.mentor_id).limit(1))
    if mentor_came is None:
        return
    for status, learners in (
        (BookingStatus.ATTENDED, Booking.learner_id.in_(present)),
        (BookingStatus.NO_SHOW, Booking.learner_id.not_in(present)),
    ):
        db.session.execute(
            update(Booking)
            .where(
                Booking.session_id == session.id, Booking.status == BookingStatus.CONFIRMED.value, learners
            )
            .values(status=status.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    interactions.completed(session, now)


def minutes_attended(session_id, user_id, now=None):
    """Minutes present within the session's slot, overlapping stays counted once."""
    now = now or utcnow()
    session = db.session.get(LearningSession, session_id)
    stays = db.session.execute(
        select(Attendance.joined_at, Attendance.left_at)
        .where(Attendance.session_id == session_id, Attendance.user_id == user_id)
        .order_by(Attendance.joined_at)
    ).all()
    return int(seconds_within(stays, session.starts_at, session.ends_at, now) // 60)


def seconds_within(stays, starts_at, ends_at, now):
    """Seconds the ``(joined_at, left_at)`` stays, in order of joining, cover between
    ``starts_at`` and ``ends_at``, overlapping stays counted once; a stay still open counts
    until ``now``."""
    total, cursor = timedelta(0), starts_at
    for joined, left in stays:
        start_at = max(joined, cursor, starts_at)
        end_at = min(left or now, ends_at)
        if end_at > start_at:
            total += end_at - start_at
            cursor = end_at
    return total.total_seconds()
