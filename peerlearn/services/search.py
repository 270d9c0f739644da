"""Finding sessions: the catalog search behind the browse page, GET /api/sessions/ and the
"Upcoming sessions" and "Similar sessions" lists.

Only published sessions are listed: live ones, and scheduled ones that have not started yet.
Drafts are private, and cancelled or completed sessions stay reachable by their URL only.
Sessions of suspended mentors are not listed, nor, with LIST_VERIFIED_MENTORS_ONLY, those of
mentors no admin has verified.

Text search is a substring match that ignores the case of ASCII letters, with the user's ``%``
and ``_`` taken literally: LIKE on SQLite, ILIKE under the "C" collation on PostgreSQL, so both
databases return the same sessions (other letters, such as É or Devanagari, match as typed).
Each word of the query must appear in the title, the description, a skill name or the mentor's
name, so "python pandas" narrows rather than widens.
"""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select

from ..exceptions import ValidationError
from ..extensions import db
from ..formats import viewer_zone
from ..inputs import arg_day, arg_flag, arg_text, arg_whole
from ..limits import CATALOG_MAX_PAGE, CATALOG_MAX_PER_PAGE, CATALOG_PER_PAGE, MAX_QUERY_LENGTH
from ..ml.text import skill_slug, split_tags
from ..models import (
    CATEGORIES,
    LANGUAGES,
    LearningSession,
    Review,
    SessionLevel,
    SessionRequest,
    SessionStatus,
    Skill,
    User,
    session_skills,
    utcnow,
)
from .reviews import Rating

# Sort keys accepted by the API and the browse page, with the label the page shows.
SORTS = {
    "soonest": _l("Starting soonest"),
    "price_asc": _l("Price: low to high"),
    "price_desc": _l("Price: high to low"),
    "rating": _l("Mentor rating"),
    "popular": _l("Most popular"),
}
LEVELS = tuple(level.value for level in SessionLevel)
MAX_TERMS = 8
MAX_SKILL_FILTERS = 10
# The price filter's bound, far above any real seat price (₹1 crore, not the price cap): keeps
# comparisons inside a 32-bit integer column.
PRICE_FILTER_CEILING_PAISE = 1_000_000_000


def search_terms(q):
    """The distinct words of ``q`` (at most MAX_TERMS), each of which must match."""
    return tuple(dict.fromkeys(q.split()))[:MAX_TERMS]


@dataclass(frozen=True)
class SearchParams:
    """A validated catalog query. Prices are paise; dates are calendar days in the viewer's
    timezone, both ends included."""

    q: str = ""
    category: str | None = None
    skills: tuple[str, ...] = ()
    level: str | None = None
    language: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    free_only: bool = False
    date_from: date | None = None
    date_to: date | None = None
    has_seats: bool = False
    sort: str = "soonest"
    page: int = 1
    per_page: int = CATALOG_PER_PAGE

    @property
    def terms(self):
        return search_terms(self.q)

    @property
    def is_filtered(self):
        """True when anything narrows the catalog (sorting and paging do not)."""
        return bool(
            self.terms
            or self.category
            or self.skills
            or self.level
            or self.language
            or self.price_min is not None
            or self.price_max is not None
            or self.free_only
            or self.date_from
            or self.date_to
            or self.has_seats
        )

    def with_page(self, page):
        return replace(self, page=page)


def _all(args, name):
    getlist = getattr(args, "getlist", None)
    values = getlist(name) if getlist else [args.get(name)]
    return [v for v in values if isinstance(v, str)]


def _choice(args, name, choices, errors, message):
    value = arg_text(args, name)
    if not value:
        return None
    by_key = {choice.casefold(): choice for choice in choices}
    chosen = by_key.get(value.casefold())
    if chosen is None:
        errors[name] = [message]
    return chosen


def _rupees(args, name, errors):
    """A rupee amount typed in the browse form ("499" or "499.50"), as paise."""
    value = arg_text(args, name).replace(",", "")
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        errors[name] = [_("Enter an amount in rupees, like 500.")]
        return None
    paise = amount * 100
    if paise != paise.to_integral_value():
        errors[name] = [_("Use at most two decimal places.")]
        return None
    if paise > PRICE_FILTER_CEILING_PAISE:
        errors[name] = [_("That amount is too large.")]
        return None
    return int(paise)


