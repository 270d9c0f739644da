"""Recommendations: built from the database by a job, stored per learner, read in one lookup.

``rebuild()`` loads the whole platform into a ``Dataset``, fits the model (``ml/recommender.py``),
stores every learner's lists, the similar sessions of every session and the trending list, and
keeps the fitted model on disk for ``refresh_learner()``, which re-ranks one learner from their
fresh data (after a booking or a review) without a full rebuild.

At request time ``for_learner()`` reads the learner's stored row and drops what can no longer be
booked (booked since, in any state; full, started, cancelled): a stale list never shows a bad item. A learner
the last build did not know gets the trending list ranked by their skills until their refresh
job has run.

Nothing a page or the API calls loads the model or runs numpy: ``for_learner``, ``mentors_for``,
``trending`` and ``similar_to`` are a few indexed lookups each (about 20 statements and 25 ms for a
learner's dashboard lists on a simulated platform of 2,300 learners and 2,000 sessions, most of it
the ORM's). The model's work is in jobs: ``rebuild`` in the worker, and ``refresh_learner``, whose
ranking (40 ms of numpy and Python there) runs in services/offload.py's pool: under gevent, in an
OS thread, so even where jobs run inline in the web process (no Redis) it does not hold up the
event loop.
"""

import logging
import math
import os
import pickle
import tempfile
import threading
import time
from datetime import timedelta
from functools import cache
from pathlib import Path

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, insert, select

from ..extensions import db
from ..ml import recommender
from ..models import (
    CATEGORIES,
    Booking,
    Interaction,
    LearnerRecommendations,
    LearningSession,
    RecommenderState,
    SessionStatus,
    SimilarSessions,
    Skill,
    User,
    session_skills,
    user_interests,
    user_skills,
    utcnow,
)
from . import offload, search

log = logging.getLogger(__name__)

KEEP_PER_LEARNER = 30
HISTORY_DAYS = 730  # older interactions weigh under 1/4000 of a new one: not loaded
# A session the learner ever booked is never recommended to them again, whatever became of the
# booking: held, attended, or cancelled and expired holds (they said no, or walked away from it;
# their bookings page still leads back to it).


# Loading ------------------------------------------------------------------------------------------


