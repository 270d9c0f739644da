"""The user aggregate: accounts, their roles, profiles and skills."""

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime


class Role(enum.StrEnum):
    LEARNER = "learner"
    MENTOR = "mentor"
    ADMIN = "admin"


# Roles a person may choose when registering; admins are only made by `flask create-admin`.
SELF_SERVICE_ROLES = (Role.LEARNER, Role.MENTOR)


user_skills = Table(
    "user_skills",
    db.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", Integer, ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)

user_interests = Table(
    "user_interests",
    db.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", Integer, ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)


class Skill(db.Model):
    """A skill or topic, shared by user skills and interests (and later, sessions)."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    slug: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)

    def __repr__(self):
        return f"<Skill {self.slug}>"


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('learner', 'mentor', 'admin')", name="role_valid"),
        CheckConstraint("hourly_rate_paise >= 0", name="hourly_rate_non_negative"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default=Role.LEARNER.value)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="Asia/Kolkata")
    headline: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    bio: Mapped[str] = mapped_column(Text, nullable=False, default="")
    hourly_rate_paise: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    avatar_filename: Mapped[str | None] = mapped_column(String(80))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspension_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # Set when strikes for sessions not held reached STRIKE_LIMIT: no publishing until an admin
    # lifts it.
    publishing_suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by an admin who checked a mentor's identity and credentials.
    mentor_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Secret in the private iCalendar feed URL; regenerating it revokes the old URL.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    skills: Mapped[list[Skill]] = relationship(secondary=user_skills, order_by=Skill.name, lazy="selectin")
    interests: Mapped[list[Skill]] = relationship(
        secondary=user_interests, order_by=Skill.name, lazy="selectin"
    )

    # Set by the login loader: the AuthSession this request authenticated with.
    current_auth_session = None

    def __repr__(self):
        return f"<User {self.id} {self.role}>"

    @property
    def is_learner(self):
        return self.role == Role.LEARNER

    @property
    def is_mentor(self):
        return self.role == Role.MENTOR

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def is_verified(self):
        return self.email_verified_at is not None

    @property
    def is_active(self):
        return self.suspended_at is None

    @property
    def first_name(self):
        return self.name.split()[0] if self.name.strip() else self.name

    @property
    def initials(self):
        parts = [p for p in self.name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    def get_id(self):
        # Flask-Login stores this in the cookie session. It is the web AuthSession's token,
        # never the user id, so deleting that record on the server ends the session.
        if self.current_auth_session is None:
            raise RuntimeError("login_user() needs an AuthSession; use security.sign_in")
        return self.current_auth_session.raw_token