def parse_common_filters(args, errors, *, sorts, rupees=False):
    """Read what the catalog and the mentor directory ask alike, as keyword arguments for
    SearchParams or DirectoryParams: ``q``, ``skills`` (comma-separated or repeated),
    ``language``, ``sort`` (a key of ``sorts``, the first when none is given), the price bounds,
    ``page`` and ``per_page`` (1-50).

    Price bounds are ``price_min``/``price_max`` in whole paise, or with ``rupees`` (the pages'
    forms) ``min_rupees``/``max_rupees`` in rupees. Each bad value adds its messages to
    ``errors`` under the parameter's name, and leaves the value unset.
    """
    q = " ".join(arg_text(args, "q").split())
    if len(q) > MAX_QUERY_LENGTH:
        errors["q"] = [_("Use at most %(num)s characters.", num=MAX_QUERY_LENGTH)]
        q = ""
    skill_names = split_tags(",".join(_all(args, "skills")))
    if len(skill_names) > MAX_SKILL_FILTERS:
        errors["skills"] = [_("Choose at most %(num)s skills.", num=MAX_SKILL_FILTERS)]
        skill_names = []
    language = _choice(args, "language", LANGUAGES, errors, _("Choose a language from the list."))
    sort = _choice(
        args, "sort", tuple(sorts), errors, _("Choose one of: %(choices)s.", choices=", ".join(sorts))
    )
    if rupees:
        min_name, max_name = "min_rupees", "max_rupees"
        price_min, price_max = _rupees(args, min_name, errors), _rupees(args, max_name, errors)
    else:
        min_name, max_name = "price_min", "price_max"
        message = _("Use a whole number of paise, 0 or more.")
        price_min = arg_whole(args, min_name, errors, 0, PRICE_FILTER_CEILING_PAISE, message)
        price_max = arg_whole(args, max_name, errors, 0, PRICE_FILTER_CEILING_PAISE, message)
    if price_min is not None and price_max is not None and price_min > price_max:
        errors[max_name] = [_("The maximum price is below the minimum.")]
    page = arg_whole(
        args,
        "page",
        errors,
        1,
        CATALOG_MAX_PAGE,
        _("Use a page number from 1 to %(num)s.", num=CATALOG_MAX_PAGE),
    )
    per_page = arg_whole(
        args,
        "per_page",
        errors,
        1,
        CATALOG_MAX_PER_PAGE,
        _("Use 1 to %(num)s per page.", num=CATALOG_MAX_PER_PAGE),
    )
    return {
        "q": q,
        "skills": tuple(skill_slug(name) for name in skill_names),
        "language": language,
        "price_min": price_min,
        "price_max": price_max,
        "sort": sort or next(iter(sorts)),
        "page": page or 1,
        "per_page": per_page or CATALOG_PER_PAGE,
    }


def parse_search_params(args, *, rupees=False):
    """Read a catalog query from request arguments (a MultiDict or a plain dict).

    API parameters: those of parse_common_filters with the catalog's SORTS, and ``category``,
    ``level``, ``free``, ``date_from``/``date_to`` (YYYY-MM-DD) and ``has_seats``. Unknown
    parameters are ignored; every bad value is reported at once in a ValidationError whose
    ``fields`` name the parameters.
    """
    errors = {}
    common = parse_common_filters(args, errors, sorts=SORTS, rupees=rupees)
    category = _choice(args, "category", CATEGORIES, errors, _("Choose a category from the list."))
    level = _choice(args, "level", LEVELS, errors, _("Choose a level from the list."))
    date_from, date_to = arg_day(args, "date_from", errors), arg_day(args, "date_to", errors)
    if date_from and date_to and date_from > date_to:
        errors["date_to"] = [_("The end date is before the start date.")]
    free_only = arg_flag(args, "free", errors, absent=False)
    has_seats = arg_flag(args, "has_seats", errors, absent=False)
    if errors:
        raise ValidationError(_("Some search filters are not valid."), fields=errors)
    return SearchParams(
        **common,
        category=category,
        level=level,
        free_only=free_only,
        date_from=date_from,
        date_to=date_to,
        has_seats=has_seats,
    )


def _listed(now):
    """Sessions anyone can find: live, or scheduled and not started yet."""
    return or_(
        LearningSession.status == SessionStatus.LIVE.value,
        and_(LearningSession.status == SessionStatus.SCHEDULED.value, LearningSession.starts_at > now),
    )


