"""The simulated platform (``ml.simulate``) written into the app's database, for load tests and
benchmarks, and taken out again: accounts ``@sim.peerlearn.test`` and what hangs off them."""

import math
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, func, insert, or_, select

from ..extensions import db
from ..ml.recommender import KINDS
from ..ml.text import clean_skill_name, skill_slug
from ..ml.world import CATEGORIES, EMAIL_DOMAIN, MINUTE
from ..models import (
    Booking,
    Interaction,
    LearningSession,
    Skill,
    User,
    session_skills,
    user_interests,
    user_skills,
)
from .passwords import hash_password

SIM_PASSWORD = "simulated-passphrase"  # noqa: S105 - shared by every simulated account, on purpose
BATCH_SIZE = 5000


class SimulationExists(ValueError):
    """The database already holds simulated accounts, and replacing them was not asked for."""


def _moment(epoch_seconds):
    return datetime.fromtimestamp(float(epoch_seconds), UTC)


def _batches(rows, size=BATCH_SIZE):
    for begin in range(0, len(rows), size):
        yield begin, rows[begin : begin + size]


def simulated_user_count():
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.email.like(f"%@{EMAIL_DOMAIN}"))
    )


def delete_simulated():
    """Remove every simulated account and what hangs off it (in the caller's transaction)."""
    simulated = select(User.id).where(User.email.like(f"%@{EMAIL_DOMAIN}"))
    their_sessions = select(LearningSession.id).where(LearningSession.mentor_id.in_(simulated))
    # The big tables first, by their indexed columns; the database's cascades take care of the rest.
    db.session.execute(
        delete(Interaction).where(
            or_(Interaction.user_id.in_(simulated), Interaction.mentor_id.in_(simulated))
        )
    )
    db.session.execute(
        delete(Booking).where(or_(Booking.learner_id.in_(simulated), Booking.session_id.in_(their_sessions)))
    )
    db.session.execute(delete(LearningSession).where(LearningSession.mentor_id.in_(simulated)))
    db.session.execute(delete(User).where(User.email.like(f"%@{EMAIL_DOMAIN}")))


def write_to_database(platform, progress=None, *, replace=False):
    """Insert ``platform`` into the database of the current app context, in one transaction.

    Refuses (``SimulationExists``) when simulated accounts are already there, unless ``replace``
    deletes them first. Calls ``progress(label, done, total)`` as it goes. Returns the counts inserted.
    """
    tick = progress or (lambda label, done, total: None)
    existing = simulated_user_count()
    if existing and not replace:
        raise SimulationExists(
            f"The database already holds {existing} simulated accounts (@{EMAIL_DOMAIN}); "
            "pass replace=True to delete them first."
        )
    try:
        if existing:
            tick("deleting the previous simulation", 0, 1)
            delete_simulated()
            tick("deleting the previous simulation", 1, 1)
        skill_ids, created_skills = _skill_ids(platform.skill_names)

        password_hash = hash_password(SIM_PASSWORD)
        created = [_moment(t) for t in platform.user_created_at]
        users = [
            {
                "email": platform.user_email[u],
                "name": platform.user_name[u],
                "password_hash": password_hash,
                "is_admin": False,
                "teaching_enabled_at": created[u] if platform.user_role[u] == "mentor" else None,
                "email_verified_at": created[u],
                "timezone": platform.user_timezone[u],
                "headline": _headline(platform, u),
                "hourly_rate_paise": _hourly_rate(platform, u),
                "created_at": created[u],
                "updated_at": created[u],
            }
            for u in range(platform.n_users)
        ]
        _insert(User.__table__, users, "users", tick)
        by_email = dict(
            db.session.execute(select(User.email, User.id).where(User.email.like(f"%@{EMAIL_DOMAIN}"))).all()
        )
        user_id = np.array([by_email[email] for email in platform.user_email], dtype=np.int64)
        mentor_id = user_id[platform.mentor_user]

        stated = (
            (user_skills, platform.user_skills, "user skills"),
            (user_interests, platform.user_interests, "user interests"),
        )
        for table, lists, label in stated:
            rows = [
                {"user_id": int(user_id[u]), "skill_id": skill_ids[s]}
                for u, items in enumerate(lists)
                for s in items
            ]
            _insert(table, rows, label, tick)

        sessions = [
            _session_row(platform, s, int(mentor_id[platform.session_mentor[s]]))
            for s in range(platform.n_sessions)
        ]
        session_id = np.zeros(platform.n_sessions, dtype=np.int64)
        table = LearningSession.__table__
        for begin, chunk in _batches(sessions):
            inserted = db.session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), chunk
            )
            session_id[begin : begin + len(chunk)] = inserted.scalars().all()
            tick("sessions", begin + len(chunk), len(sessions))
        rows = [
            {"session_id": int(session_id[s]), "skill_id": skill_ids[k]}
            for s, items in enumerate(platform.session_skills)
            for k in items
        ]
        _insert(session_skills, rows, "session skills", tick)

        booked_at = [_moment(t) for t in platform.booking_time]
        price = platform.session_price_paise
        bookings = [
            {
                "session_id": int(session_id[s]),
                "learner_id": int(user_id[u]),
                "status": status,
                "amount_paise": int(price[s]),
                "currency": "INR",
                "confirmed_at": moment,
                "created_at": moment,
                "updated_at": moment,
            }
            for u, s, status, moment in zip(
                platform.booking_learner.tolist(),
                platform.booking_session.tolist(),
                platform.booking_status,
                booked_at,
                strict=True,
            )
        ]
        _insert(Booking.__table__, bookings, "bookings", tick)

        n_events = platform.n_interactions
        event_user = user_id[platform.event_user].tolist()
        event_session = np.where(platform.event_session >= 0, session_id[platform.event_session], -1).tolist()
        event_mentor = np.where(platform.event_mentor >= 0, mentor_id[platform.event_mentor], -1).tolist()
        event_kind = [KINDS[code] for code in platform.event_kind.tolist()]
        event_value = [None if math.isnan(v) else v for v in platform.event_value.tolist()]
        event_time = platform.event_time.tolist()
        searches = iter(platform.search_text)
        table = Interaction.__table__
        for begin in range(0, n_events, BATCH_SIZE):
            chunk = []
            for e in range(begin, min(begin + BATCH_SIZE, n_events)):
                kind = event_kind[e]
                chunk.append(
                    {
                        "user_id": event_user[e],
                        "kind": kind,
                        "session_id": event_session[e] if event_session[e] >= 0 else None,
                        "mentor_id": event_mentor[e] if event_mentor[e] >= 0 else None,
                        "query": next(searches) if kind == "search" else "",
                        "value": event_value[e],
                        "created_at": datetime.fromtimestamp(event_time[e], UTC),
                    }
                )
            db.session.execute(insert(table), chunk)
            tick("interactions", begin + len(chunk), n_events)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {
        "users": platform.n_users,
        "learners": platform.n_learners,
        "mentors": platform.n_mentors,
        "skills_created": created_skills,
        "sessions": platform.n_sessions,
        "bookings": len(bookings),
        "interactions": n_events,
    }


