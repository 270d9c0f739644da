"""What the landing page's hero shows: the platform's figures, and faces of real mentors.

A figure is shown only once it is large enough to speak for the platform: "3 mentors" on a new
install tells a visitor the place is empty, so figures under MIN_FIGURE are left out (and the
average rating until MIN_FIGURE reviews carry it).
"""

from dataclasses import dataclass

from sqlalchemy import case, func, select

from ..extensions import db
from ..models import Booking, BookingStatus, LearningSession, Review, SessionStatus, User
from .reviews import visible

MIN_FIGURE = 20


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str


def hero_figures(minimum=MIN_FIGURE):
    """The figures worth showing, in the hero's order: sessions held, learners taught, mentors,
    average rating. An empty list when none reaches ``minimum``."""
    held = db.session.scalar(
        select(func.count(LearningSession.id)).where(LearningSession.status == SessionStatus.COMPLETED.value)
    )
    learners = db.session.scalar(
        select(func.count(func.distinct(Booking.learner_id))).where(
            Booking.status.in_((BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value))
        )
    )
    mentors = db.session.scalar(
        select(func.count(User.id)).where(User.is_mentor, User.suspended_at.is_(None))
    )
    average, reviews = db.session.execute(
        select(func.avg(Review.rating), func.count(Review.id)).where(visible())
    ).one()
    figures = [
        Figure("sessions", "Sessions held", f"{held:,}") if held >= minimum else None,
        Figure("learners", "Learners", f"{learners:,}") if learners >= minimum else None,
        Figure("mentors", "Mentors", f"{mentors:,}") if mentors >= minimum else None,
        Figure("rating", "Average rating", f"{float(average) + 1e-9:.1f} ★") if reviews >= minimum else None,
    ]
    return [figure for figure in figures if figure]


def faces(limit=6):
    """Mentors the landing page may put forward (active, email confirmed, a written headline),
    those with a photo first."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.is_mentor,
                User.suspended_at.is_(None),
                User.email_verified_at.is_not(None),
                User.headline != "",
            )
            .order_by(case((User.avatar_filename.is_(None), 1), else_=0), User.created_at, User.id)
            .limit(limit)
        )
    )
