"""The session's recording setting and the capture's bookkeeping.

The setting: the mentor turns "Record this session" on in the form or the API; learners see it on
the session page and the pay page before they pay; it can be turned on only while nobody holds
or has a seat (those who booked were told it would not be recorded), and off at any time.

The capture (services/recording_capture.py), with Janus's side stubbed where a test is about the
bookkeeping (the socket tests run it against a real Janus): spans, refusals, the session's end.
"""

import os
import re
import stat
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from peerlearn.exceptions import Conflict, MediaUnavailable, NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import LearningSession, Recording, RecordingConsent
from peerlearn.services import booking as booking_service
from peerlearn.services import media
from peerlearn.services import recording_capture as capture
from peerlearn.services import room as room_service
from peerlearn.services import sessions as session_service
from tests.conftest import extract_csrf
from tests.factories import make_session

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="asha@example.com", name="Asha Raman", timezone="Asia/Kolkata")


@pytest.fixture
def learner(make_user):
    return make_user(email="rohan@example.com", name="Rohan Gupta")


def fresh(session_id):
    db.session.expire_all()
    return db.session.get(LearningSession, session_id)


# ----- the setting -------------------------------------------------------------------------------


def test_it_can_be_turned_on_before_the_first_booking_only_and_off_at_any_time(mentor, learner):
    session = make_session(mentor, price_paise=49900)
    session_service.update_session(mentor, session.id, {"recording_enabled": True})
    assert fresh(session.id).recording_enabled is True
    session_service.update_session(mentor, session.id, {"recording_enabled": False})
    assert fresh(session.id).recording_enabled is False

    booking_service.book(session.id, learner)  # a seat held for payment counts
    with pytest.raises(Conflict) as refused:
        session_service.update_session(mentor, session.id, {"recording_enabled": True})
    assert refused.value.code == "recording_locked"
    assert refused.value.fields == {"recording_enabled": ["Only before the first booking."]}
    assert fresh(session.id).recording_enabled is False
    # Saying "off" again is no change, and allowed.
    session_service.update_session(mentor, session.id, {"recording_enabled": False})

    recorded = make_session(mentor, recording_enabled=True)
    booking_service.book(recorded.id, learner)
    session_service.update_session(mentor, recorded.id, {"recording_enabled": False})
    assert fresh(recorded.id).recording_enabled is False


def test_the_setting_is_true_or_false(mentor):
    session = make_session(mentor)
    for value in ("yes", 1, None, []):
        with pytest.raises(ValidationError) as refused:
            session_service.update_session(mentor, session.id, {"recording_enabled": value})
        assert refused.value.fields == {"recording_enabled": ["Use true or false."]}


