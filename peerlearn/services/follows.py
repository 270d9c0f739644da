"""Following mentors: anyone signed in may follow a mentor (not themselves) and hears when the
mentor publishes a session. Following twice, or unfollowing someone not followed, changes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload, selectinload

from .. import events
from ..exceptions import Conflict
from ..extensions import db
from ..models import (
    Follow,
    InteractionKind,
    LearningSession,
    NotificationKind,
    NotificationPreference,
    SessionStatus,
    User,
    utcnow,
)
from . import interactions, notifications, outbox, reviews
from .notifications.kinds import follow_key
from .pagination import Page, paginate
from .people import active_mentor
from .search import as_cards, not_reserved


def follow(user, mentor_id, now=None):
    """Follow a mentor; returns ``(follow, created)``. The mentor is told of a new follower."""
    now = now or utcnow()
    mentor = active_mentor(mentor_id)
    if mentor.id == user.id:
        raise Conflict(_("You can't follow yourself."), code="cannot_follow_self")
    existing = db.session.get(Follow, (user.id, mentor.id))
    if existing is not None:
        return existing, False
    row = Follow(follower_id=user.id, mentor_id=mentor.id, created_at=now)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same follow sent twice at once: the other one is the answer
        db.session.rollback()
        existing = db.session.get(Follow, (user.id, mentor.id))
        if existing is None:
            raise
        return existing, False
    events.record("new_follower", mentor, user)
    interactions.record(user.id, InteractionKind.FOLLOW, mentor_id=mentor.id, now=now)
    db.session.commit()
    outbox.dispatch()
    events.record("learner_interests_changed", user.id)
    return row, True


def unfollow(user, mentor_id):
    """Stop following; True if the user was following. A followed mentor can always be
    unfollowed (even once suspended); otherwise an id that is no active mentor is 404.

    The mentor's notice of this follow is taken back if it has not reached them: its email, if
    still waiting, is dropped, and the notification, if unread, removed."""

    removed = db.session.execute(
        delete(Follow).where(Follow.follower_id == user.id, Follow.mentor_id == mentor_id)
    ).rowcount
    retracted = notifications.retract(mentor_id, follow_key(user.id, mentor_id)) if removed else None
    db.session.commit()
    if not removed:
        active_mentor(mentor_id)
        return False
    notifications.announce_removed(mentor_id, retracted)
    return True


def is_following(user, mentor_id):
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.get(Follow, (user.id, mentor_id)) is not None


def follower_count(mentor_id):
    """Followers with an active account."""
    return db.session.scalar(
        select(func.count())
        .select_from(Follow)
        .join(User, User.id == Follow.follower_id)
        .where(Follow.mentor_id == mentor_id, User.suspended_at.is_(None))
    )


def _followed(user):
    return (
        select(User)
        .join(Follow, Follow.mentor_id == User.id)
        .where(
            Follow.follower_id == user.id,
            User.is_mentor,
            User.suspended_at.is_(None),
        )
    )


@dataclass
class FollowedMentor:
    """One mentor a user follows, with their next sessions."""

    mentor: User
    followed_at: datetime
    rating: object = None  # reviews.Rating
    upcoming: list = field(default_factory=list)  # LearningSession, soonest first
    upcoming_total: int = 0


def following_with_upcoming(user, limit_per_mentor=3, *, page=1, per_page=20, now=None):
    """One page (services.pagination) of the mentors ``user`` follows, most recently followed
    first, each with their next ``limit_per_mentor`` published sessions that have not started,
    how many such sessions they have in all, and their rating. A fixed number of queries however
    many mentors are followed.
    """

    now = now or utcnow()
    mentors = paginate(
        _followed(user).options(selectinload(User.skills)).order_by(Follow.created_at.desc(), User.id.desc()),
        page=page,
        per_page=per_page,
    )
    followed_at = dict(
        db.session.execute(
            select(Follow.mentor_id, Follow.created_at).where(
                Follow.follower_id == user.id, Follow.mentor_id.in_([mentor.id for mentor in mentors.items])
            )
        ).all()
    )
    entries = [FollowedMentor(mentor, followed_at[mentor.id]) for mentor in mentors.items]
    found = Page(entries, mentors.total, mentors.page, mentors.per_page)
    if not entries:
        return found
    by_mentor = {entry.mentor.id: entry for entry in entries}
    ratings = reviews.mentor_ratings(list(by_mentor))
    for mentor_id, entry in by_mentor.items():
        entry.rating = ratings[mentor_id]
    if limit_per_mentor > 0:
        ranked = (
            select(
                LearningSession.id,
                func.row_number()
                .over(
                    partition_by=LearningSession.mentor_id,
                    order_by=(LearningSession.starts_at, LearningSession.id),
                )
                .label("position"),
                func.count().over(partition_by=LearningSession.mentor_id).label("total"),
            )
            .where(
                LearningSession.mentor_id.in_(list(by_mentor)),
                LearningSession.status == SessionStatus.SCHEDULED.value,
                LearningSession.starts_at > now,
                not_reserved(),  # one learner's private request: not for the mentor's followers
            )
            .subquery()
        )
        totals = {}
        for session_id, total in db.session.execute(
            select(ranked.c.id, ranked.c.total).where(ranked.c.position <= limit_per_mentor)
        ):
            totals[session_id] = total
        sessions = as_cards(
            select(LearningSession)
            .where(LearningSession.id.in_(list(totals)))
            .order_by(LearningSession.starts_at, LearningSession.id)
        )
        for session in sessions:
            entry = by_mentor[session.mentor_id]
            entry.upcoming.append(session)
            entry.upcoming_total = totals[session.id]
    return found


# ------------------------------------------------------------------------ a mentor publishes


def followers_to_tell(mentor_id, kind=NotificationKind.MENTOR_PUBLISHED):
    """``(user, in_app, by_email)`` for every active follower of a mentor, with each one's
    choice for ``kind`` read in the same query (no row: both on)."""
    rows = db.session.execute(
        select(User, NotificationPreference.in_app, NotificationPreference.email)
        .join(Follow, Follow.follower_id == User.id)
        .outerjoin(
            NotificationPreference,
            and_(NotificationPreference.user_id == User.id, NotificationPreference.kind == str(kind)),
        )
        .where(Follow.mentor_id == mentor_id, User.suspended_at.is_(None))
        .options(lazyload(User.skills), lazyload(User.interests))
        .order_by(User.id)
    )
    return [(user, in_app is not False, by_email is not False) for user, in_app, by_email in rows]


def tell_followers(session, mentor=None):
    """In the publishing transaction: every follower of the session's mentor gets a notification
    and, per their preferences, an email. Returns how many followers were told."""
    followers = followers_to_tell(session.mentor_id)
    if followers:
        events.record("mentor_published", session, mentor or session.mentor, followers)
    return len(followers)
