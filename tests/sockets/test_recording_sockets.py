"""The room's recording controls over Socket.IO, against a real (loopback) Janus: only the mentor
starts and stops it, only when the session allows it and the room has a video server; the room
hears the state and late joiners get it in their join answer; learners' answers are stored and
a learner who is not in the recording can't turn a camera or microphone on while it runs."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from peerlearn.extensions import db
from peerlearn.models import LearningSession, MediaRoom, Recording, RecordingConsent
from peerlearn.services import media
from tests.support.sockets import join, received


@pytest.fixture
def recorded(app, room, tmp_path):
    """The room fixture's session with "Record this session" on, raw feeds under tmp_path."""
    app.config["RECORDINGS_RAW_DIR"] = str(tmp_path / "raw")
    session = db.session.get(LearningSession, room["session"].id)
    session.recording_enabled = True
    db.session.commit()
    return room


def janus_room_info(session_id):
    """What Janus itself says about the session's room: recorded or not, and where."""
    row = db.session.get(MediaRoom, session_id)
    janus = media.client(next(i for i in media.instances() if i.name == row.instance))
    rooms = janus.videoroom({"request": "list", "admin_key": janus.admin_key})[0]["list"]
    return next(item for item in rooms if item["room"] == row.janus_room)


def recording_row(session_id):
    db.session.expire_all()
    return db.session.scalar(db.select(Recording).where(Recording.session_id == session_id))


def start(sio, sid):
    return sio.emit("recording:start", {"session_id": sid}, callback=True)


def stop(sio, sid):
    return sio.emit("recording:stop", {"session_id": sid}, callback=True)


def consent(sio, sid, consented):
    return sio.emit("recording:consent", {"session_id": sid, "consented": consented}, callback=True)


@pytest.mark.usefixtures("janus_app")
def test_the_mentor_starts_and_stops_janus_recording_and_the_room_hears_it(recorded, connect, tmp_path):
    sid = recorded["session"].id
    mentor, ana = connect("mentor@example.com"), connect("ana@example.com")
    assert start(mentor, sid)["error"]["code"] == "not_in_room"
    join(mentor, sid)
    answer = join(ana, sid)["recording"]
    assert answer == {
        "enabled": True,
        "available": True,
        "reason": "",
        "recording": False,
        "since": None,
        "consent": None,
    }
    assert janus_room_info(sid)["record"] is False
    received(ana)

    ack = start(mentor, sid)
    assert ack["ok"] and ack["recording"] is True and ack["since"]
    raw_dir = str(tmp_path / "raw" / str(sid))
    info = janus_room_info(sid)
    assert info["record"] is True and info["rec_dir"] == raw_dir and info["lock_record"] is True
    states = received(ana, "recording:state")
    assert states == [{"session_id": sid, "recording": True, "since": ack["since"]}]
    row = recording_row(sid)
    assert row.status == "recording" and row.raw_dir == raw_dir
    assert row.spans == [{"start": ack["since"], "stop": None}]
    # The mentor is in what they record.
    assert db.session.get(RecordingConsent, (sid, recorded["mentor"].id)).consented is True

    # Starting again while it records changes nothing.
    assert start(mentor, sid)["since"] == ack["since"] and len(recording_row(sid).spans) == 1
    assert received(ana, "recording:state") == states  # the same state again

    # A late joiner hears it in the join answer.
    ben = connect("ben@example.com")
    late = join(ben, sid)["recording"]
    assert late["recording"] is True and late["since"] == ack["since"] and late["consent"] is None
    # And is asked before their camera goes on.
    on = {"session_id": sid, "audio": False, "video": True, "screen": False}
    assert ben.emit("media:state", on, callback=True)["error"]["code"] == "recording_consent"

    stopped = stop(mentor, sid)
    assert stopped["ok"] and stopped["recording"] is False and stopped["since"] is None
    assert janus_room_info(sid)["record"] is False
    assert received(ana, "recording:state") == [{"session_id": sid, "recording": False, "since": None}]
    spans = recording_row(sid).spans
    assert len(spans) == 1 and spans[0]["start"] == ack["since"] and spans[0]["stop"] >= spans[0]["start"]
    assert stop(mentor, sid)["ok"]  # nothing records: nothing changes
    assert recording_row(sid).spans == spans

    # A second start is a second span, into the same folder.
    again = start(mentor, sid)
    row = recording_row(sid)
    assert len(row.spans) == 2 and row.spans[1] == {"start": again["since"], "stop": None}
    assert janus_room_info(sid)["rec_dir"] == raw_dir
    assert Path(raw_dir).parent == tmp_path / "raw"


@pytest.mark.usefixtures("janus_app")
def test_only_the_mentor_controls_it(recorded, connect):
    sid = recorded["session"].id
    mentor, ana = connect("mentor@example.com"), connect("ana@example.com")
    join(mentor, sid)
    join(ana, sid)
    for attempt in (start, stop):
        reply = attempt(ana, sid)
        assert reply["ok"] is False and reply["error"]["code"] == "mentor_only"
    assert recording_row(sid) is None
    assert janus_room_info(sid)["record"] is False
    # An outsider can't even get in to try.
    outsider = connect("out@example.com")
    assert start(outsider, sid)["error"]["code"] == "not_in_room"