def test_the_api_writes_and_shows_it(client, mentor, learner, api_token):
    headers = {"Authorization": f"Bearer {api_token(mentor.email)}"}
    body = {"title": "Recorded SQL", "category": "Data & AI", "starts_at": "2026-12-01T18:30"}
    response = client.post("/api/sessions/create/", json={**body, "recording_enabled": True}, headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert data["recording_enabled"] is True
    plain = client.post("/api/sessions/create/", json=body, headers=headers).get_json()["data"]
    assert plain["recording_enabled"] is False

    response = client.patch(f"/api/sessions/{data['id']}/", json={"recording_enabled": "on"}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"recording_enabled": ["Use true or false."]}
    response = client.patch(
        f"/api/sessions/{data['id']}/", json={"recording_enabled": False}, headers=headers
    )
    assert response.status_code == 200 and response.get_json()["data"]["recording_enabled"] is False

    published = make_session(mentor, price_paise=0, recording_enabled=True)
    response = client.get(f"/api/sessions/{published.id}/")
    assert response.get_json()["data"]["recording_enabled"] is True
    listed = client.get("/api/sessions/").get_json()["data"]["items"]
    assert {item["id"]: item["recording_enabled"] for item in listed} == {published.id: True}

    booking_service.book(published.id, learner)
    client.patch(f"/api/sessions/{published.id}/", json={"recording_enabled": False}, headers=headers)
    response = client.patch(
        f"/api/sessions/{published.id}/", json={"recording_enabled": True}, headers=headers
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "recording_locked"


def test_the_form_sets_it_and_locks_it_on_after_a_booking(client, auth, mentor, learner):
    session = make_session(mentor, starts_at=NOW + timedelta(days=3))
    auth.login(mentor.email)
    path = f"/teach/sessions/{session.id}/edit"
    page = client.get(path).get_data(as_text=True)
    assert "Record this session" in page and 'name="recording_enabled"' in page
    data = {
        "csrf_token": extract_csrf(page),
        "title": session.title,
        "category": session.category,
        "level": session.level,
        "language": session.language,
        "start_date": "2026-11-23",
        "start_time": "11:30",
        "duration_minutes": "60",
        "capacity": "5",
        "price": "0",
        "recording_enabled": "y",
        "action": "save",
    }
    assert client.post(path, data=data).status_code == 303
    assert fresh(session.id).recording_enabled is True
    data.pop("recording_enabled")  # unticked: browsers send nothing
    assert client.post(path, data=data).status_code == 303
    assert fresh(session.id).recording_enabled is False

    booking_service.book(session.id, learner)
    page = client.get(path).get_data(as_text=True)
    assert "only be turned on before anyone books" in page
    [checkbox] = re.findall(r"<input[^>]*\bname=\"recording_enabled\"[^>]*>", page)
    assert re.search(r"\bdisabled\b", checkbox), checkbox
    # A hand-made request to turn it on is refused on the form.
    response = client.post(path, data={**data, "recording_enabled": "y"})
    assert response.status_code == 409 and "Only before the first booking." in response.get_data(as_text=True)
    assert fresh(session.id).recording_enabled is False


def test_learners_are_told_on_the_session_page_and_the_pay_page(client, auth, mentor, learner):
    session = make_session(mentor, price_paise=49900, recording_enabled=True)
    plain = make_session(mentor, price_paise=49900)
    notice = "This session will be recorded. You can choose to stay out of the recording."
    assert notice in client.get(f"/sessions/{session.id}").get_data(as_text=True)  # a visitor
    assert notice not in client.get(f"/sessions/{plain.id}").get_data(as_text=True)
    auth.login(learner.email)
    assert notice in client.get(f"/sessions/{session.id}").get_data(as_text=True)
    booking, _ = booking_service.book(session.id, learner)
    assert notice in client.get(f"/bookings/{booking.id}/pay").get_data(as_text=True)
    other, _ = booking_service.book(plain.id, learner)
    assert "will be recorded" not in client.get(f"/bookings/{other.id}/pay").get_data(as_text=True)


# ----- the capture's bookkeeping -------------------------------------------------------------------


@pytest.fixture
def in_room(app, mentor, learner, frozen_clock, tmp_path, monkeypatch):
    """A recorded session six minutes into its room window, its (browser-to-browser) room open,
    and Janus's side of recording stubbed: what it was asked is in ``calls``."""
    app.config["RECORDINGS_RAW_DIR"] = str(tmp_path / "raw")
    session = make_session(mentor, starts_at=NOW + timedelta(minutes=5), recording_enabled=True)
    booking_service.book(session.id, learner)
    frozen_clock.move_to(NOW + timedelta(minutes=6))
    room_service.start(mentor, session.id)
    media.open_room(session)
    calls = []
    monkeypatch.setattr(media, "recording_refusal", lambda session_id: None)
    monkeypatch.setattr(media, "set_recording", lambda *args: calls.append(args))
    return {"session": session, "calls": calls, "raw": str(tmp_path / "raw" / str(session.id))}


def test_spans_follow_starts_and_stops(in_room, mentor, frozen_clock):
    sid, calls = in_room["session"].id, in_room["calls"]
    assert capture.start(mentor, sid)["recording"] is True
    assert calls == [(sid, True, in_room["raw"])]
    # Made before Janus writes into it, for the app's group (Janus's user in production).
    assert stat.S_IMODE(os.stat(in_room["raw"]).st_mode) == 0o2770
    frozen_clock.shift(timedelta(seconds=30))
    assert capture.stop(mentor, sid) == {"recording": False, "since": None}
    frozen_clock.shift(timedelta(seconds=10))
    started = capture.start(mentor, sid)
    assert started == {"recording": True, "since": "2026-11-20T06:06:40.000+00:00"}
    recording = db.session.scalar(select(Recording).where(Recording.session_id == sid))
    assert recording.spans == [
        {"start": "2026-11-20T06:06:00.000+00:00", "stop": "2026-11-20T06:06:30.000+00:00"},
        {"start": "2026-11-20T06:06:40.000+00:00", "stop": None},
    ]
    assert calls == [(sid, True, in_room["raw"]), (sid, False), (sid, True, in_room["raw"])]


def test_a_refusing_janus_stores_nothing(in_room, mentor, monkeypatch):
    sid = in_room["session"].id

    def refuse(*_args):
        raise MediaUnavailable("The video server could not start recording. Try again in a moment.")

    monkeypatch.setattr(media, "set_recording", refuse)
    with pytest.raises(MediaUnavailable):
        capture.start(mentor, sid)
    db.session.expire_all()
    assert db.session.scalar(select(Recording).where(Recording.session_id == sid)) is None
    assert db.session.get(RecordingConsent, (sid, mentor.id)) is None


def test_a_stop_janus_refuses_keeps_the_span_open(in_room, mentor, monkeypatch):
    sid = in_room["session"].id
    capture.start(mentor, sid)

    def refuse(*_args):
        raise MediaUnavailable("The video server could not stop recording. Try again in a moment.")

    monkeypatch.setattr(media, "set_recording", refuse)
    with pytest.raises(MediaUnavailable):
        capture.stop(mentor, sid)
    db.session.expire_all()
    assert capture.state_of(capture.recording_of(sid))["recording"] is True  # still shown as recording


def test_only_its_mentor_starts_it(in_room, learner, make_user):
    sid = in_room["session"].id
    with pytest.raises(PermissionDenied) as refused:
        capture.start(learner, sid)
    assert refused.value.code == "mentor_only"
    other_mentor = make_user(role="mentor", email="other@example.com")
    with pytest.raises(PermissionDenied):
        capture.start(other_mentor, sid)  # not even in the room
    assert in_room["calls"] == []


def test_who_is_out_of_the_recording_follows_the_answers(in_room, mentor, learner):
    sid = in_room["session"].id
    session = in_room["session"]

    def out(user):
        db.session.expire_all()
        return capture.exclusion(capture.room_state(user, session, "janus"))

    assert out(learner) is None and capture.publish_refusal(out(learner)) is None  # nothing records
    capture.start(mentor, sid)
    assert out(mentor) is None
    assert out(learner) == "unanswered"
    assert capture.publish_refusal("unanswered").code == "recording_consent"
    capture.set_consent(learner, sid, True)
    assert out(learner) is None
    capture.set_consent(learner, sid, False)
    assert out(learner) == "declined" and "stay out" in capture.publish_refusal("declined").message
    people = [
        {"user_id": mentor.id, "role": "mentor"},
        {"user_id": learner.id, "role": "learner"},
        {"user_id": 999, "role": "learner"},
    ]
    assert capture.left_out(sid, people) == {learner.id: "declined", 999: "unanswered"}
    capture.stop(mentor, sid)
    assert out(learner) is None


def test_the_sessions_end_closes_the_span_then_queues_the_composition(
    in_room, mentor, frozen_clock, monkeypatch
):
    from peerlearn.services import recordings

    queued = []
    monkeypatch.setattr(recordings, "queue_composition", queued.append)
    sid = in_room["session"].id
    capture.start(mentor, sid)
    frozen_clock.shift(timedelta(seconds=25))
    closed = []
    monkeypatch.setattr(media, "close", lambda session_id, now=None: closed.append((session_id, len(queued))))

    recording_id = capture.session_over(sid)
    recording = db.session.get(Recording, recording_id)
    assert recording.spans == [
        {"start": "2026-11-20T06:06:00.000+00:00", "stop": "2026-11-20T06:06:25.000+00:00"}
    ]
    # Janus stopped, then the room closed, then the job was queued.
    assert in_room["calls"][-1] == (sid, False)
    assert closed == [(sid, 0)] and queued == [recording_id]

    # A session that was never recorded has nothing to queue.
    assert capture.session_over(make_session(mentor).id) is None
    assert queued == [recording_id]


def test_a_session_cancelled_while_recording_stops_janus_and_discards_what_it_wrote(
    in_room, mentor, frozen_clock, monkeypatch
):
    from pathlib import Path

    from peerlearn.services import recordings

    queued = []
    monkeypatch.setattr(recordings, "queue_composition", queued.append)
    sid = in_room["session"].id
    capture.start(mentor, sid)
    raw = Path(in_room["raw"])
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "videoroom-1-user-11-video-1.mjr").write_bytes(b"MJR00002")
    frozen_clock.shift(timedelta(seconds=20))

    session_service.cancel_session(mentor, sid, reason="The projector caught fire")

    recording = fresh_recording(sid)
    assert recording.status == "deleted" and recording.deleted_by_id is None
    assert "cancelled" in recording.delete_reason
    assert recording.spans[-1]["stop"] == "2026-11-20T06:06:20.000+00:00"
    assert in_room["calls"][-1] == (sid, False)  # Janus was told to stop
    assert not raw.exists() and queued == []  # nothing left, nothing to compose
    # Its mentor cannot start it again in a cancelled session.
    with pytest.raises((Conflict, PermissionDenied, NotFound)):
        capture.start(mentor, sid)


def fresh_recording(session_id):
    db.session.expire_all()
    return db.session.scalar(select(Recording).where(Recording.session_id == session_id))
