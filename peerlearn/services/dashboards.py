"""The figures of the learner, mentor and admin dashboards, computed from the database on each request.

Every figure is an aggregate (COUNT/SUM/AVG with GROUP BY in the database), so a dashboard costs
the same number of statements for a mentor with 5 sessions or 500. Charts cover a window of
recent periods (weeks from Monday, calendar months) in the viewer's timezone: the period
boundaries are computed here and handed to the database as a CASE over the timestamp, which
works alike on SQLite and PostgreSQL and stays right across daylight-saving changes.

Definitions (the docs and the tests use the same words):

- booked: a booking that is confirmed, attended or no_show (a paid or free seat that was kept).
- minutes learned: a learner's time in the rooms of completed sessions while each ran (going
  live to its end), overlapping stays counted once; over the same sessions as "sessions
  completed" (attended and completed).
- conversion: booked seats / session page views by signed-in users (``Interaction`` "view" rows).
- attendance rate: attended / (attended + no_show).
- repeat learners: learners with two or more booked seats with the mentor.
- earnings: the mentor's share of held (completed) sessions, bookings and gifts, net of refunds,
  in the period the session ended (``services.earnings``, which also defines the money states).
- platform revenue: platform fee ledger entries net of fee reversals.
- gross booking value: the amount of every captured booking payment, refunded later or not.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, distinct, func, or_, select, true
from sqlalchemy.orm import defaultload, lazyload

from ..extensions import db
from ..models import (
    Attendance,
    Booking,
    BookingStatus,
    EntryKind,
    Follow,
    Interaction,
    InteractionKind,
    LearningSession,
    LedgerEntry,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    Refund,
    RefundStatus,
    RequestStatus,
    Review,
    Role,
    RoomRemoval,
    SessionRequest,
    SessionStatus,
    Skill,
    User,
    session_skills,
    user_skills,
    utcnow,
)
from ..periods import local_midnight, month_periods, week_periods
from ..tasks import failed_job_count
from . import earnings, room
from .sessions import is_live_now

UPCOMING_LIMIT = 5
CONVERSION_SESSIONS = 12
SKILL_SERIES = 6  # skills drawn separately in the learner's chart; the rest are "Other skills"
OTHER_SKILLS = _l("Other skills")
# The longest a session lasts (the sessions' duration check): a session that started longer ago
# than this plus the room's grace time is over.
LONGEST_SESSION = timedelta(minutes=480)

BOOKED_STATUSES = (BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value, BookingStatus.NO_SHOW.value)
CAPTURED_STATUSES = (
    PaymentStatus.CAPTURED.value,
    PaymentStatus.PARTIALLY_REFUNDED.value,
    PaymentStatus.REFUNDED.value,
)
FEE_KINDS = (EntryKind.PLATFORM_FEE.value, EntryKind.FEE_REVERSAL.value)
ANALYSED_SESSION_STATUSES = (
    SessionStatus.SCHEDULED.value,
    SessionStatus.LIVE.value,
    SessionStatus.COMPLETED.value,
)


def _bucket(column, periods):
    """The index of the period ``column`` falls in: NULL before the first, and the last for
    anything after its start (queries keep to ``_in_window``). The latest period is tested first,
    one comparison each, as recent rows are the most numerous."""
    return case(
        *((column >= period.start, index) for index, period in reversed(list(enumerate(periods))))
    ).label("bucket")


def _in_window(column, periods):
    return and_(column >= periods[0].start, column < periods[-1].end)


# Statements built once and run with parameters. SQLAlchemy keeps a statement's cache key on the
# statement object, so a prebuilt statement skips both building the expression and working out
# its key, which for these aggregates costs more CPU than running them (about 0.8 of 1 ms).
_PREBUILT = {}


def _prebuilt(key, build):
    statement = _PREBUILT.get(key)
    if statement is None:
        statement = _PREBUILT[key] = build()
    return statement


def _bucket_param(column, count, prefix):
    """``_bucket`` over ``count`` periods whose starts are the parameters ``<prefix>0`` ..."""
    return case(
        *((column >= bindparam(f"{prefix}{index}"), index) for index in reversed(range(count)))
    ).label("bucket")


def _window_param(column, prefix):
    """``_in_window`` with the window's ends as the parameters ``<prefix>0`` and ``<prefix>end``."""
    return and_(column >= bindparam(f"{prefix}0"), column < bindparam(f"{prefix}end"))