def _insert(table, rows, label, tick):
    for begin, chunk in _batches(rows):
        db.session.execute(insert(table), chunk)
        tick(label, begin + len(chunk), len(rows))


def _skill_ids(names):
    """Database ids of the vocabulary, creating the skills that are missing (by slug)."""
    cleaned = [clean_skill_name(name) for name in names]
    slugs = [skill_slug(name) for name in cleaned]
    existing = dict(db.session.execute(select(Skill.slug, Skill.id).where(Skill.slug.in_(slugs))).all())
    missing = [
        {"name": name, "slug": slug}
        for name, slug in zip(cleaned, slugs, strict=True)
        if slug not in existing
    ]
    if missing:
        db.session.execute(insert(Skill.__table__), missing)
        existing = dict(db.session.execute(select(Skill.slug, Skill.id).where(Skill.slug.in_(slugs))).all())
    return [existing[slug] for slug in slugs], len(missing)


def _headline(platform, user):
    mentor = platform.user_mentor[user]
    if mentor < 0:
        return ""
    names = [platform.skill_names[s] for s in platform.user_skills[user][:3]]
    return (", ".join(names[:-1]) + " and " + names[-1] + " mentor")[:120]


def _hourly_rate(platform, user):
    mentor = platform.user_mentor[user]
    if mentor < 0:
        return 0
    # From ₹500 to ₹3,000 an hour, the better mentors asking more.
    return int(round(500 + 2500 * platform.mentor_quality[mentor], -2)) * 100


def _session_row(platform, s, mentor_id):
    starts = platform.session_starts_at[s]
    duration = int(platform.session_duration[s])
    finished = starts + duration * MINUTE <= platform.end
    published = _moment(platform.session_published_at[s])
    return {
        "mentor_id": mentor_id,
        "title": platform.session_title[s],
        "description": platform.session_description[s],
        "category": CATEGORIES[platform.session_category[s]],
        "level": platform.session_level[s],
        "language": platform.session_language[s],
        "starts_at": _moment(starts),
        "duration_minutes": duration,
        "capacity": int(platform.session_capacity[s]),
        "seats_taken": int(platform.session_seats_taken[s]),
        "price_paise": int(platform.session_price_paise[s]),
        "currency": "INR",
        "status": "completed" if finished else "scheduled",
        "published_at": published,
        "started_at": _moment(starts) if finished else None,
        "ended_at": _moment(starts + duration * MINUTE) if finished else None,
        "created_at": published,
        "updated_at": published,
    }
