"""The user aggregate: accounts, their capabilities, profiles and skills.

One account, both sides: everyone can learn, an account can teach once teaching is turned on
(``teaching_enabled_at``), and an administrator is made only by `flask create-admin`
(``is_admin``). There is no stored role: ``role`` is derived (admin > mentor > learner) for the
places that show one word, ``capabilities`` lists them all.
"""

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    and_,
    case,
    false,
    literal_column,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime


class Role(enum.StrEnum):
    """The capabilities an account can have. Every account learns; ``role`` names the highest."""

    LEARNER = "learner"
    MENTOR = "mentor"
    ADMIN = "admin"


# What a person may ask for when registering (the seed API's `role` values): learning only, or
# teaching too. Admins are only made by `flask create-admin`.
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
        CheckConstraint("hourly_rate_paise >= 0", name="hourly_rate_non_negative"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    # When the account turned teaching on (registering as a mentor, or "Become a mentor" later);
    # None for an account that only learns.
    teaching_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Only `flask create-admin` sets this.
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="Asia/Kolkata")
    # The language the person chose ("en", "hi"); None until they choose (peerlearn/i18n.py).
    locale: Mapped[str | None] = mapped_column(String(5))
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
    # Raised by a password reset or change and by "log out everywhere": emailed links carry the
    # value they were issued under, so every older one stops working at once.
    credential_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Set when the account was deleted (services.your_data): its personal fields are erased, its
    # money records stay, and it can never sign in again.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Loaded only when read: most pages that load a person show neither list (a session's mentor,
    # the signed-in viewer, a review's author). Lists that show them ask for them in their query
    # (``selectinload(User.skills)``: the mentor directory, the landing page, followed mentors).
    skills: Mapped[list[Skill]] = relationship(secondary=user_skills, order_by=Skill.name, lazy="select")
    interests: Mapped[list[Skill]] = relationship(
        secondary=user_interests, order_by=Skill.name, lazy="select"
    )

    # Set by the login loader: the AuthSession this request authenticated with.
    current_auth_session = None

    def __repr__(self):
        return f"<User {self.id} {self.role}>"

    @property
    def is_learner(self):
        """Every account can learn (book sessions, ask mentors, follow them)."""
        return True

    @hybrid_property
    def is_mentor(self):
        return self.teaching_enabled_at is not None

    @is_mentor.inplace.expression
    @classmethod
    def _is_mentor_expression(cls):
        return cls.teaching_enabled_at.is_not(None)

    @hybrid_property
    def is_active_mentor(self):
        """Teaching and not suspended: a mentor whose profile shows, whom one may follow or ask
        for a session. (The directory lists a subset: services.mentors.listed_mentors.)"""
        return self.is_mentor and self.suspended_at is None and self.deleted_at is None

    @is_active_mentor.inplace.expression
    @classmethod
    def _is_active_mentor_expression(cls):
        return and_(
            cls.teaching_enabled_at.is_not(None), cls.suspended_at.is_(None), cls.deleted_at.is_(None)
        )

    @hybrid_property
    def role(self):
        """The one word shown for the account, the highest capability first."""
        if self.is_admin:
            return Role.ADMIN
        if self.is_mentor:
            return Role.MENTOR
        return Role.LEARNER

    @role.inplace.expression
    @classmethod
    def _role_expression(cls):
        # Constants written into the SQL, not bound: PostgreSQL only matches a GROUP BY to the
        # selected expression when the two are identical, parameters included.
        def word(role):
            return literal_column(f"'{role.value}'", String)

        return case(
            (cls.is_admin, word(Role.ADMIN)),
            (cls.teaching_enabled_at.is_not(None), word(Role.MENTOR)),
            else_=word(Role.LEARNER),
        )

    @property
    def capabilities(self):
        """Everything this account can do, in the order learner, mentor, admin."""
        held = {Role.LEARNER: True, Role.MENTOR: self.is_mentor, Role.ADMIN: self.is_admin}
        return [capability.value for capability in Role if held[capability]]

    def can(self, capability):
        """Whether the account has ``capability`` (a Role or its value)."""
        return Role(capability).value in self.capabilities

    @property
    def is_verified(self):
        return self.email_verified_at is not None

    @property
    def is_active(self):
        return self.suspended_at is None and self.deleted_at is None

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
