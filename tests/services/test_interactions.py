"""The interaction log: page views and searches are written after the response has gone out;
bookings, room attendance, completions and gifts in the transaction that makes them."""

from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Interaction
from peerlearn.services import attendance
from peerlearn.services import booking as booking_service
from peerlearn.services import room as room_service
from tests.factories import make_session


def logged(user_id):
    db.session.expire_all()
    return [
        (row.kind, row.session_id, row.mentor_id, row.query)
        for row in db.session.scalars(
            select(Interaction).where(Interaction.user_id == user_id).order_by(Interaction.id)
        )
    ]


def test_views_and_searches_are_logged_after_the_response(client, auth, make_user):
    learner = make_user(email="viewer@example.com")
    mentor = make_user(role="mentor")
    session = make_session(mentor, title="Graph algorithms")
    auth.login("viewer@example.com")

    response = client.get(f"/sessions/{session.id}")
    assert response.status_code == 200
    response.close()  # the server has finished sending it
    response = client.get("/sessions?q=graphs")
    response.close()
    client.get("/sessions?q=graphs&page=2").close()  # later pages of one search are not new searches
    client.get(f"/sessions/{session.id}?x=1").close()
    assert logged(learner.id) == [
        ("view", session.id, mentor.id, ""),
        ("search", None, None, "graphs"),
        ("view", session.id, mentor.id, ""),
    ]


def test_anonymous_visitors_and_the_mentor_are_not_logged(client, auth, make_user):
    mentor = make_user(role="mentor", email="owner@example.com")
    session = make_session(mentor)
    client.get(f"/sessions/{session.id}").close()
    auth.login("owner@example.com")
    client.get(f"/sessions/{session.id}").close()
    assert db.session.scalar(select(Interaction.id)) is None


def test_booking_attendance_and_completion_are_logged_once(app, make_user):
    learner = make_user()
    mentor = make_user(role="mentor")
    session = make_session(mentor)
    booking_service.book(session.id, learner)
    room_service.record_join(session.id, mentor.id, "mentor-socket")
    room_service.record_join(session.id, learner.id, "socket-1")
    room_service.record_join(session.id, learner.id, "socket-2")  # a reload
    attendance.settle_attendance(session)
    attendance.settle_attendance(session)  # twice: still one completion
    db.session.commit()
    kinds = [kind for kind, *_ in logged(learner.id)]
    assert kinds == ["book", "attend", "complete"]
    assert logged(mentor.id) == []
