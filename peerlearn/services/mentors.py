"""The mentor directory (GET /mentors and GET /api/mentors/) and the figures of a mentor's public
profile.

Listed mentors are accounts with teaching on that are not suspended (and, with
LIST_VERIFIED_MENTORS_ONLY, verified by an admin), with or without sessions.

One page costs the same three statements whatever its size: the page's ids with their rating and
review count, the accounts with their next bookable session, and their skills. Sorting and
filtering read aggregates (ratings, each mentor's soonest bookable start) that the database
builds once per query with GROUP BY, from indexes that hold every column they read, and joins
by mentor; the next session's details are ranked for the page's mentors only. At 2,000 mentors,
20,000 sessions and 30,000 reviews a page takes tens of milliseconds on SQLite and PostgreSQL
(bench/mentors.py).

Language: accounts have no language of their own, sessions do. A mentor "teaches in" a language
when one of their sessions that was published (scheduled, live or completed) is in it.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import selectinload

from ..exceptions import ValidationError
from ..extensions import db
from ..inputs import arg_flag
from ..limits import CATALOG_PER_PAGE
from ..models import (
    Booking,
    BookingStatus,
    LearningSession,
    Review,
    SessionStatus,
    Skill,
    User,
    user_skills,
    utcnow,
)
from .reviews import Rating, visible
from .search import (
    _contains,
    bookable,
    not_reserved,
    parse_common_filters,
    search_terms,
)

# Sort keys accepted by the API and the directory page, with the label the page shows.
SORTS = {
    "rating": _l("Best rated"),
    "reviews": _l("Most reviews"),
    "price_asc": _l("Price: low to high"),
    "soonest": _l("Soonest available"),
}
AVAILABLE_DAYS = 7
# Sessions that took place or are published: what a mentor "teaches in".
TAUGHT_STATUSES = (SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value, SessionStatus.COMPLETED.value)
# 1 to 5, in digits: "4", "4.5" (the API document gives the same pattern).
_RATING = re.compile(r"([1-4](\.[0-9]{1,3})?|5(\.0{1,3})?)")


@dataclass(frozen=True)
class DirectoryParams:
    """A validated directory query. Prices are paise per hour."""

    q: str = ""
    skills: tuple[str, ...] = ()
    language: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    min_rating: float | None = None
    available: bool = False
    sort: str = "rating"
    page: int = 1
    per_page: int = CATALOG_PER_PAGE

    @property
    def terms(self):
        return search_terms(self.q)

    @property
    def is_filtered(self):
        return bool(
            self.terms
            or self.skills
            or self.language
            or self.price_min is not None
            or self.price_max is not None
            or self.min_rating is not None
            or self.available
        )


@dataclass(frozen=True)
class NextSession:
    id: int
    title: str
    starts_at: datetime
    price_paise: int


@dataclass(frozen=True)
class MentorCard:
    """A directory result: the account, its rating and its soonest bookable session (or None)."""

    mentor: User
    rating: Rating
    next_session: NextSession | None


def _min_rating(args, errors):
    value = args.get("min_rating")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _RATING.fullmatch(value):
        errors["min_rating"] = [_("Use a rating from 1 to 5, like 4 or 4.5.")]
        return None
    return float(value)


def parse_directory_params(args, *, rupees=False):
    """Read a directory query from request arguments (a MultiDict or a plain dict).

    API parameters: those of search.parse_common_filters with the directory's SORTS (prices
    are per hour), and ``min_rating`` (1-5) and ``available`` (a bookable session in the next 7
    days). Every bad value is reported at once in a ValidationError whose ``fields`` name the
    parameters.
    """
    errors = {}
    common = parse_common_filters(args, errors, sorts=SORTS, rupees=rupees)
    min_rating = _min_rating(args, errors)
    available = arg_flag(args, "available", errors, absent=False)
    if errors:
        raise ValidationError(_("Some mentor filters are not valid."), fields=errors)
    return DirectoryParams(**common, min_rating=min_rating, available=available)


def listed_mentors():
    """Accounts the directory may show."""
    conditions = [User.is_active_mentor]
    if current_app.config["LIST_VERIFIED_MENTORS_ONLY"]:
        conditions.append(User.mentor_verified_at.is_not(None))
    return conditions


def _with_skill(condition):
    return User.id.in_(
        select(user_skills.c.user_id).where(user_skills.c.skill_id.in_(select(Skill.id).where(condition)))
    )


def _ratings():
    return (
        select(
            Review.mentor_id.label("mentor_id"),
            func.avg(Review.rating).label("average"),
            func.count().label("count"),
        )
        .where(visible())
        .group_by(Review.mentor_id)
        .subquery("ratings")
    )


def _soonest_starts(now):
    """Each mentor's soonest start among the sessions a learner can book now.

    A plain GROUP BY, so both databases build it once and look each mentor up in it (SQLite
    with an automatic index). Ranking every bookable session per mentor in a window instead
    left SQLite scanning all of them once for each listed mentor (2.8 s for 2,000 mentors).
    """
    return (
        select(
            LearningSession.mentor_id.label("mentor_id"),
            func.min(LearningSession.starts_at).label("starts_at"),
        )
        .where(bookable(now), not_reserved(now))
        .group_by(LearningSession.mentor_id)
        .subquery("soonest")
    )


def _next_sessions(mentor_ids, now):
    """The soonest bookable session of each of ``mentor_ids`` (row 1 per mentor): only the
    page's mentors, so the window ranks a few dozen sessions at most."""
    ranked = (
        select(
            LearningSession.mentor_id.label("mentor_id"),
            LearningSession.id.label("session_id"),
            LearningSession.title.label("title"),
            LearningSession.starts_at.label("starts_at"),
            LearningSession.price_paise.label("price_paise"),
            func.row_number()
            .over(
                partition_by=LearningSession.mentor_id,
                order_by=(LearningSession.starts_at.asc(), LearningSession.id.asc()),
            )
            .label("position"),
        )
        .where(LearningSession.mentor_id.in_(mentor_ids), bookable(now), not_reserved(now))
        .subquery("ranked")
    )
    return select(ranked).where(ranked.c.position == 1).subquery("next_sessions")