def _period_params(periods, prefix):
    return {f"{prefix}{index}": period.start for index, period in enumerate(periods)} | {
        f"{prefix}end": periods[-1].end
    }


def _series(periods, rows, default=0):
    """[(bucket index, value)] -> one value per period, ``default`` where there is none."""
    values = [default] * len(periods)
    for index, value in rows:
        if index is not None:
            values[int(index)] = value
    return values


def _period_axis(periods):
    return {"periods": [p.key for p in periods], "labels": [p.label for p in periods]}


# A dashboard's session lists show titles and the mentor's name: not the skill lists of either.
_BOOKING_LOADS = (
    defaultload(Booking.session).lazyload(LearningSession.skills),
    defaultload(Booking.session).defaultload(LearningSession.mentor).lazyload(User.skills),
    defaultload(Booking.session).defaultload(LearningSession.mentor).lazyload(User.interests),
    lazyload(Booking.learner),
)


def _grace():
    return timedelta(minutes=current_app.config["ROOM_GRACE_MINUTES"])


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


# --- Learners ------------------------------------------------------------------------------


def learner_dashboard(learner, *, now=None, tz=None, with_profile=False):
    """The learner's home. ``with_profile`` adds ``profile``: what the profile checklist needs
    (how many skills the learner listed), read in the same statement as a figure."""
    now = now or utcnow()
    tz = tz or learner.timezone
    upcoming, upcoming_total = learner_upcoming(learner, now=now)
    completed, skills = _learner_counts(learner.id)
    data = {
        "upcoming": upcoming,
        "figures": {**_learner_figures(completed, learner.id), "upcoming_bookings": upcoming_total},
        "skills_by_month": skills_practised(learner, now=now, tz=tz),
    }
    if with_profile:
        data["profile"] = {"skills": skills}
    return data


def learner_upcoming(learner, *, now=None, limit=UPCOMING_LIMIT):
    """The learner's seats in sessions that are not over yet, soonest first, with when the room
    opens and closes (a session in progress stays, and so does its Join button), and how many
    there are in all. Seats held for payment count while the hold lasts."""
    now = now or utcnow()
    rows = db.session.execute(
        _prebuilt("learner_upcoming", _learner_upcoming_statement),
        {"learner_id": learner.id, "now": now, "since": now - LONGEST_SESSION - _grace()},
    )
    bookings = [(booking, removed) for booking, removed in rows if room.closes_at(booking.session) > now]
    shown = bookings[:limit]
    removed = {booking.session_id for booking, was_removed in shown if was_removed}
    items = []
    for booking, _removed in shown:
        session = booking.session
        opens_at, closes_at = room.opens_at(session), room.closes_at(session)
        confirmed = booking.status == BookingStatus.CONFIRMED
        items.append(
            {
                "booking_id": booking.id,
                "status": booking.status,
                "hold_expires_at": booking.hold_expires_at,
                "session_id": session.id,
                "title": session.title,
                "session_status": session.status,
                "starts_at": session.starts_at,
                "ends_at": session.ends_at,
                "mentor_id": session.mentor_id,
                "mentor_name": session.mentor.name,
                "room_opens_at": opens_at,
                "room_closes_at": closes_at,
                # Whether the Join button shows; the page's countdown shows it when the room opens.
                "can_join": confirmed and session.id not in removed and opens_at <= now < closes_at,
                "removed": session.id in removed,
            }
        )
    return items, len(bookings)


def _learner_upcoming_statement():
    # Whether the mentor removed the learner from the room, read with each seat.
    removed = (
        select(RoomRemoval.session_id)
        .where(RoomRemoval.user_id == Booking.learner_id, RoomRemoval.session_id == Booking.session_id)
        .exists()
    )
    return (
        select(Booking, removed)
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .where(
            Booking.learner_id == bindparam("learner_id"),
            or_(
                Booking.status == BookingStatus.CONFIRMED.value,
                and_(
                    Booking.status == BookingStatus.PENDING_PAYMENT.value,
                    Booking.hold_expires_at > bindparam("now"),
                ),
            ),
            LearningSession.status.in_((SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value)),
            LearningSession.starts_at > bindparam("since"),
        )
        .options(*_BOOKING_LOADS)
        .order_by(LearningSession.starts_at, Booking.id)
    )