@pytest.mark.usefixtures("janus_app")
def test_a_session_without_recording_cannot_be_recorded(room, connect):
    sid = room["session"].id
    mentor = connect("mentor@example.com")
    answer = join(mentor, sid)["recording"]
    assert answer["enabled"] is False and answer["recording"] is False
    reply = start(mentor, sid)
    assert reply["ok"] is False and reply["error"]["code"] == "recording_disabled"
    assert "Record this session" in reply["error"]["message"]
    assert recording_row(sid) is None and janus_room_info(sid)["record"] is False
    ana = connect("ana@example.com")
    join(ana, sid)
    assert consent(ana, sid, True)["error"]["code"] == "recording_disabled"


def test_a_room_without_a_video_server_cannot_record(recorded, connect):
    # No Janus configured: the room is browser to browser.
    sid = recorded["session"].id
    mentor = connect("mentor@example.com")
    ack = join(mentor, sid)
    assert ack["media"]["mode"] == "mesh"
    answer = ack["recording"]
    assert (
        answer["enabled"] is True and answer["available"] is False and "can't be recorded" in answer["reason"]
    )
    reply = start(mentor, sid)
    assert reply["ok"] is False and reply["error"]["code"] == "recording_unavailable"
    assert recording_row(sid) is None


@pytest.mark.usefixtures("janus_app")
def test_consent_is_stored_and_a_learner_out_of_the_recording_keeps_media_off(recorded, connect):
    sid = recorded["session"].id
    mentor, ana, ben = connect("mentor@example.com"), connect("ana@example.com"), connect("ben@example.com")
    for sio in (mentor, ana, ben):
        join(sio, sid)
    on = {"session_id": sid, "audio": True, "video": True, "screen": False}
    # Before it records, cameras are free.
    assert ben.emit("media:state", on, callback=True)["ok"]
    start(mentor, sid)

    # Nobody answered yet: asked first.
    refused = ben.emit("media:state", on, callback=True)
    assert refused["ok"] is False and refused["error"]["code"] == "recording_consent"
    assert "Choose whether to be in the recording" in refused["error"]["message"]

    declined = consent(ben, sid, False)
    assert declined["ok"] and declined["consent"] is False and declined["recording"] is True
    assert db.session.get(RecordingConsent, (sid, recorded["ben"].id)).consented is False
    refused = ben.emit("media:state", on, callback=True)
    assert refused["error"]["code"] == "recording_consent" and "stay out" in refused["error"]["message"]
    # Turning things off is always allowed.
    assert ben.emit("media:state", {**on, "audio": False, "video": False}, callback=True)["ok"]

    assert consent(ana, sid, True)["consent"] is True
    assert ana.emit("media:state", on, callback=True)["ok"]
    # The mentor is always in; they can't opt out of their own recording.
    assert consent(mentor, sid, False)["error"]["code"] == "mentor_always_recorded"
    assert mentor.emit("media:state", on, callback=True)["ok"]

    # A change of mind counts: the latest answer is stored.
    assert consent(ben, sid, True)["consent"] is True
    db.session.expire_all()
    assert db.session.get(RecordingConsent, (sid, recorded["ben"].id)).consented is True
    assert ben.emit("media:state", on, callback=True)["ok"]

    # Once it stops, nobody is held back.
    consent(ana, sid, False)
    stop(mentor, sid)
    assert ana.emit("media:state", on, callback=True)["ok"]


@pytest.mark.usefixtures("janus_app")
def test_ending_the_session_closes_the_span_and_queues_the_composition(
    recorded, connect, monkeypatch, time_machine
):
    from peerlearn.services import recordings

    queued = []
    monkeypatch.setattr(recordings, "queue_composition", queued.append)
    sid = recorded["session"].id
    mentor, ana = connect("mentor@example.com"), connect("ana@example.com")
    join(mentor, sid)
    join(ana, sid)
    start(mentor, sid)
    row = db.session.get(MediaRoom, sid)
    janus = media.client(next(i for i in media.instances() if i.name == row.instance))
    time_machine.shift(timedelta(seconds=20))

    ended = mentor.emit("room:end", {"session_id": sid}, callback=True)
    assert ended["ok"], ended
    recording = recording_row(sid)
    assert len(recording.spans) == 1
    span = recording.spans[0]
    assert datetime.fromisoformat(span["stop"]) - datetime.fromisoformat(span["start"]) == timedelta(
        seconds=20
    )
    assert queued == [recording.id]
    # Janus stopped and the room is gone before the job was queued (its files are complete).
    assert not janus.room_exists(row.janus_room)
    assert db.session.get(MediaRoom, sid).closed_at is not None
