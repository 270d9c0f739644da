"""What the landing page shows of the platform: its figures (counted in services/stats.py) and
the mentors it puts forward.

A figure is shown only once it is large enough to speak for the platform: "3 mentors" on a new
install tells a visitor the place is empty, so figures under MIN_FIGURE are left out (and the
average rating until MIN_FIGURE reviews carry it).
"""

from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import User
from . import stats

MIN_FIGURE = 20


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str


def hero_figures(minimum=MIN_FIGURE):
    """The figures worth showing, in the hero's order: sessions held, learners taught, mentors,
    average rating. An empty list when none reaches ``minimum``."""
    counted = stats.platform_figures()
    held, learners, mentors = counted["sessions_held"], counted["learners_taught"], counted["mentors"]
    figures = [
        Figure("sessions", "Sessions held", f"{held:,}") if held >= minimum else None,
        Figure("learners", "Learners", f"{learners:,}") if learners >= minimum else None,
        Figure("mentors", "Mentors", f"{mentors:,}") if mentors >= minimum else None,
        Figure("rating", "Average rating", f"{counted['average_rating'] + 1e-9:.1f} ★")
        if counted["reviews"] >= minimum
        else None,
    ]
    return [figure for figure in figures if figure]


def _presentable_mentors():
    """Mentors the landing page may put forward: active, email confirmed, a written headline."""
    return select(User).where(
        User.is_mentor,
        User.suspended_at.is_(None),
        User.email_verified_at.is_not(None),
        User.headline != "",
    )


def faces(limit=6):
    """The hero's row of faces: presentable mentors, those with a photo first."""
    statement = _presentable_mentors().order_by(
        case((User.avatar_filename.is_(None), 1), else_=0), User.created_at, User.id
    )
    return list(db.session.scalars(statement.limit(limit)))


def spotlight(limit=3):
    """The mentors section's cards (with their skills): presentable mentors, the most
    established first."""
    statement = _presentable_mentors().options(selectinload(User.skills)).order_by(User.created_at, User.id)
    return list(db.session.scalars(statement.limit(limit)))