def bookable(now):
    return and_(
        LearningSession.status == SessionStatus.SCHEDULED.value,
        LearningSession.starts_at > now,
        LearningSession.seats_taken < LearningSession.capacity,
    )


def mentor_active():
    """Sessions whose mentor may be listed: not suspended, and verified by an admin when
    LIST_VERIFIED_MENTORS_ONLY is set."""
    if current_app.config["LIST_VERIFIED_MENTORS_ONLY"]:
        listed = select(User.id).where(User.suspended_at.is_(None), User.mentor_verified_at.is_not(None))
        return LearningSession.mentor_id.in_(listed)
    # A short list the database builds once per query, instead of a users lookup per session.
    return LearningSession.mentor_id.not_in(select(User.id).where(User.suspended_at.is_not(None)))


def not_reserved(now=None):
    """Leaves out every session a mentor made from a learner's request, before and after that
    learner books and whatever became of the request: its title and description are the
    learner's own words from a private request, so no public list shows them (the catalog,
    the landing page, similar sessions, recommendations, a mentor's profile). Its learner
    reaches it from the request; its mentor from their own sessions."""
    made_for_requests = select(SessionRequest.session_id).where(SessionRequest.session_id.is_not(None))
    return LearningSession.id.not_in(made_for_requests)


def _with_skills(skill_condition):
    return LearningSession.id.in_(
        select(session_skills.c.session_id).where(
            session_skills.c.skill_id.in_(select(Skill.id).where(skill_condition))
        )
    )


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column, term, dialect):
    """``column`` contains ``term``, ignoring the case of ASCII letters on both databases.

    SQLite's LIKE ignores ASCII case only. On PostgreSQL, ILIKE under the "C" collation does the
    same, and is about four times faster than under a UTF-8 locale, whose per-character case
    folding dominated the catalog benchmark.
    """
    pattern = f"%{_escape_like(term)}%"
    if dialect == "postgresql":
        return column.collate("C").ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")


def _term_matches(term, dialect):
    # Cheap columns first: the long description is only read for sessions nothing else matched.
    return or_(
        _contains(LearningSession.title, term, dialect),
        _with_skills(_contains(Skill.name, term, dialect)),
        LearningSession.mentor_id.in_(select(User.id).where(_contains(User.name, term, dialect))),
        _contains(LearningSession.description, term, dialect),
    )


