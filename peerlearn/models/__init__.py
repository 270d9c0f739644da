"""Every model, re-exported so Alembic and the rest of the app see all tables from one import."""

from .auth import AccountToken, AuthKind, AuthSession, TokenPurpose, hash_token
from .base import TimestampMixin, UTCDateTime, utcnow
from .email import EmailStatus, OutboundEmail
from .user import SELF_SERVICE_ROLES, Role, Skill, User, user_interests, user_skills

__all__ = [
    "SELF_SERVICE_ROLES",
    "AccountToken",
    "AuthKind",
    "AuthSession",
    "EmailStatus",
    "OutboundEmail",
    "Role",
    "Skill",
    "TimestampMixin",
    "TokenPurpose",
    "UTCDateTime",
    "User",
    "hash_token",
    "user_interests",
    "user_skills",
    "utcnow",
]
