"""Figures shown on public pages, computed from the database on each request."""

from sqlalchemy import func, select

from ..extensions import db
from ..models import Role, Skill, User, user_interests, user_skills


def platform_figures():
    counts = dict(
        db.session.execute(
            select(User.role, func.count(User.id)).where(User.suspended_at.is_(None)).group_by(User.role)
        ).all()
    )
    skills_in_use = db.session.scalar(
        select(func.count(func.distinct(Skill.id))).where(
            Skill.id.in_(select(user_skills.c.skill_id).union(select(user_interests.c.skill_id)))
        )
    )
    return {
        "mentors": counts.get(Role.MENTOR.value, 0),
        "learners": counts.get(Role.LEARNER.value, 0),
        "skills": skills_in_use or 0,
    }


def mentor_spotlight(limit=3):
    """Verified, active mentors with a written profile, the most established first."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.role == Role.MENTOR.value,
                User.suspended_at.is_(None),
                User.email_verified_at.is_not(None),
                User.headline != "",
            )
            .order_by(User.created_at, User.id)
            .limit(limit)
        )
    )


def recent_signups(limit=10):
    return list(
        db.session.scalars(select(User).order_by(User.created_at.desc(), User.id.desc()).limit(limit))
    )


def unverified_count():
    return db.session.scalar(select(func.count(User.id)).where(User.email_verified_at.is_(None))) or 0