def _ordering(sort, ratings, soonest):
    average, count = func.coalesce(ratings.c.average, 0), func.coalesce(ratings.c.count, 0)
    last = (User.id.asc(),)
    if sort == "reviews":
        return (count.desc(), average.desc(), *last)
    if sort == "price_asc":
        # A rate of 0 is a rate not set yet: those mentors come last, not first.
        return (case((User.hourly_rate_paise == 0, 1), else_=0), User.hourly_rate_paise.asc(), *last)
    if sort == "soonest":
        return (case((soonest.c.starts_at.is_(None), 1), else_=0), soonest.c.starts_at.asc(), *last)
    return (average.desc(), count.desc(), *last)


def search_mentors(params, *, now=None):
    """One page of listed mentors matching ``params`` as MentorCards, and how many match.

    The first statement sorts and filters every listed mentor by aggregates built once per
    query (ratings, soonest start) and returns the page's ids with the number of matches;
    the second loads the page's accounts with their next session; the third their skills.
    """
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    ratings, soonest = _ratings(), _soonest_starts(now)
    conditions = listed_mentors()
    for term in params.terms:
        conditions.append(
            or_(
                _contains(User.name, term, dialect),
                _contains(User.headline, term, dialect),
                _with_skill(_contains(Skill.name, term, dialect)),
            )
        )
    if params.skills:
        conditions.append(_with_skill(Skill.slug.in_(params.skills)))
    if params.language:
        conditions.append(
            User.id.in_(
                select(LearningSession.mentor_id).where(
                    LearningSession.language == params.language,
                    LearningSession.status.in_(TAUGHT_STATUSES),
                )
            )
        )
    if params.price_min is not None or params.price_max is not None:
        conditions.append(User.hourly_rate_paise > 0)
    if params.price_min is not None:
        conditions.append(User.hourly_rate_paise >= params.price_min)
    if params.price_max is not None:
        conditions.append(User.hourly_rate_paise <= params.price_max)
    if params.min_rating is not None:
        conditions.append(ratings.c.average >= params.min_rating)
    if params.available:
        conditions.append(soonest.c.starts_at < now + timedelta(days=AVAILABLE_DAYS))
    matching = select(User.id).outerjoin(ratings, ratings.c.mentor_id == User.id)
    if params.sort == "soonest" or params.available:
        # Other pages never read the soonest start: the database need not build it.
        matching = matching.outerjoin(soonest, soonest.c.mentor_id == User.id)
    matching = matching.where(*conditions)
    rows = db.session.execute(
        matching.add_columns(ratings.c.average, ratings.c.count, func.count().over().label("total"))
        .order_by(*_ordering(params.sort, ratings, soonest))
        .limit(params.per_page)
        .offset((params.page - 1) * params.per_page)
    ).all()
    if not rows:
        total = 0
        if params.page > 1:
            total = db.session.scalar(select(func.count()).select_from(matching.subquery()))
        return [], total
    ids = [row.id for row in rows]
    upcoming = _next_sessions(ids, now)
    users, next_sessions = {}, {}
    for user, session_id, title, starts_at, price_paise in db.session.execute(
        select(User, upcoming.c.session_id, upcoming.c.title, upcoming.c.starts_at, upcoming.c.price_paise)
        .outerjoin(upcoming, upcoming.c.mentor_id == User.id)
        .where(User.id.in_(ids))
        .options(selectinload(User.skills))  # the cards show them
    ):
        users[user.id] = user
        if session_id is not None:
            next_sessions[user.id] = NextSession(session_id, title, starts_at, price_paise)
    cards = []
    for row in rows:
        rating = Rating(None, 0) if not row.count else Rating(round(float(row.average), 2), int(row.count))
        cards.append(MentorCard(users[row.id], rating, next_sessions.get(row.id)))
    return cards, rows[0].total


@dataclass(frozen=True)
class MentorStats:
    """What a mentor's public profile counts: sessions held (completed), distinct learners who
    attended them, hours taught (the minutes the mentor was in the room, else the slot)."""

    sessions_held: int
    learners_taught: int
    minutes_taught: int

    @property
    def hours_taught(self):
        return round(self.minutes_taught / 60, 1)


def mentor_stats(mentor_id):
    held = and_(
        LearningSession.mentor_id == mentor_id, LearningSession.status == SessionStatus.COMPLETED.value
    )
    minutes_each = func.coalesce(LearningSession.mentor_present_minutes, LearningSession.duration_minutes)
    sessions_held, minutes = db.session.execute(
        select(func.count(LearningSession.id), func.coalesce(func.sum(minutes_each), 0)).where(held)
    ).one()
    learners = db.session.scalar(
        select(func.count(distinct(Booking.learner_id)))
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .where(held, Booking.status == BookingStatus.ATTENDED.value)
    )
    return MentorStats(int(sessions_held or 0), int(learners or 0), int(minutes or 0))