def load_dataset(now=None, *, historical=False):
    """The platform as the recommender sees it at ``now``.

    ``historical``: as it stood at a past ``now``, for evaluation: sessions open then (published
    by then, starting later, not cancelled by then), bookings and interactions made before then.
    Skills and seat counts are today's.
    """
    now = now or utcnow()
    # Every account learns; those who teach are the mentors too.
    users = db.session.execute(
        select(User.id, User.is_mentor.label("is_mentor"), User.name, User.suspended_at).order_by(User.id)
    ).all()
    user_ids = np.array([u.id for u in users], dtype=np.int64)
    user_index = {u.id: i for i, u in enumerate(users)}
    suspended = {u.id for u in users if u.suspended_at is not None}
    mentors = [u for u in users if u.is_mentor]
    mentor_ids = np.array([m.id for m in mentors], dtype=np.int64)
    mentor_index = {m.id: i for i, m in enumerate(mentors)}
    user_mentor = np.array([mentor_index.get(u.id, -1) for u in users], dtype=np.int64)

    skills = db.session.execute(select(Skill.id, Skill.name).order_by(Skill.id)).all()
    skill_index = {s.id: i for i, s in enumerate(skills)}

    sessions = db.session.execute(
        select(
            LearningSession.id,
            LearningSession.mentor_id,
            LearningSession.title,
            LearningSession.description,
            LearningSession.category,
            LearningSession.status,
            LearningSession.starts_at,
            LearningSession.capacity,
            LearningSession.seats_taken,
            LearningSession.published_at,
            LearningSession.cancelled_at,
        )
        .where(LearningSession.status != SessionStatus.DRAFT.value)
        .order_by(LearningSession.id)
    ).all()
    sessions = [s for s in sessions if s.mentor_id in mentor_index]
    session_index = {s.id: i for i, s in enumerate(sessions)}
    category_code = {name: code for code, name in enumerate(CATEGORIES)}

    def pairs(table, left, right, left_index):
        rows = db.session.execute(select(table.c[left], table.c[right])).all()
        return [(left_index[a], skill_index[b]) for a, b in rows if a in left_index and b in skill_index]

    def indicator(pair_list, n_rows):
        rows, cols = zip(*pair_list, strict=True) if pair_list else ((), ())
        return recommender.indicator(rows, cols, (n_rows, len(skills)))

    booked_query = select(Booking.learner_id, Booking.session_id)
    if historical:
        booked_query = booked_query.where(Booking.created_at < now)
    booked = db.session.execute(booked_query).all()
    booked_pairs = [
        (user_index[b.learner_id], session_index[b.session_id])
        for b in booked
        if b.learner_id in user_index and b.session_id in session_index
    ]
    excluded = recommender.indicator(
        [p[0] for p in booked_pairs], [p[1] for p in booked_pairs], (len(users), len(sessions))
    )

    events = db.session.execute(
        select(
            Interaction.user_id,
            Interaction.kind,
            Interaction.session_id,
            Interaction.mentor_id,
            Interaction.value,
            Interaction.created_at,
            Interaction.query,
        ).where(Interaction.created_at > now - timedelta(days=HISTORY_DAYS), Interaction.created_at <= now)
    ).all()
    event_rows = [e for e in events if e.user_id in user_index]
    searches = [e for e in event_rows if e.kind == "search" and e.query]
    return recommender.Dataset(
        now=now.timestamp(),
        user_ids=user_ids,
        user_mentor=user_mentor,
        mentor_ids=mentor_ids,
        mentor_names=[m.name for m in mentors],
        skill_names=[s.name for s in skills],
        session_ids=np.array([s.id for s in sessions], dtype=np.int64),
        session_mentor=np.array([mentor_index[s.mentor_id] for s in sessions], dtype=np.int64),
        session_category=np.array([category_code.get(s.category, -1) for s in sessions], dtype=np.int64),
        session_text=[f"{s.title} {s.description} {s.category}" for s in sessions],
        session_skills=indicator(
            pairs(session_skills, "session_id", "skill_id", session_index), len(sessions)
        ),
        session_open=np.array(
            [_open_now(s, now) and s.mentor_id not in suspended for s in sessions], dtype=bool
        ),
        user_skills=indicator(pairs(user_skills, "user_id", "skill_id", user_index), len(users)),
        user_interests=indicator(pairs(user_interests, "user_id", "skill_id", user_index), len(users)),
        excluded=excluded,
        event_user=np.array([user_index[e.user_id] for e in event_rows], dtype=np.int64),
        event_kind=np.array([recommender.KIND_CODE[e.kind] for e in event_rows], dtype=np.int64),
        event_session=np.array([session_index.get(e.session_id, -1) for e in event_rows], dtype=np.int64),
        event_mentor=np.array([mentor_index.get(e.mentor_id, -1) for e in event_rows], dtype=np.int64),
        event_value=np.array(
            [math.nan if e.value is None else e.value for e in event_rows], dtype=np.float32
        ),
        event_time=np.array([e.created_at.timestamp() for e in event_rows], dtype=np.float64),
        search_user=np.array([user_index[e.user_id] for e in searches], dtype=np.int64),
        search_text=[e.query for e in searches],
    )


def _open_now(session, now):
    return (
        session.status == SessionStatus.SCHEDULED.value
        and session.starts_at > now
        and session.seats_taken < session.capacity
    )


