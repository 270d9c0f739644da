"""Going live and ending a session over the JSON API: the mentor only, inside the room's window,
and everyone in the room (or watching from elsewhere) is told."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, MediaRoom, Notification, utcnow
from peerlearn.services import booking as booking_service
from tests.conftest import extract_csrf
from tests.factories import make_session


@pytest.fixture
def soon(make_user, time_machine):
    """A free session 30 minutes ahead with one booked learner; the clock stands still."""
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    mentor = make_user(email="mentor@example.com", role="mentor", name="Meera Mentor")
    learner = make_user(email="ana@example.com", name="Ana Learner")
    make_user(email="other@example.com", role="mentor", name="Omar Othermentor")
    session = make_session(mentor, starts_at=now + timedelta(minutes=30), title="Practical Flask")
    booking, _ = booking_service.book(session.id, learner)
    assert booking.status == "confirmed"
    return session


def events(sio, name):
    return [event["args"][0] for event in sio.get_received() if event["name"] == name]


def post(client, token, path, **kwargs):
    return client.post(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def status_of(session):
    db.session.expire_all()
    return db.session.get(LearningSession, session.id).status


def test_the_mentor_goes_live_inside_the_window_and_booked_learners_hear(
    client, api_token, soon, connect, time_machine
):
    token = api_token("mentor@example.com")
    learner_socket = connect("ana@example.com")

    response = post(client, token, f"/api/sessions/{soon.id}/start/")
    assert response.status_code == 409
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == "too_early"
    assert "15 minutes before" in body["message"]
    assert status_of(soon) == "scheduled"
    assert events(learner_socket, "session:started") == []

    time_machine.shift(timedelta(minutes=20))  # ten minutes before the start
    response = post(client, token, f"/api/sessions/{soon.id}/start/")
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True and body["data"]["id"] == soon.id and body["data"]["status"] == "live"
    assert status_of(soon) == "live"
    assert events(learner_socket, "session:started") == [{"session_id": soon.id, "title": "Practical Flask"}]
    learner_id = db.session.scalar(select(Booking.learner_id).where(Booking.session_id == soon.id))
    [note] = db.session.scalars(
        select(Notification).where(Notification.user_id == learner_id, Notification.kind == "session_started")
    ).all()
    assert note.url == f"/sessions/{soon.id}/room"

    # Again: already live, nothing changes and nobody is told twice.
    assert post(client, token, f"/api/sessions/{soon.id}/start/").status_code == 200
    assert events(learner_socket, "session:started") == []


def test_starting_after_the_room_has_closed_is_too_late(client, api_token, soon, time_machine):
    time_machine.move_to(soon.ends_at + timedelta(minutes=31), tick=False)
    response = post(client, api_token("mentor@example.com"), f"/api/sessions/{soon.id}/start/")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "too_late"
    assert status_of(soon) == "scheduled"


def test_a_draft_cannot_be_started(client, api_token, soon, time_machine):
    draft = make_session(soon.mentor, starts_at=soon.starts_at, status="draft")
    time_machine.shift(timedelta(minutes=20))
    response = post(client, api_token("mentor@example.com"), f"/api/sessions/{draft.id}/start/")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_startable"


def test_only_the_sessions_mentor_can_start_or_end_it(client, api_token, soon, time_machine):
    time_machine.shift(timedelta(minutes=20))
    learner, other_mentor = api_token("ana@example.com"), api_token("other@example.com")
    for action in ("start", "end"):
        response = post(client, learner, f"/api/sessions/{soon.id}/{action}/")
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_a_mentor"
        response = post(client, other_mentor, f"/api/sessions/{soon.id}/{action}/")
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
        response = post(client, other_mentor, f"/api/sessions/999999/{action}/")
        assert response.status_code == 404
        response = client.post(f"/api/sessions/{soon.id}/{action}/")
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "authentication_required"
    assert status_of(soon) == "scheduled"


def test_an_install_that_cannot_open_rooms_says_so(app, client, api_token, soon, time_machine):
    app.config.update(ALLOW_MESH_ROOMS=False, JANUS_INSTANCES=[])
    time_machine.shift(timedelta(minutes=20))
    response = post(client, api_token("mentor@example.com"), f"/api/sessions/{soon.id}/start/")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "media_not_configured"
    assert status_of(soon) == "scheduled"


def test_a_body_that_is_not_json_is_refused(client, api_token, soon, time_machine):
    time_machine.shift(timedelta(minutes=20))
    token = api_token("mentor@example.com")
    response = post(client, token, f"/api/sessions/{soon.id}/start/", data="go", content_type="text/plain")
    assert response.status_code == 415
    assert status_of(soon) == "scheduled"


def test_a_signed_in_browser_needs_the_csrf_token(client, auth, soon, time_machine):
    time_machine.shift(timedelta(minutes=20))
    auth.login("mentor@example.com")
    response = client.post(f"/api/sessions/{soon.id}/start/")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"
    assert status_of(soon) == "scheduled"

    token = extract_csrf(client.get(f"/sessions/{soon.id}").get_data(as_text=True))
    response = client.post(f"/api/sessions/{soon.id}/start/", headers={"X-CSRFToken": token})
    assert response.status_code == 200 and status_of(soon) == "live"


def test_ending_completes_the_session_and_tells_the_room(client, api_token, soon, connect, time_machine):
    time_machine.shift(timedelta(minutes=31))
    token = api_token("mentor@example.com")
    assert post(client, token, f"/api/sessions/{soon.id}/start/").status_code == 200
    mentor_socket, in_room, elsewhere = (
        connect("mentor@example.com"),
        connect("ana@example.com"),
        connect("ana@example.com"),
    )
    for sio in (mentor_socket, in_room):
        assert sio.emit("room:join", {"session_id": soon.id}, callback=True)["ok"]
    for sio in (mentor_socket, in_room, elsewhere):
        sio.get_received()
    assert db.session.get(MediaRoom, soon.id).closed_at is None
    time_machine.shift(timedelta(minutes=30))  # the mentor was there for half of it: held

    response = post(client, token, f"/api/sessions/{soon.id}/end/")
    assert response.status_code == 200
    body = response.get_json()
    assert body["data"]["status"] == "completed"
    assert body["message"] == "Session ended for everyone. Thanks for teaching!"
    assert status_of(soon) == "completed"

    ended = {"session_id": soon.id, "status": "completed"}
    received = in_room.get_received()
    assert [e["args"][0] for e in received if e["name"] == "room:ended"] == [ended]
    assert [e["args"][0] for e in received if e["name"] == "session:ended"] == [ended]
    # The learner's other tab (a dashboard, say) is not in the room but hears it ended.
    received = elsewhere.get_received()
    assert [e["name"] for e in received] == ["session:ended"] and received[0]["args"][0] == ended
    db.session.expire_all()
    assert db.session.get(MediaRoom, soon.id).closed_at is not None
    # The learner was in the room with the mentor: attended.
    assert db.session.scalar(select(Booking.status).where(Booking.session_id == soon.id)) == "attended"
    # Nobody gets back in.
    ack = in_room.emit("room:join", {"session_id": soon.id}, callback=True)
    assert ack["error"]["code"] == "session_ended"

    # Ending it again changes nothing.
    response = post(client, token, f"/api/sessions/{soon.id}/end/")
    assert response.status_code == 200 and response.get_json()["data"]["status"] == "completed"
    response = post(client, token, f"/api/sessions/{soon.id}/start/")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_startable"


def test_ending_before_the_room_opens_is_refused(client, api_token, soon):
    response = post(client, api_token("mentor@example.com"), f"/api/sessions/{soon.id}/end/")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "too_early"
    assert status_of(soon) == "scheduled"


def test_the_room_pages_end_form_tells_the_room_too(client, auth, soon, connect, time_machine):
    time_machine.shift(timedelta(minutes=31))
    in_room = connect("ana@example.com")
    mentor_socket = connect("mentor@example.com")
    for sio in (mentor_socket, in_room):
        assert sio.emit("room:join", {"session_id": soon.id}, callback=True)["ok"]
    in_room.get_received()
    time_machine.shift(timedelta(minutes=30))

    auth.login("mentor@example.com")
    token = extract_csrf(client.get(f"/sessions/{soon.id}/room").get_data(as_text=True))
    response = client.post(f"/sessions/{soon.id}/end", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/sessions/{soon.id}")
    assert events(in_room, "room:ended") == [{"session_id": soon.id, "status": "completed"}]
    assert status_of(soon) == "completed"


def test_a_hindi_mentor_going_live_over_the_api_reads_the_answer_in_hindi(
    client, api_token, soon, time_machine
):
    soon.mentor.locale = "hi"
    db.session.commit()
    time_machine.shift(timedelta(minutes=20))
    response = post(client, api_token("mentor@example.com"), f"/api/sessions/{soon.id}/start/")
    assert response.status_code == 200
    assert response.get_json()["message"] == "आप लाइव हैं। जिन लर्नर ने बुक किया था, उन्हें बता दिया गया है।"
