"""The platform's figures, counted from the database on each request: the one place that says what
"mentors", "learners" or "sessions held" mean for the pages that show them (the landing page's
hero through services/showcase.py, the admin overview)."""

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Booking,
    BookingStatus,
    LearningSession,
    Review,
    SessionStatus,
    Skill,
    User,
    user_interests,
    user_skills,
)
from .reviews import visible


def platform_figures():
    """Every platform figure, as a dict:

    - ``mentors``: active accounts that teach;
    - ``learners``: active accounts that may learn, every one but the staff's (so a mentor who
      also books sessions counts in both);
    - ``learners_taught``: people holding a confirmed or attended booking;
    - ``sessions_held``: completed sessions;
    - ``skills``: skills someone teaches or wants to learn;
    - ``reviews`` and ``average_rating`` (None without reviews): visible reviews only.
    """
    mentors, learners = db.session.execute(
        select(
            func.count(User.id).filter(User.is_mentor),
            func.count(User.id).filter(User.is_admin.is_(False)),
        ).where(User.suspended_at.is_(None))
    ).one()
    learners_taught = db.session.scalar(
        select(func.count(func.distinct(Booking.learner_id))).where(
            Booking.status.in_((BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value))
        )
    )
    sessions_held = db.session.scalar(
        select(func.count(LearningSession.id)).where(LearningSession.status == SessionStatus.COMPLETED.value)
    )
    skills_in_use = db.session.scalar(
        select(func.count(func.distinct(Skill.id))).where(
            Skill.id.in_(select(user_skills.c.skill_id).union(select(user_interests.c.skill_id)))
        )
    )
    average, reviews = db.session.execute(
        select(func.avg(Review.rating), func.count(Review.id)).where(visible())
    ).one()
    return {
        "mentors": mentors,
        "learners": learners,
        "learners_taught": learners_taught or 0,
        "sessions_held": sessions_held or 0,
        "skills": skills_in_use or 0,
        "reviews": reviews or 0,
        "average_rating": float(average) if reviews else None,
    }


def recent_signups(limit=10):
    return list(
        db.session.scalars(select(User).order_by(User.created_at.desc(), User.id.desc()).limit(limit))
    )


def unverified_count():
    return db.session.scalar(select(func.count(User.id)).where(User.email_verified_at.is_(None))) or 0
