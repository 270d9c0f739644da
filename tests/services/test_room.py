"""The room's rules: who enters when, start and end, attendance and TURN credentials."""

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest

from peerlearn.exceptions import Conflict, NotFound, PermissionDenied
from peerlearn.extensions import db
from peerlearn.models import utcnow
from peerlearn.services import attendance, room
from peerlearn.services import booking as booking_service
from tests import factories


@pytest.fixture
def setup(make_user, time_machine):
    time_machine.move_to(utcnow())
    mentor = make_user(role="mentor")
    learner, stranger = make_user(), make_user()
    session = factories.make_session(mentor, starts_at=utcnow() + timedelta(minutes=30), duration_minutes=60)
    booking_service.book(session.id, learner)
    return mentor, learner, stranger, session


def code(refusal):
    return refusal.code if refusal else None


def test_entry_window_and_seats(setup, time_machine):
    mentor, learner, stranger, session = setup
    assert code(room.entry_refusal(learner, session)) == "not_open_yet"  # 30 min before
    time_machine.shift(timedelta(minutes=16))  # 14 min before: the room is open
    assert room.entry_refusal(learner, session) is None
    assert room.entry_refusal(mentor, session) is None
    assert code(room.entry_refusal(stranger, session)) == "no_seat"
    time_machine.shift(timedelta(minutes=14 + 60 + 30))  # end + grace
    assert code(room.entry_refusal(learner, session)) == "session_ended"


def test_start_and_end_by_the_mentor_only(setup, time_machine):
    mentor, learner, _stranger, session = setup
    with pytest.raises(Conflict) as early:
        room.start(mentor, session.id)
    assert early.value.code == "too_early"
    time_machine.shift(timedelta(minutes=20))
    with pytest.raises(NotFound):
        room.start(learner, session.id)
    assert room.start(mentor, session.id).status == "live"
    assert room.start(mentor, session.id).status == "live"  # a second click changes nothing
    room.record_join(session.id, mentor.id, "sid-mentor")
    room.record_join(session.id, learner.id, "sid-learner")
    with pytest.raises(NotFound):
        room.end(learner, session.id)
    with pytest.raises(Conflict) as early:  # ten minutes before the start
        room.end(mentor, session.id)
    assert early.value.code == "too_early"
    time_machine.shift(timedelta(minutes=10 + 45))
    ended = room.end(mentor, session.id)
    assert ended.status == "completed" and ended.ended_at is not None
    assert code(room.entry_refusal(learner, session)) == "session_ended"


def test_attendance_minutes_count_overlaps_once(setup, time_machine):
    _mentor, learner, _stranger, session = setup
    time_machine.move_to(session.starts_at - timedelta(minutes=5))
    room.record_join(session.id, learner.id, "sid-a")
    time_machine.move_to(session.starts_at + timedelta(minutes=20))
    room.record_join(session.id, learner.id, "sid-b")  # a reload: the first stay closes
    time_machine.move_to(session.starts_at + timedelta(minutes=45))
    assert room.record_leave(session.id, learner.id, "sid-b") is True
    assert room.record_leave(session.id, learner.id, "sid-b") is False
    assert attendance.minutes_attended(session.id, learner.id) == 45


def test_removed_participant_cannot_come_back(setup, time_machine):
    mentor, learner, _stranger, session = setup
    time_machine.shift(timedelta(minutes=20))
    room.remove_participant(mentor, session.id, learner.id)
    assert code(room.entry_refusal(learner, session)) == "removed"
    with pytest.raises(PermissionDenied):
        room.session_for_entry(learner, session.id)


def test_chat_is_validated_and_kept(setup):
    _mentor, learner, _stranger, session = setup
    from peerlearn.exceptions import ValidationError

    for bad in ("", "   ", "x" * 2001, 42):
        with pytest.raises(ValidationError):
            room.add_chat(session.id, learner.id, bad)
    room.add_chat(session.id, learner.id, "<b>hello</b>")
    assert [m.body for m in room.chat_history(session.id)] == ["<b>hello</b>"]