def platform_split(horizon_days=14, validation=False):
    """The platform's own log split in time: the recommender's view two weeks (``horizon_days``)
    before the last booking, and the bookings made after that of the sessions open then. With
    ``validation``, the same one more horizon back (for tuning without touching the test weeks).
    Returns (Dataset, truth) or None when the log has no bookings."""
    last = db.session.scalar(select(func.max(Interaction.created_at)).where(Interaction.kind == "book"))
    if last is None:
        return None
    horizon = timedelta(days=horizon_days)
    as_of = last - horizon * (2 if validation else 1)
    ds = load_dataset(as_of, historical=True)
    session_index = {int(s): i for i, s in enumerate(ds.session_ids)}
    user_index = {int(u): i for i, u in enumerate(ds.user_ids)}
    pairs = {
        (user_index[user_id], session_index[session_id])
        for user_id, session_id in db.session.execute(
            select(Interaction.user_id, Interaction.session_id).where(
                Interaction.kind == "book",
                Interaction.created_at >= as_of,
                Interaction.created_at < as_of + horizon,
            )
        )
        if user_id in user_index
        and session_index.get(session_id, -1) >= 0
        and ds.session_open[session_index[session_id]]
    }
    rows = [p[0] for p in pairs]
    cols = [p[1] for p in pairs]
    truth = recommender.indicator(rows, cols, (ds.n_users, ds.n_sessions))
    return ds, truth


# Building -----------------------------------------------------------------------------------------


