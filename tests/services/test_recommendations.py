"""Recommendations with known answers on a small crafted platform: peers' mentors, what must
never be shown, a brand-new learner, and a booking that changes a list after one refresh job."""

from datetime import timedelta

import pytest

from peerlearn.extensions import db
from peerlearn.models import LearnerRecommendations, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import recommendations as recs
from peerlearn.services import skills as skill_service
from peerlearn.tasks.recommendations import refresh_learner_soon
from tests.factories import make_session
from tests.support.recommendations import crafted_platform, history


@pytest.fixture
def platform(make_user):
    return crafted_platform(make_user)


def listed(user):
    items, _total, _built_at = recs.for_learner(user, per_page=50)
    return [(session.id, reason) for session, reason, _score in items]


def test_peers_mentor_upcoming_session_comes_first(app, platform):
    recs.rebuild()
    [(first, reason), *rest] = listed(platform["target"])
    assert first == platform["asha_next"].id
    assert reason["code"] == "peers" and reason["text"] == "Learners of Chitra Iyer also booked this"
    assert platform["bala_next"].id in [session_id for session_id, _ in rest]


def test_booked_full_past_cancelled_and_own_sessions_never_appear(app, platform, make_user):
    mentor = platform["asha"]
    target = platform["target"]
    booked = make_session(platform["bala"], title="Ink lettering", category="Music & Arts", capacity=10)
    booking_service.book(booked.id, target)
    full = make_session(
        platform["bala"], title="Brush pens", category="Music & Arts", capacity=2, seats_taken=2
    )
    past = make_session(
        platform["bala"], title="Old class", category="Music & Arts", starts_at=utcnow() - timedelta(hours=3)
    )
    cancelled = make_session(
        platform["bala"], title="Cancelled class", category="Music & Arts", status="cancelled"
    )
    draft = make_session(platform["bala"], title="Draft class", category="Music & Arts", status="draft")
    recs.rebuild()
    never = {full.id, past.id, cancelled.id, draft.id}
    for user in (target, *platform["peers"]):
        shown = {session_id for session_id, _ in listed(user)}
        stored = {item["session_id"] for item in db.session.get(LearnerRecommendations, user.id).sessions}
        assert shown and not (shown | stored) & never
    # Booked: left out of the booker's list when it is built, shown to others.
    stored = {item["session_id"] for item in db.session.get(LearnerRecommendations, target.id).sessions}
    assert booked.id not in stored | {session_id for session_id, _ in listed(target)}
    assert booked.id in {session_id for session_id, _ in listed(platform["peers"][0])}
    # A mentor who also learns never sees their own sessions.
    history(
        mentor,
        make_session(
            platform["chitra"],
            title="Wash again",
            starts_at=utcnow() - timedelta(days=5),
            status="completed",
            category="Music & Arts",
        ),
    )
    recs.rebuild()
    own = {platform["asha_next"].id}
    assert not {session_id for session_id, _ in listed(mentor)} & own

    # And what became unbookable after the build is dropped at read time.
    platform["bala_next"].seats_taken = platform["bala_next"].capacity
    db.session.commit()
    assert platform["bala_next"].id not in {session_id for session_id, _ in listed(target)}


def test_a_brand_new_learner_gets_a_list(app, platform, make_user):
    recs.rebuild()
    newcomer = make_user(name="New Learner")
    newcomer.skills = skill_service.resolve(["Calligraphy"])
    db.session.commit()
    assert db.session.get(LearnerRecommendations, newcomer.id) is None
    items = listed(newcomer)  # before any job ran for them: trending, their skills first
    assert items and items[0] == (
        platform["bala_next"].id,
        {"code": "skill", "text": "Because you know Calligraphy", "skill": "Calligraphy"},
    )
    assert recs.refresh_learner(newcomer.id)  # the model knows them from their data alone
    assert listed(newcomer)[0][0] == platform["bala_next"].id


def test_a_booking_changes_the_list_after_one_refresh_job(app, platform):
    recs.rebuild()
    target = platform["target"]
    before = db.session.get(LearnerRecommendations, target.id)
    assert before.sessions[0]["session_id"] == platform["asha_next"].id
    app.config["JOBS_INLINE"] = True
    booking_service.book(platform["asha_next"].id, target)  # commits, then queues the refresh (inline here)
    db.session.expire_all()
    after = db.session.get(LearnerRecommendations, target.id)
    stored = [item["session_id"] for item in after.sessions]
    assert platform["asha_next"].id not in stored and stored
    assert after.built_at > before.built_at or after.model_version == before.model_version
    assert refresh_learner_soon(target.id)


@pytest.mark.parametrize("ending", ["cancelled", "expired"])
def test_a_session_the_learner_let_go_is_not_recommended_again(app, platform, ending):
    """A learner who cancelled a booking (or let the hold expire) said no to that session: no
    list brings it back, not the next refresh, not a full rebuild, not the read-time filter."""
    recs.rebuild()
    target = platform["target"]
    app.config["JOBS_INLINE"] = True
    booking, _created = booking_service.book(platform["asha_next"].id, target)
    if ending == "cancelled":
        booking_service.cancel(booking, target)
    else:
        booking.status = ending
        db.session.commit()
    assert recs.refresh_learner(target.id)
    stored = [item["session_id"] for item in db.session.get(LearnerRecommendations, target.id).sessions]
    assert stored and platform["asha_next"].id not in stored
    assert platform["asha_next"].id not in {session_id for session_id, _ in listed(target)}
    recs.rebuild()
    stored = [item["session_id"] for item in db.session.get(LearnerRecommendations, target.id).sessions]
    assert stored and platform["asha_next"].id not in stored
    # Others still see it.
    assert platform["asha_next"].id in {session_id for session_id, _ in listed(platform["peers"][0])}


@pytest.mark.parametrize(
    "platform_now",
    [
        "no one yet",
        "people, no session",
        "one session",
        "a session without skills",
        "past sessions only",
        "two alike",
    ],
)
def test_a_young_platform_rebuilds_without_error(app, make_user, platform_now):
    """A new install runs the periodic rebuild from its first minute: before any session, with
    one session, with sessions that name no skill or share every word. Each build stores lists
    (empty where nothing is open) instead of failing on every run."""
    learner = mentor = None
    if platform_now != "no one yet":
        mentor = make_user(role="mentor", name="First Mentor")
        learner = make_user(name="First Learner")
    open_session = None
    if platform_now == "one session":
        open_session = make_session(mentor, title="Sketching faces", skills=["Drawing"])
    elif platform_now == "a session without skills":
        open_session = make_session(mentor, title="Sketching faces", skills=[])
    elif platform_now == "past sessions only":
        past = utcnow() - timedelta(days=3)
        make_session(mentor, title="Sketching faces", skills=["Drawing"], starts_at=past, status="completed")
    elif platform_now == "two alike":
        open_session = make_session(mentor, title="Drawing", skills=["Drawing"])
        make_session(mentor, title="Drawing", skills=["Drawing"], starts_at=utcnow() + timedelta(days=3))

    summary = recs.rebuild()

    assert summary["version"] == 1 and recs.built_at() is not None
    if learner is not None:
        stored = db.session.get(LearnerRecommendations, learner.id)
        assert stored is not None
        session_ids = [item["session_id"] for item in stored.sessions]
        if open_session is None:
            assert session_ids == []
        else:
            assert open_session.id in session_ids