def _conditions(params, zone, now, dialect):
    conditions = [_listed(now), mentor_active(), not_reserved(now)]
    conditions.extend(_term_matches(term, dialect) for term in params.terms)
    if params.category:
        conditions.append(LearningSession.category == params.category)
    if params.skills:
        conditions.append(_with_skills(Skill.slug.in_(params.skills)))
    if params.level:
        # A session for all levels suits every learner, whichever level they pick.
        conditions.append(LearningSession.level.in_(sorted({params.level, SessionLevel.ALL.value})))
    if params.language:
        conditions.append(LearningSession.language == params.language)
    if params.free_only:
        conditions.append(LearningSession.price_paise == 0)
    if params.price_min is not None:
        conditions.append(LearningSession.price_paise >= params.price_min)
    if params.price_max is not None:
        conditions.append(LearningSession.price_paise <= params.price_max)
    if params.date_from:
        start = datetime.combine(params.date_from, time.min, tzinfo=zone).astimezone(UTC)
        conditions.append(LearningSession.starts_at >= start)
    if params.date_to:
        end = datetime.combine(params.date_to + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
        conditions.append(LearningSession.starts_at < end)
    if params.has_seats:
        conditions.append(bookable(now))
    return conditions


def _ordering(sort):
    """ORDER BY for a sort key; ties always fall back to the start time, then the id.

    "rating" orders by the mentor's average of visible (not hidden) reviews, best first, then by
    how many reviews it rests on, then like "popular"; mentors without reviews come last.
    """
    soonest = (LearningSession.starts_at.asc(), LearningSession.id.asc())
    if sort == "price_asc":
        return (LearningSession.price_paise.asc(), *soonest)
    if sort == "price_desc":
        return (LearningSession.price_paise.desc(), *soonest)
    if sort == "popular":
        return (LearningSession.seats_taken.desc(), *soonest)
    if sort == "rating":
        average, count = _mentor_rating()
        return (
            func.coalesce(average, 0).desc(),
            count.desc(),
            LearningSession.seats_taken.desc(),
            *soonest,
        )
    return soonest


def _mentor_rating():
    """The session's mentor's average visible rating and review count, as correlated subqueries
    (the reviews' (mentor_id, hidden_at, rating) index answers both without reading the table)."""
    of_mentor = (Review.mentor_id == LearningSession.mentor_id, Review.hidden_at.is_(None))
    average = select(func.avg(Review.rating)).where(*of_mentor).correlate(LearningSession)
    count = select(func.count()).where(*of_mentor).correlate(LearningSession)
    return average.scalar_subquery(), count.scalar_subquery()


def as_cards(statement):
    """Sessions as cards show them: the mentor joined in, the mentor's rating read in the same
    statement (each session's ``card_rating``, a reviews.Rating) and the skills in one extra
    query (the mentor's own skill lists load only when read, and no card reads them)."""
    rows = db.session.execute(statement.add_columns(*_mentor_rating())).all()
    sessions = []
    for session, average, count in rows:
        session.card_rating = Rating(round(float(average), 2) if count else None, int(count or 0))
        sessions.append(session)
    return sessions


def search_sessions(params, *, viewer=None, now=None):
    """One page of listed sessions matching ``params`` and the total number that match.

    Date filters are read in ``viewer``'s timezone (the site default when anonymous).
    Returns ``(items, total)``.
    """
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    conditions = _conditions(params, viewer_zone(viewer), now, dialect)
    offset = (params.page - 1) * params.per_page
    # One pass over the catalog finds the page's ids and, alongside, the number of matches.
    rows = db.session.execute(
        select(LearningSession.id, func.count().over().label("total"))
        .where(*conditions)
        .order_by(*_ordering(params.sort))
        .limit(params.per_page)
        .offset(offset)
    ).all()
    if not rows:
        total = 0
        if offset:
            total = db.session.scalar(select(func.count(LearningSession.id)).where(*conditions))
        return [], total
    ids = [row.id for row in rows]
    by_id = {s.id: s for s in as_cards(select(LearningSession).where(LearningSession.id.in_(ids)))}
    return [by_id[session_id] for session_id in ids], rows[0].total


def featured_sessions(limit=6, *, now=None):
    """Scheduled sessions starting soonest that still have seats (the landing page's list)."""
    now = now or utcnow()
    return as_cards(
        select(LearningSession)
        .where(bookable(now), mentor_active(), not_reserved(now))
        .order_by(LearningSession.starts_at.asc(), LearningSession.id.asc())
        .limit(limit)
    )


def similar_sessions(session, limit=3, *, now=None):
    """Listed sessions closest to ``session``: the most shared skills first, then the same
    category, then the soonest. Sessions sharing neither are left out."""
    now = now or utcnow()
    skill_ids = [skill.id for skill in session.skills]
    same_category = LearningSession.category == session.category
    statement = select(LearningSession).where(
        _listed(now), mentor_active(), not_reserved(now), LearningSession.id != session.id
    )
    order = [case((same_category, 0), else_=1)]
    if skill_ids:
        shared = (
            select(session_skills.c.session_id, func.count().label("shared"))
            .where(session_skills.c.skill_id.in_(skill_ids))
            .group_by(session_skills.c.session_id)
            .subquery()
        )
        statement = statement.outerjoin(shared, shared.c.session_id == LearningSession.id).where(
            or_(shared.c.shared > 0, same_category)
        )
        order.insert(0, func.coalesce(shared.c.shared, 0).desc())
    else:
        statement = statement.where(same_category)
    order += [LearningSession.starts_at.asc(), LearningSession.id.asc()]
    return as_cards(statement.order_by(*order).limit(limit))


def upcoming_sessions_of(mentor_id, *, limit=6, now=None):
    """A mentor's published sessions that have not started yet, soonest first."""
    now = now or utcnow()
    return as_cards(
        select(LearningSession)
        .where(
            LearningSession.mentor_id == mentor_id,
            LearningSession.status == SessionStatus.SCHEDULED.value,
            LearningSession.starts_at > now,
            not_reserved(),
        )
        .order_by(LearningSession.starts_at, LearningSession.id)
        .limit(limit)
    )
