"""Reviews' raw material, written straight to the tables: a finished session, a seat, a stay in the
room, an attended booking and a review row, around a fixed NOW."""

from datetime import UTC, datetime, timedelta

from peerlearn.extensions import db
from peerlearn.models import Attendance, Booking, Review, utcnow
from tests.factories import UserFactory, make_session

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def past_session(mentor, *, ended_minutes_ago=60, duration=60, **fields):
    """A completed session of ``mentor`` that ended ``ended_minutes_ago`` before NOW."""
    starts_at = NOW - timedelta(minutes=ended_minutes_ago + duration)
    fields.setdefault("status", "completed")
    fields.setdefault("title", "Window functions in SQL")
    return make_session(mentor, starts_at=starts_at, duration_minutes=duration, **fields)


def seat(session, learner, status="attended"):
    booking = Booking(session_id=session.id, learner_id=learner.id, status=status, amount_paise=0)
    if status in ("confirmed", "attended"):
        booking.confirmed_at = session.starts_at - timedelta(days=1)
    db.session.add(booking)
    db.session.commit()
    return booking


def stay(session, user, start_minute, end_minute):
    """One stay in the room, in minutes from the session's start (negative: before it)."""
    db.session.add(
        Attendance(
            session_id=session.id,
            user_id=user.id,
            joined_at=session.starts_at + timedelta(minutes=start_minute),
            left_at=session.starts_at + timedelta(minutes=end_minute),
            connection_id=f"socket-{start_minute}",
        )
    )
    db.session.commit()


def attended(session, learner, minutes):
    """A booking marked attended and one stay of ``minutes`` from the start."""
    booking = seat(session, learner)
    stay(session, learner, 0, minutes)
    return booking


def review_row(session, learner, rating, *, hidden=False, body=""):
    """A review written straight to the table (for counting and ordering tests)."""
    booking = seat(session, learner)
    review = Review(
        booking_id=booking.id,
        session_id=session.id,
        mentor_id=session.mentor_id,
        learner_id=learner.id,
        rating=rating,
        body=body,
        minutes_attended=session.duration_minutes,
        hidden_at=NOW if hidden else None,
        hidden_reason="Spam" if hidden else "",
    )
    db.session.add(review)
    db.session.commit()
    return review


def reviewed_session(mentor, ratings, *, hidden=(), days_ago=20, body="Clear and patient."):
    """A session of ``mentor`` held ``days_ago`` days before now, with one new attended learner
    per rating, each leaving it; the ratings at the positions in ``hidden`` are hidden by an admin."""
    held = make_session(
        mentor, title="Held before", status="completed", starts_at=utcnow() - timedelta(days=days_ago)
    )
    for position, rating in enumerate(ratings):
        learner = UserFactory()
        booking = seat(held, learner)
        db.session.add(
            Review(
                booking_id=booking.id,
                session_id=held.id,
                mentor_id=mentor.id,
                learner_id=learner.id,
                rating=rating,
                body=body,
                hidden_at=utcnow() if position in hidden else None,
            )
        )
    db.session.commit()
    return held
