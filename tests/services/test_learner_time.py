"""The learner dashboard's time learned agrees with its sessions completed: both count the
completed sessions the learner attended, and the time is what they spent in the room while each
ran, even when its mentor went live before the scheduled start."""

from datetime import UTC, datetime, timedelta

from peerlearn.extensions import db
from peerlearn.models import Attendance, Booking
from peerlearn.services import dashboards
from tests.factories import make_session

START = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


def at(minutes):
    return START + timedelta(minutes=minutes)


def attended(session, learner, *stays):
    db.session.add(Booking(session_id=session.id, learner_id=learner.id, status="attended", amount_paise=0))
    for joined, left in stays:
        db.session.add(
            Attendance(session_id=session.id, user_id=learner.id, joined_at=at(joined), left_at=at(left))
        )
    db.session.commit()


def test_a_session_run_before_its_scheduled_start_counts_its_time(app, make_user):
    mentor, learner = make_user(role="mentor"), make_user()
    # The mentor went live 14 minutes early (the room opens 15 minutes before) and ended it
    # 2 minutes before the scheduled start; the learner was there from going live to the end.
    session = make_session(mentor, starts_at=START, status="completed", started_at=at(-14), ended_at=at(-2))
    attended(session, learner, (-15, -2))
    figures = dashboards.learner_figures(learner)
    assert figures["sessions_completed"] == 1
    assert figures["minutes_learned"] == 12


def test_only_completed_sessions_count_on_both_sides(app, make_user):
    mentor, learner = make_user(role="mentor"), make_user()
    held = make_session(mentor, starts_at=START, status="completed", started_at=START, ended_at=at(45))
    attended(held, learner, (0, 50))
    # Attended, but not completed yet (its settlement has not run): in neither figure.
    live = make_session(mentor, starts_at=at(60 * 24), status="live", started_at=at(60 * 24))
    attended(live, learner, (60 * 24, 60 * 24 + 30))
    figures = dashboards.learner_figures(learner)
    assert (figures["sessions_completed"], figures["minutes_learned"]) == (1, 45)


def test_the_page_shows_minutes_not_a_rounded_zero(client, auth, make_user):
    mentor = make_user(role="mentor")
    learner = make_user(email="ravi@example.com")
    session = make_session(mentor, starts_at=START, status="completed", started_at=START, ended_at=at(60))
    attended(session, learner, (0, 2), (50, 75))
    auth.login("ravi@example.com")
    page = client.get("/learn").get_data(as_text=True)
    assert 'data-figure="time-learned">12 min<' in page
    assert 'data-figure="sessions-completed">1<' in page