def learner_figures(learner):
    return _learner_figures(_learner_counts(learner.id)[0], learner.id)


def _learner_counts(learner_id):
    """(sessions completed, how many skills the learner listed), in one statement. Completed
    sessions are the same as minutes_learned's: attended, and completed (held)."""
    completed, skills = db.session.execute(
        _prebuilt("learner_counts", _learner_counts_statement), {"learner_id": learner_id}
    ).one()
    return int(completed), int(skills)


def _learner_counts_statement():
    learner_id = bindparam("learner_id")
    completed = (
        select(func.count(Booking.id))
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .where(
            Booking.learner_id == learner_id,
            Booking.status == BookingStatus.ATTENDED.value,
            LearningSession.status == SessionStatus.COMPLETED.value,
        )
        .scalar_subquery()
    )
    skills = select(func.count()).select_from(user_skills).where(user_skills.c.user_id == learner_id)
    return select(completed, skills.scalar_subquery())


def _learner_figures(completed, learner_id):
    minutes = minutes_learned(learner_id)
    return {
        "minutes_learned": minutes,
        "hours_learned": round(minutes / 60, 1),
        "sessions_completed": completed,
    }


def minutes_learned(learner_id):
    """Whole minutes the learner spent in the rooms of completed sessions while each ran (from
    going live to its end; the scheduled slot where those were not recorded), overlapping stays
    counted once. A session its mentor started early counts from then: a learner who was in the
    room for all of it has learned for all of it."""
    rows = db.session.execute(_prebuilt("minutes_learned", _minutes_statement), {"learner_id": learner_id})
    total, current, cursor = timedelta(0), None, None
    for session_id, joined, left, starts_at, duration, started_at, ended_at in rows:
        ends_at = ended_at or starts_at + timedelta(minutes=duration)
        if session_id != current:
            current, cursor = session_id, started_at or starts_at
        start, end = max(joined, cursor), min(left or ends_at, ends_at)
        if end > start:
            total += end - start
            cursor = end
    return int(total.total_seconds() // 60)


def _minutes_statement():
    learner_id = bindparam("learner_id")
    return (
        select(
            Attendance.session_id,
            Attendance.joined_at,
            Attendance.left_at,
            LearningSession.starts_at,
            LearningSession.duration_minutes,
            LearningSession.started_at,
            LearningSession.ended_at,
        )
        .join(LearningSession, LearningSession.id == Attendance.session_id)
        .where(
            Attendance.user_id == learner_id,
            LearningSession.status == SessionStatus.COMPLETED.value,
            LearningSession.mentor_id != learner_id,
        )
        .order_by(Attendance.session_id, Attendance.joined_at, Attendance.id)
    )


def skills_practised(learner, *, now=None, tz=None):
    """Per month (of the session's start), how many attended sessions practised each skill.
    The most practised skills get a series each, the rest are summed into "Other skills"."""
    now = now or utcnow()
    periods = month_periods(now, tz or learner.timezone)
    rows = db.session.execute(
        _prebuilt(("skills_practised", len(periods)), lambda: _skills_statement(len(periods))),
        {"learner_id": learner.id, **_period_params(periods, "month")},
    ).all()
    by_skill = {}
    for bucket, skill, count in rows:
        by_skill.setdefault(skill, [0] * len(periods))[int(bucket)] += int(count)
    ranked = sorted(by_skill, key=lambda name: (-sum(by_skill[name]), name.lower()))
    series = [{"skill": name, "counts": by_skill[name]} for name in ranked[:SKILL_SERIES]]
    if len(ranked) > SKILL_SERIES:
        other = [sum(by_skill[name][i] for name in ranked[SKILL_SERIES:]) for i in range(len(periods))]
        series.append({"skill": str(OTHER_SKILLS), "counts": other})
    return {**_period_axis(periods), "series": series, "skills": len(ranked)}


def _skills_statement(months):
    inner = (
        select(
            _bucket_param(LearningSession.starts_at, months, "month"),
            Skill.name.label("skill"),
            LearningSession.id.label("session_id"),
        )
        .select_from(Booking)
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .join(session_skills, session_skills.c.session_id == LearningSession.id)
        .join(Skill, Skill.id == session_skills.c.skill_id)
        .where(
            Booking.learner_id == bindparam("learner_id"),
            Booking.status == BookingStatus.ATTENDED.value,
            _window_param(LearningSession.starts_at, "month"),
        )
        .subquery()
    )
    return select(inner.c.bucket, inner.c.skill, func.count(distinct(inner.c.session_id))).group_by(
        inner.c.bucket, inner.c.skill
    )


# --- Mentors -------------------------------------------------------------------------------


def mentor_dashboard(mentor, *, now=None, tz=None, with_profile=False):
    """The mentor's home. ``with_profile`` adds ``profile``: what the page says of the profile
    (how many skills the mentor listed), read in the same statement as the figures."""
    now = now or utcnow()
    tz = tz or mentor.timezone
    weeks, months = week_periods(now, tz), month_periods(now, tz)
    money = earnings.load(mentor.id, now=now, tz=tz)
    by_week, by_month = earnings_by_weeks_and_months(mentor.id, weeks, months, money=money)
    sessions = mentor_sessions(mentor, now=now, tz=tz)
    conversion, attendance = session_analytics(mentor.id)
    figures = mentor_figures(mentor.id, now=now)
    data = {
        "figures": {
            "earnings_this_month_paise": money.earned_this_month(),
            "currency": "INR",
            "upcoming_sessions": sessions["counts"]["upcoming"],
            "rating": figures["rating"],
            "followers": figures["followers"],
            "pending_requests": figures["pending_requests"],
        },
        "sessions": sessions,
        "conversion": conversion,
        "attendance": attendance,
        "repeat_learners": figures["repeat_learners"],
        "rating_by_month": rating_by_month(mentor.id, months),
        "money": money.summary(),
        "earnings_by_week": {**_period_axis(weeks), **by_week},
        "earnings_by_month": {**_period_axis(months), **by_month},
    }
    if with_profile:
        data["profile"] = {"skills": figures["skills"]}
    return data


def mentor_figures(mentor_id, *, now=None):
    """The mentor's single figures in one statement: the rating of visible reviews, followers,
    pending requests, repeat learners, and how many skills the mentor listed. Each aggregate is a
    one-row subquery (or a scalar one), so joining them gives exactly one row."""
    row = db.session.execute(
        _prebuilt("mentor_figures", _mentor_figures_statement),
        {"mentor_id": mentor_id, "now": now or utcnow()},
    ).one()
    return {
        "rating": _rating_json(row.average, row.count),
        "followers": int(row.followers),
        "pending_requests": int(row.pending),
        "repeat_learners": _repeat_json(row.learners, row.repeat),
        "skills": int(row.skills),
    }


def _mentor_figures_statement():
    mentor_id = bindparam("mentor_id")
    ratings = _rating_of(mentor_id).subquery()
    repeat = _repeat_learners_of(mentor_id).subquery()
    followers = select(func.count()).select_from(Follow).where(Follow.mentor_id == mentor_id)
    skills = select(func.count()).select_from(user_skills).where(user_skills.c.user_id == mentor_id)
    return (
        select(
            ratings.c.average,
            ratings.c.count,
            repeat.c.learners,
            repeat.c.repeat,
            followers.scalar_subquery().label("followers"),
            _pending_requests_of(mentor_id, bindparam("now")).scalar_subquery().label("pending"),
            skills.scalar_subquery().label("skills"),
        )
        .select_from(ratings)
        .join(repeat, true())
    )


def _session_row(session, now):
    opens_at, closes_at = room.opens_at(session), room.closes_at(session)
    return {
        "session_id": session.id,
        "title": session.title,
        "status": session.status,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "seats_taken": session.seats_taken,
        "capacity": session.capacity,
        "price_paise": session.price_paise,
        "room_opens_at": opens_at,
        "room_closes_at": closes_at,
        # The Go live button: a scheduled session inside its room's window.
        "can_go_live": session.status == SessionStatus.SCHEDULED and opens_at <= now < closes_at,
        # Live, and its room still open (the sweep completes a session soon after it closes).
        "is_live": is_live_now(session, now),
    }


def mentor_sessions(mentor, *, now=None, tz=None, limit=UPCOMING_LIMIT):
    """Today's sessions (and any live one), the next ones after today, and how many sessions the
    mentor has in each state. Booked counts are the sessions' ``seats_taken``."""
    now = now or utcnow()
    zone = ZoneInfo(tz or mentor.timezone)
    today = now.astimezone(zone).date()
    day_start, day_end = local_midnight(today, zone), local_midnight(today + timedelta(days=1), zone)
    todays, upcoming = [], []
    for session, is_later in db.session.execute(
        _prebuilt(("mentor_sessions", limit), lambda: _mentor_sessions_statement(limit)),
        {"mentor_id": mentor.id, "day_start": day_start, "day_end": day_end},
    ):
        (upcoming if is_later else todays).append(session)
    by_state = {
        (status, int(is_future)): int(count)
        for status, is_future, count in db.session.execute(
            _prebuilt("mentor_session_states", _session_states_statement),
            {"mentor_id": mentor.id, "now": now},
        )
    }

    def total(status):
        return by_state.get((status, 0), 0) + by_state.get((status, 1), 0)

    return {
        "today": [_session_row(s, now) for s in todays],
        "upcoming": [_session_row(s, now) for s in upcoming],
        "counts": {
            "upcoming": by_state.get((SessionStatus.SCHEDULED.value, 1), 0),
            "live": total(SessionStatus.LIVE.value),
            "drafts": total(SessionStatus.DRAFT.value),
            "completed": total(SessionStatus.COMPLETED.value),
            "cancelled": total(SessionStatus.CANCELLED.value),
        },
    }


def _mentor_sessions_statement(limit):
    """One statement for both lists: today's sessions (and any live one), and the first ``limit``
    scheduled after today, numbered apart by a window function."""
    day_start, day_end = bindparam("day_start"), bindparam("day_end")
    scheduled = LearningSession.status == SessionStatus.SCHEDULED.value
    later = case((and_(scheduled, LearningSession.starts_at >= day_end), 1), else_=0)
    ranked = (
        select(
            LearningSession.id.label("id"),
            later.label("later"),
            func.row_number()
            .over(partition_by=later, order_by=(LearningSession.starts_at, LearningSession.id))
            .label("position"),
        )
        .where(
            LearningSession.mentor_id == bindparam("mentor_id"),
            or_(
                LearningSession.status == SessionStatus.LIVE.value,
                and_(scheduled, LearningSession.starts_at >= day_start),
            ),
        )
        .subquery()
    )
    # The mentor is the viewer: nothing to load with each session.
    return (
        select(LearningSession, ranked.c.later)
        .join(ranked, ranked.c.id == LearningSession.id)
        .where(or_(ranked.c.later == 0, ranked.c.position <= limit))
        .options(lazyload(LearningSession.mentor), lazyload(LearningSession.skills))
        .order_by(LearningSession.starts_at, LearningSession.id)
    )


def _session_states_statement():
    future = case((LearningSession.starts_at > bindparam("now"), 1), else_=0).label("future")
    inner = (
        select(LearningSession.status.label("status"), future)
        .where(LearningSession.mentor_id == bindparam("mentor_id"))
        .subquery()
    )
    return select(inner.c.status, inner.c.future, func.count()).group_by(inner.c.status, inner.c.future)


def _rating_of(mentor_id):
    return select(func.avg(Review.rating).label("average"), func.count(Review.id).label("count")).where(
        Review.mentor_id == mentor_id, Review.hidden_at.is_(None)
    )


def _rating_json(average, count):
    return {"average": round(float(average), 2) if count else None, "count": int(count)}


def mentor_rating(mentor_id):
    """The average of the mentor's visible reviews (hidden ones never count), and how many."""
    return _rating_json(*db.session.execute(_rating_of(mentor_id)).one())


def follower_count(mentor_id):
    return int(
        db.session.scalar(select(func.count()).select_from(Follow).where(Follow.mentor_id == mentor_id))
    )


def _pending_requests_of(mentor_id, now):
    return select(func.count(SessionRequest.id)).where(
        SessionRequest.mentor_id == mentor_id,
        SessionRequest.status == RequestStatus.PENDING.value,
        SessionRequest.expires_at > now,
    )


def pending_request_count(mentor_id, *, now=None):
    return int(db.session.scalar(_pending_requests_of(mentor_id, now or utcnow())))


def _views_of(mentor_id):
    return (
        select(Interaction.session_id.label("session_id"), func.count(Interaction.id).label("views"))
        .join(LearningSession, LearningSession.id == Interaction.session_id)
        .where(
            LearningSession.mentor_id == mentor_id,
            LearningSession.status.in_(ANALYSED_SESSION_STATUSES),
            Interaction.kind == InteractionKind.VIEW.value,
        )
        .group_by(Interaction.session_id)
        .subquery()
    )


def _seats_of(mentor_id):
    """Per session: booked seats, and how many of them attended or did not come."""

    def seats(*statuses):
        return func.sum(case((Booking.status.in_(statuses), 1), else_=0))

    return (
        select(
            Booking.session_id.label("session_id"),
            seats(*BOOKED_STATUSES).label("bookings"),
            seats(BookingStatus.ATTENDED.value).label("attended"),
            seats(BookingStatus.NO_SHOW.value).label("no_show"),
        )
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .where(
            LearningSession.mentor_id == mentor_id,
            LearningSession.status.in_(ANALYSED_SESSION_STATUSES),
            Booking.status.in_(BOOKED_STATUSES),
        )
        .group_by(Booking.session_id)
        .subquery()
    )


def session_analytics(mentor_id, *, limit=CONVERSION_SESSIONS):
    """Views against booked seats over all the mentor's published sessions that were not
    cancelled, and per session for the ``limit`` latest by start; the attendance rate of the
    settled seats. One statement, one row per session: views and seats are grouped by session
    in the database, the totals added up here."""
    rows = db.session.execute(
        _prebuilt("session_analytics", _analytics_statement), {"mentor_id": mentor_id}
    ).all()
    total_views = sum(int(row[4]) for row in rows)
    total_bookings = sum(int(row[5]) for row in rows)
    attended = sum(int(row[6]) for row in rows)
    no_show = sum(int(row[7]) for row in rows)
    latest = sorted(rows, key=lambda row: (row[2], row[0]), reverse=True)[:limit]
    conversion = {
        "views": total_views,
        "bookings": total_bookings,
        "rate": _rate(total_bookings, total_views),
        # Oldest first, as the chart reads left to right.
        "sessions": [
            {
                "session_id": session_id,
                "title": title,
                "starts_at": starts_at,
                "status": status,
                "views": int(n_views),
                "bookings": int(n_bookings),
                "rate": _rate(int(n_bookings), int(n_views)),
            }
            for session_id, title, starts_at, status, n_views, n_bookings, _a, _n in reversed(latest)
        ],
    }
    attendance = {"attended": attended, "no_show": no_show, "rate": _rate(attended, attended + no_show)}
    return conversion, attendance


def _repeat_learners_of(mentor_id):
    """One row: how many learners booked with the mentor, and how many of them at least twice."""
    per_learner = (
        select(Booking.learner_id, func.count(Booking.id).label("seats"))
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .where(LearningSession.mentor_id == mentor_id, Booking.status.in_(BOOKED_STATUSES))
        .group_by(Booking.learner_id)
        .subquery()
    )
    return select(
        func.count().label("learners"),
        func.coalesce(func.sum(case((per_learner.c.seats >= 2, 1), else_=0)), 0).label("repeat"),
    ).select_from(per_learner)


def _repeat_json(learners, repeat):
    return {"learners": int(learners), "repeat": int(repeat), "rate": _rate(int(repeat), int(learners))}


def _analytics_statement():
    mentor_id = bindparam("mentor_id")
    views, seats = _views_of(mentor_id), _seats_of(mentor_id)
    return (
        select(
            LearningSession.id,
            LearningSession.title,
            LearningSession.starts_at,
            LearningSession.status,
            func.coalesce(views.c.views, 0),
            func.coalesce(seats.c.bookings, 0),
            func.coalesce(seats.c.attended, 0),
            func.coalesce(seats.c.no_show, 0),
        )
        .outerjoin(views, views.c.session_id == LearningSession.id)
        .outerjoin(seats, seats.c.session_id == LearningSession.id)
        .where(
            LearningSession.mentor_id == mentor_id,
            LearningSession.status.in_(ANALYSED_SESSION_STATUSES),
        )
    )


def repeat_learners(mentor_id):
    """How many learners booked with the mentor, and how many of them did so at least twice."""
    return _repeat_json(*db.session.execute(_repeat_learners_of(mentor_id)).one())


def rating_by_month(mentor_id, periods):
    """The average of visible reviews written in each month, and how many (None where none)."""
    rows = db.session.execute(
        _prebuilt(("rating_by_month", len(periods)), lambda: _ratings_statement(len(periods))),
        {"mentor_id": mentor_id, **_period_params(periods, "month")},
    ).all()
    return {
        **_period_axis(periods),
        "average": _series(periods, [(b, round(float(avg), 2)) for b, avg, _n in rows], default=None),
        "count": _series(periods, [(b, int(n)) for b, _avg, n in rows]),
    }


def _ratings_statement(months):
    inner = (
        select(_bucket_param(Review.created_at, months, "month"), Review.rating.label("rating"))
        .where(
            Review.mentor_id == bindparam("mentor_id"),
            Review.hidden_at.is_(None),
            _window_param(Review.created_at, "month"),
        )
        .subquery()
    )
    return select(inner.c.bucket, func.avg(inner.c.rating), func.count()).group_by(inner.c.bucket)


def earnings_by_weeks_and_months(mentor_id, weeks, months, *, money=None):
    """The mentor's earnings from held sessions per week and per month (by when each session
    ended), in paise: {"earned_paise", "bookings_paise", "gifts_paise"} for each. Read once from
    ``services.earnings``, so the charts add up to its cards."""
    if money is None:
        money = earnings.load(mentor_id, tz=str(months[-1].start.tzinfo))

    def series(periods):
        bookings, gifts = money.held_by_periods(periods)
        return {
            "earned_paise": [b + g for b, g in zip(bookings, gifts, strict=True)],
            "bookings_paise": bookings,
            "gifts_paise": gifts,
        }

    return series(weeks), series(months)


# --- Admins --------------------------------------------------------------------------------


def admin_dashboard(*, now=None, tz="UTC"):
    now = now or utcnow()
    weeks = week_periods(now, tz)
    users = {role.value: 0 for role in Role}
    suspended = 0
    for role, count, n_suspended in db.session.execute(
        select(User.role, func.count(User.id), func.count(User.suspended_at)).group_by(User.role)
    ):
        users[role] = int(count)
        suspended += int(n_suspended)
    sessions = {status.value: 0 for status in SessionStatus}
    sessions.update(
        {
            status: int(count)
            for status, count in db.session.execute(
                select(LearningSession.status, func.count(LearningSession.id)).group_by(
                    LearningSession.status
                )
            )
        }
    )
    inner = select(_bucket(User.created_at, weeks)).where(_in_window(User.created_at, weeks)).subquery()
    signups = _series(
        weeks,
        [
            (b, int(n))
            for b, n in db.session.execute(select(inner.c.bucket, func.count()).group_by(inner.c.bucket))
        ],
    )
    # What learners paid for seats: a booking's payment, and the difference paid to move it to a
    # dearer session.
    seat_purposes = (PaymentPurpose.BOOKING.value, PaymentPurpose.MOVE.value)
    gross = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_paise), 0)).where(
            Payment.purpose.in_(seat_purposes), Payment.status.in_(CAPTURED_STATUSES)
        )
    )
    revenue = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)).where(LedgerEntry.kind.in_(FEE_KINDS))
    )
    refund_count, refunded = db.session.execute(
        select(func.count(Refund.id), func.coalesce(func.sum(Refund.amount_paise), 0)).where(
            Refund.status == RefundStatus.PROCESSED.value
        )
    ).one()
    return {
        "users": {**users, "total": sum(users.values()), "suspended": suspended},
        "signups_by_week": {**_period_axis(weeks), "counts": signups},
        "sessions": sessions,
        "sessions_held": sessions[SessionStatus.COMPLETED.value],
        "rooms_live": sessions[SessionStatus.LIVE.value],
        "gross_booking_value_paise": int(gross),
        "platform_revenue_paise": int(revenue),
        "refunds": {"count": int(refund_count), "amount_paise": int(refunded)},
        "currency": "INR",
        "failed_jobs": failed_job_count(),
    }
