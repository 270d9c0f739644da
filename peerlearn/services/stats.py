"""Figures shown on public pages, computed from the database on each request."""

from sqlalchemy import func, select

from ..extensions import db
from ..models import Skill, User, user_interests, user_skills


def platform_figures():
    """Active accounts: mentors are those who teach; every account but the staff's learns (so a
    mentor who also books sessions counts in both)."""
    mentors, learners = db.session.execute(
        select(
            func.count(User.id).filter(User.is_mentor),
            func.count(User.id).filter(User.is_admin.is_(False)),
        ).where(User.suspended_at.is_(None))
    ).one()
    skills_in_use = db.session.scalar(
        select(func.count(func.distinct(Skill.id))).where(
            Skill.id.in_(select(user_skills.c.skill_id).union(select(user_interests.c.skill_id)))
        )
    )
    return {
        "mentors": mentors,
        "learners": learners,
        "skills": skills_in_use or 0,
    }


def mentor_spotlight(limit=3):
    """Verified, active mentors with a written profile, the most established first."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.is_mentor,
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