def test_turn_credentials_follow_the_coturn_scheme(app, setup):
    _mentor, learner, _stranger, _session = setup
    assert room.ice_servers(learner) == []
    app.config.update(TURN_SECRET="s3cret", TURN_URLS=["turn:turn.example.org:3478"], TURN_TTL_SECONDS=600)  # noqa: S106 - a test's own credential, not a secret
    (server,) = room.ice_servers(learner)
    expiry, user_id = server["username"].split(":")
    assert int(user_id) == learner.id and int(expiry) > utcnow().timestamp()
    expected = base64.b64encode(
        hmac.new(b"s3cret", server["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert server["credential"] == expected and server["urls"] == ["turn:turn.example.org:3478"]


def test_room_page_and_ice_endpoint_refuse_strangers(setup, client, auth, time_machine):
    _mentor, learner, stranger, session = setup
    time_machine.shift(timedelta(minutes=20))
    db.session.commit()
    auth.login(stranger.email)
    assert client.get(f"/sessions/{session.id}/room").status_code == 403
    assert client.get(f"/api/sessions/{session.id}/ice-servers/").status_code == 403
    auth.logout()
    auth.login(learner.email)
    assert client.get(f"/api/sessions/{session.id}/ice-servers/").status_code == 200


@pytest.fixture
def two_learners(setup, make_user):
    mentor, learner, _stranger, session = setup
    other = make_user()
    booking_service.book(session.id, other)
    return mentor, learner, other, session


def booking_status(session, learner):
    return booking_service.active_booking(session.id, learner.id).status


def test_ending_marks_who_came_attended_and_who_did_not_no_show(two_learners, time_machine):
    mentor, came, stayed_away, session = two_learners
    time_machine.shift(timedelta(minutes=25))
    room.start(mentor, session.id)
    room.record_join(session.id, mentor.id, "sid-mentor")
    room.record_join(session.id, came.id, "sid-learner")  # still in the room when it ends
    time_machine.shift(timedelta(minutes=40))
    room.end(mentor, session.id)
    assert booking_status(session, came) == "attended"
    assert booking_status(session, stayed_away) == "no_show"
    assert attendance.minutes_attended(session.id, came.id) == 35


def test_a_session_its_mentor_never_opened_was_not_held(two_learners, time_machine):
    """Before settlement by attendance such a session completed with its bookings left
    confirmed; now it did not take place: cancelled, its bookings with it."""
    from peerlearn.services.sessions import complete_due_sessions

    _mentor, came, stayed_away, session = two_learners
    time_machine.shift(timedelta(minutes=31))
    room.record_join(session.id, came.id, "sid-learner")
    time_machine.shift(timedelta(minutes=60 + 31))  # past the end and the grace period
    assert complete_due_sessions() == 1
    db.session.refresh(session)
    assert session.status == "cancelled" and session.mentor_present_minutes == 0
    assert session.cancel_reason.startswith("Not held: the mentor didn't come to the room")
    assert booking_service.active_booking(session.id, came.id) is None
    assert booking_service.active_booking(session.id, stayed_away.id) is None


def test_the_sweep_settles_attendance_when_nobody_ended_the_session(two_learners, time_machine):
    from peerlearn.services.sessions import complete_due_sessions

    mentor, came, stayed_away, session = two_learners
    time_machine.shift(timedelta(minutes=31))
    room.record_join(session.id, mentor.id, "sid-mentor")
    room.record_join(session.id, came.id, "sid-learner")
    time_machine.shift(timedelta(minutes=60 + 27))  # 28 minutes after the end
    assert complete_due_sessions() == 0  # still within the grace period
    time_machine.shift(timedelta(minutes=3))
    assert complete_due_sessions() == 1
    assert booking_status(session, came) == "attended"
    assert booking_status(session, stayed_away) == "no_show"