def rebuild(progress=None, now=None):
    """Fit on the whole platform and store every list. Returns a summary dict."""
    from threadpoolctl import threadpool_limits

    tick = progress or (lambda label, done=None, total=None: None)
    started = time.perf_counter()
    tick("loading the platform")
    ds = load_dataset(now)
    db.session.rollback()  # release the read snapshot while fitting
    if ds.n_users and ds.n_sessions:
        # Linear algebra on as many cores as configured (one by default: the web process keeps the other).
        with threadpool_limits(limits=current_app.config["RECOMMENDER_THREADS"]):
            model, result = recommender.fit_and_rank(ds, k=KEEP_PER_LEARNER, progress=tick)
    else:
        # A new platform, before its first session: nothing to learn from, nothing to recommend.
        empty = [[] for _user in range(ds.n_users)]
        model = None  # saved as such: refreshing a learner waits for the first real build
        result = recommender.Result(sessions=empty, mentors=empty, similar={}, trending=[])
    fitted = time.perf_counter()
    tick("storing")
    version = _store(ds, result)
    _save_model(model, version)
    summary = {
        "version": version,
        "learners": ds.n_users,
        "mentors": ds.n_mentors,
        "sessions": ds.n_sessions,
        "open_sessions": int(ds.session_open.sum()),
        "interactions": len(ds.event_user),
        "fit_seconds": round(fitted - started, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    _put_state("model", summary)
    db.session.commit()
    log.info("recommendations rebuilt: %s", summary)
    return summary


def _store(ds, result):
    built_at = utcnow()
    state = db.session.get(RecommenderState, "model")
    version = (state.value.get("version", 0) if state else 0) + 1
    session_ids, mentor_ids = ds.session_ids, ds.mentor_ids
    db.session.execute(delete(LearnerRecommendations))
    rows = [
        {
            "user_id": int(ds.user_ids[user]),
            "sessions": _session_items(session_ids, items),
            "mentors": _mentor_items(mentor_ids, result.mentors[user]),
            "model_version": version,
            "built_at": built_at,
        }
        for user, items in enumerate(result.sessions)
    ]
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(LearnerRecommendations), rows[start : start + 2000])
    db.session.execute(delete(SimilarSessions))
    similar = [
        {
            "session_id": int(session_ids[session]),
            "similar": [{"session_id": int(session_ids[s]), "score": round(score, 4)} for s, score in items],
            "built_at": built_at,
        }
        for session, items in result.similar.items()
        if items
    ]
    for start in range(0, len(similar), 2000):
        db.session.execute(insert(SimilarSessions), similar[start : start + 2000])
    _put_state(
        "trending",
        {
            "sessions": [
                {"session_id": int(session_ids[s]), "score": round(score, 4)} for s, score in result.trending
            ]
        },
    )
    return version


def _session_items(session_ids, items):
    return [
        {"session_id": int(session_ids[s]), "score": round(score, 4), "reason": reason}
        for s, score, reason in items
    ]


def _mentor_items(mentor_ids, items):
    return [
        {"mentor_id": int(mentor_ids[m]), "score": round(score, 4), "reason": reason}
        for m, score, reason in items
    ]


def _put_state(key, value):
    state = db.session.get(RecommenderState, key)
    if state is None:
        db.session.add(RecommenderState(key=key, value=value, built_at=utcnow()))
    else:
        state.value = value
        state.built_at = utcnow()


# The fitted model, kept for one-learner refreshes ----------------------------------------------

# One fitted model per process, shared by its threads: (file mtime, version, model).
_cache = {}
_cache_lock = threading.Lock()


def _model_path():
    return Path(current_app.config["INSTANCE_DIR"]) / "recommender" / "model.pickle"


def _save_model(model, version):
    path = _model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        pickle.dump({"version": version, "model": model}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(handle.name, path)
    with _cache_lock:
        _cache[str(path)] = (path.stat().st_mtime_ns, version, model)


def _load_model():
    """The last fitted model (re-read when a rebuild replaced it), or None before the first build."""
    path = _model_path()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None, None
    with _cache_lock:
        loaded = _cache.get(str(path))
        if loaded is None or loaded[0] != stamp:
            with path.open("rb") as handle:
                saved = pickle.load(handle)  # noqa: S301 - our own file, written by _save_model
            loaded = _cache[str(path)] = (stamp, saved["version"], saved["model"])
    return loaded[1], loaded[2]


def refresh_learner(user_id, now=None):
    """Re-rank one learner with their current data on the last fitted model. Returns False when
    there is no model yet (the next rebuild covers them)."""
    version, model = _load_model()
    user = db.session.get(User, user_id)
    if model is None or user is None:
        return False
    ds = model.ds
    session_index = {int(s): i for i, s in enumerate(ds.session_ids)}
    mentor_index = {int(m): i for i, m in enumerate(ds.mentor_ids)}
    skill_index = {name: i for i, name in enumerate(ds.skill_names)}
    now = now or utcnow()
    events = db.session.execute(
        select(
            Interaction.kind,
            Interaction.session_id,
            Interaction.mentor_id,
            Interaction.value,
            Interaction.created_at,
            Interaction.query,
        ).where(Interaction.user_id == user_id, Interaction.created_at > now - timedelta(days=HISTORY_DAYS))
    ).all()
    booked = db.session.scalars(select(Booking.session_id).where(Booking.learner_id == user_id))
    inputs = {
        "events": [
            (
                recommender.KIND_CODE[e.kind],
                session_index.get(e.session_id, -1),
                mentor_index.get(e.mentor_id, -1),
                math.nan if e.value is None else e.value,
                e.created_at.timestamp(),
            )
            for e in events
        ],
        "skills": [skill_index[s.name] for s in user.skills if s.name in skill_index],
        "interests": [skill_index[s.name] for s in user.interests if s.name in skill_index],
        "searches": [e.query for e in events if e.kind == "search" and e.query],
        "excluded_sessions": [session_index[s] for s in booked if s in session_index],
        "own_mentor": mentor_index.get(user_id, -1),
    }
    # Plain values in, plain values out: the ranking may run in another thread.
    app = current_app._get_current_object()
    sessions, mentors = offload.pool_for(app, "recommender", 1).run(_rank_one, model, inputs)
    record = db.session.get(LearnerRecommendations, user_id)
    if record is None:
        record = LearnerRecommendations(user_id=user_id)
        db.session.add(record)
    record.sessions = _session_items(ds.session_ids, sessions)
    record.mentors = _mentor_items(ds.mentor_ids, mentors)
    record.model_version = version
    record.built_at = utcnow()
    db.session.commit()
    return True


def _rank_one(model, inputs):
    """One learner's sessions and mentors from ``model`` and their data (``Model.rows_from``)."""
    rows = model.rows_from(**inputs)
    lists, mentor_scores = model.recommend(rows, k=KEEP_PER_LEARNER)
    return lists[0], model.mentors(rows, mentor_scores)[0]


# Reading ------------------------------------------------------------------------------------------


def _bookable_query(ids, viewer_id, now):
    query = select(LearningSession.id).where(
        LearningSession.id.in_(ids), search.bookable(now), search.mentor_active(), search.not_reserved(now)
    )
    if viewer_id is not None:
        booked = select(Booking.session_id).where(Booking.learner_id == viewer_id)
        query = query.where(LearningSession.mentor_id != viewer_id, LearningSession.id.not_in(booked))
    return query


def _still_open(ids, viewer_id=None, now=None):
    """The ids among ``ids`` of sessions that can still be booked (by ``viewer_id``)."""
    if not ids:
        return set()
    # Built once per shape (SQLAlchemy keeps a statement's cache key on the object): every
    # learner's dashboard asks it.
    shape = (viewer_id is not None, bool(current_app.config["LIST_VERIFIED_MENTORS_ONLY"]))
    statement = _STILL_OPEN.get(shape)
    if statement is None:
        viewer = bindparam("viewer_id") if viewer_id is not None else None
        ids_param = bindparam("ids", expanding=True)
        statement = _STILL_OPEN[shape] = _bookable_query(ids_param, viewer, bindparam("now"))
    params = {"ids": list(ids), "now": now or utcnow()}
    if viewer_id is not None:
        params["viewer_id"] = viewer_id
    return set(db.session.scalars(statement, params))


_STILL_OPEN = {}


def _cards_by_id(ids):
    if not ids:
        return {}
    return {s.id: s for s in search.as_cards(select(LearningSession).where(LearningSession.id.in_(ids)))}


def _open_sessions(ids, viewer_id=None, now=None):
    """The sessions among ``ids`` that can still be booked (by ``viewer_id``), by id."""
    return _cards_by_id(list(_still_open(ids, viewer_id, now)))


def for_learner(user, *, page=1, per_page=10):
    """One page of ``user``'s recommendations: ([(session, reason, score)], total, built_at).

    One lookup of the stored list, one query keeping what is still bookable, and the cards of
    the page's sessions only."""
    return _sessions_page(user, db.session.get(LearnerRecommendations, user.id), page, per_page)


def for_dashboard(user, *, per_page=6, mentor_limit=4):
    """The learner's home: the first page of ``for_learner`` and ``mentors_for``, from one
    lookup of the stored row (a learner the last build did not know has none, and the identity
    map keeps no memory of a row that is not there)."""
    record = db.session.get(LearnerRecommendations, user.id)
    return _sessions_page(user, record, 1, per_page)[0], _mentors(record, mentor_limit)


def _sessions_page(user, record, page, per_page):
    items = record.sessions if record is not None else _cold_start(user)
    still_open = _still_open([item["session_id"] for item in items], user.id)
    live = [item for item in items if item["session_id"] in still_open]
    start = (page - 1) * per_page
    page_items = live[start : start + per_page]
    cards = _cards_by_id([item["session_id"] for item in page_items])
    shown = [
        (cards[item["session_id"]], reason_for_reader(item["reason"]), item["score"])
        for item in page_items
        if item["session_id"] in cards
    ]
    return shown, len(live), record.built_at if record is not None else None


def _cold_start(user):
    """Until a learner's first refresh: trending sessions, those sharing their skills first.
    The learner's skills and interests are read (in one statement) only when something trends."""
    items = trending_items()
    if not items:
        return []
    names = dict(
        db.session.execute(
            select(Skill.id, Skill.name)
            .join(user_skills, user_skills.c.skill_id == Skill.id)
            .where(user_skills.c.user_id == user.id)
            .union(
                select(Skill.id, Skill.name)
                .join(user_interests, user_interests.c.skill_id == Skill.id)
                .where(user_interests.c.user_id == user.id)
            )
        ).all()
    )
    if not names:
        return [{**item, "reason": {"code": "popular", "text": _("Popular right now")}} for item in items]
    ids = [item["session_id"] for item in items]
    skills_of = {}
    for session_id, skill_id in db.session.execute(
        select(session_skills.c.session_id, session_skills.c.skill_id).where(
            session_skills.c.session_id.in_(ids)
        )
    ):
        skills_of.setdefault(session_id, []).append(skill_id)
    ranked = []
    for position, item in enumerate(items):
        common = [s for s in skills_of.get(item["session_id"], []) if s in names]
        if common:
            reason = {
                "code": "skill",
                "text": _("Because you know %(skill)s", skill=names[common[0]]),
                "skill": names[common[0]],
            }
        else:
            reason = {"code": "popular", "text": _("Popular right now")}
        ranked.append((0 if common else 1, position, {**item, "reason": reason}))
    return [item for _rank, _position, item in sorted(ranked, key=lambda entry: entry[:2])]


def trending_items():
    state = db.session.get(RecommenderState, "trending")
    return state.value.get("sessions", []) if state is not None else []


def trending(*, limit=10, viewer_id=None):
    """The sessions trending now that can still be booked: [(session, score)]."""
    items = trending_items()
    sessions = _open_sessions([item["session_id"] for item in items], viewer_id)
    if not items:  # before the first build: the soonest sessions with the most bookings
        fallback = db.session.scalars(
            select(LearningSession.id)
            .where(
                LearningSession.status == SessionStatus.SCHEDULED.value, LearningSession.starts_at > utcnow()
            )
            .order_by(LearningSession.seats_taken.desc(), LearningSession.starts_at)
            .limit(limit * 3)
        ).all()
        sessions = _open_sessions(list(fallback), viewer_id)
        items = [{"session_id": session_id, "score": 0.0} for session_id in fallback]
    return [(sessions[i["session_id"]], i["score"]) for i in items if i["session_id"] in sessions][:limit]


def similar_to(session, *, limit=4, viewer_id=None):
    record = db.session.get(SimilarSessions, session.id)
    if record is None:
        return []
    sessions = _open_sessions([item["session_id"] for item in record.similar], viewer_id)
    return [sessions[i["session_id"]] for i in record.similar if i["session_id"] in sessions][:limit]


def mentors_for(user, *, limit=6):
    """Mentors ``user`` may like: [(mentor, reason)]."""
    return _mentors(db.session.get(LearnerRecommendations, user.id), limit)


def _mentors(record, limit):
    if record is None or not record.mentors:
        return []
    ids = [item["mentor_id"] for item in record.mentors]
    mentors = {m.id: m for m in db.session.scalars(_mentors_statement(), {"ids": ids})}
    return [
        (mentors[i["mentor_id"]], reason_for_reader(i["reason"], mentor=True))
        for i in record.mentors
        if i["mentor_id"] in mentors
    ][:limit]


def reason_for_reader(reason, *, mentor=False):
    """A stored reason with its ``text`` worded in the reader's language. The build job stores the
    code and the names it needs (and an English text, kept when a reason is not known here).
    ``mentor``: the reason a mentor is suggested, not a session."""
    code = reason.get("code")
    text = reason.get("text") or ""
    if code == "skill" and reason.get("skill"):
        # Reasons stored before ``interest`` was kept say it in their English text.
        wants = reason.get("interest", text.startswith("Because you want to learn"))
        if wants:
            text = _("Because you want to learn %(skill)s", skill=reason["skill"])
        else:
            text = _("Because you know %(skill)s", skill=reason["skill"])
    elif code == "mentor" and reason.get("mentor"):
        text = _("You learned from %(mentor)s before", mentor=reason["mentor"])
    elif code == "peers" and reason.get("mentor"):
        if mentor:
            text = _("Learners of %(mentor)s also learn here", mentor=reason["mentor"])
        else:
            text = _("Learners of %(mentor)s also booked this", mentor=reason["mentor"])
    elif code == "peers":
        text = _("Learners with your interests booked this")
    elif code == "content":
        text = _("Like the sessions you have been looking at")
    elif code == "popular":
        text = _("Popular right now")
    return {**reason, "text": text}


@cache
def _mentors_statement():
    # Built once, run with the ids (SQLAlchemy keeps a statement's cache key on the object).
    return select(User).where(User.id.in_(bindparam("ids", expanding=True)), User.is_mentor)


def built_at():
    state = db.session.get(RecommenderState, "model")
    return state.built_at if state is not None else None
