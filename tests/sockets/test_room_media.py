"""The room protocol's media side: what the join answer hands out, fresh room tokens, the stage,
answered hands, and the mentor's controls reaching a real (loopback) Janus."""

from datetime import timedelta

import pytest

from peerlearn.extensions import db
from peerlearn.models import MediaRoom, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import media
from tests.factories import make_session
from tests.support.sockets import join, received

pytestmark = pytest.mark.usefixtures("janus_app")


def janus_participants(session_id):
    row = db.session.get(MediaRoom, session_id)
    instance = next(i for i in media.instances() if i.name == row.instance)
    return media.client(instance).participants(row.janus_room)


def test_the_join_answer_carries_janus_access_and_fresh_tokens_on_request(room, connect, local_janus):
    sid = room["session"].id
    ana = connect("ana@example.com")
    assert ana.emit("media:token", {"session_id": sid}, callback=True)["error"]["code"] == "not_in_room"
    ack = join(ana, sid)
    answer = ack["media"]
    assert answer["mode"] == "janus" and answer["stage"] is False
    assert answer["server"] == local_janus.instance.public
    assert answer["feeds"] == {"camera": room["ana"].id * 10 + 1, "screen": room["ana"].id * 10 + 2}
    signed, _signature = answer["core_token"].rsplit(":", 1)
    assert signed.split(",")[1:] == ["janus", "janus.plugin.videoroom"]
    assert (
        f"room={answer['room']}" in answer["room_token"] and f"user={room['ana'].id}" in answer["room_token"]
    )
    assert ack["self"]["on_stage"] is True

    token = ana.emit("media:token", {"session_id": sid}, callback=True)
    assert token["ok"] and f"room={answer['room']}" in token["room_token"] and "media" not in token

    # A page that lost its Janus session asks again with replace: the whole answer, as at a join.
    again = ana.emit("media:token", {"session_id": sid, "replace": True}, callback=True)
    assert again["ok"] and again["media"]["room"] == answer["room"]
    assert again["media"]["server"] == answer["server"]
    assert again["room_token"] == again["media"]["room_token"]


def test_the_core_token_lasts_the_session_plus_its_grace(room, connect):
    ack = join(connect("ana@example.com"), room["session"].id)
    expiry = int(ack["media"]["core_token"].split(",")[0])
    session = room["session"]
    closes = session.ends_at + timedelta(minutes=30)
    assert closes.timestamp() <= expiry <= closes.timestamp() + 600


@pytest.fixture
def stage_room(app, make_user, time_machine):
    """A session booked by four learners with the stage threshold at 3: a stage room."""
    app.config["ROOM_STAGE_THRESHOLD"] = 3
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    mentor = make_user(email="mentor@example.com", role="mentor", name="Meera Mentor")
    learners = [make_user(email=f"l{i}@example.com", name=f"Learner {i}") for i in range(4)]
    session = make_session(mentor, starts_at=now + timedelta(minutes=5), capacity=10)
    for learner in learners:
        booking_service.book(session.id, learner)
    time_machine.move_to(now + timedelta(minutes=6), tick=False)
    return {"session": session, "mentor": mentor, "learners": learners}


def test_on_a_stage_learners_speak_when_the_mentor_brings_them_up(stage_room, connect):
    sid = stage_room["session"].id
    l0, l1, l2 = stage_room["learners"][:3]
    mentor = connect("mentor@example.com")
    ack = join(mentor, sid)
    assert ack["media"]["stage"] is True and ack["media"]["stage_cap"] == 3
    assert ack["self"]["on_stage"] is True
    first, second, third = (connect(f"l{i}@example.com") for i in range(3))
    assert join(first, sid)["self"]["on_stage"] is False
    join(second, sid)
    join(third, sid)

    # Off stage, a learner can't turn a microphone on.
    refused = first.emit(
        "media:state", {"session_id": sid, "audio": True, "video": False, "screen": False}, callback=True
    )
    assert refused["error"]["code"] == "not_on_stage"
    # Only the mentor brings people up.
    attempt = second.emit("stage:set", {"session_id": sid, "user_id": l0.id, "on_stage": True}, callback=True)
    assert attempt["error"]["code"] == "mentor_only"

    # A raised hand is answered by bringing its owner on stage: the hand goes down.
    assert first.emit("hand:set", {"session_id": sid, "raised": True}, callback=True)["ok"]
    received(mentor)
    received(first)
    assert mentor.emit("stage:set", {"session_id": sid, "user_id": l0.id, "on_stage": True}, callback=True)[
        "ok"
    ]
    assert {"session_id": sid, "user_id": l0.id, "on_stage": True} in received(first, "stage:state")
    hands = received(mentor, "hand:state")
    assert hands[-1] == {"session_id": sid, "user_id": l0.id, "raised": False, "raised_at": None}
    ok = first.emit(
        "media:state", {"session_id": sid, "audio": True, "video": True, "screen": False}, callback=True
    )
    assert ok == {"ok": True}

    # The stage holds three (the mentor included).
    assert mentor.emit("stage:set", {"session_id": sid, "user_id": l1.id, "on_stage": True}, callback=True)[
        "ok"
    ]
    full = mentor.emit("stage:set", {"session_id": sid, "user_id": l2.id, "on_stage": True}, callback=True)
    assert full["error"]["code"] == "stage_full"
    # Back to the audience frees a place; the stage survives a reload.
    assert mentor.emit("stage:set", {"session_id": sid, "user_id": l1.id, "on_stage": False}, callback=True)[
        "ok"
    ]
    assert mentor.emit("stage:set", {"session_id": sid, "user_id": l2.id, "on_stage": True}, callback=True)[
        "ok"
    ]
    again = connect("l0@example.com")
    assert join(again, sid)["self"]["on_stage"] is True
    cannot = mentor.emit(
        "stage:set", {"session_id": sid, "user_id": stage_room["mentor"].id, "on_stage": False}, callback=True
    )
    assert cannot["error"]["code"] == "mentor_on_stage"


def test_the_mentor_answers_a_hand(room, connect):
    sid = room["session"].id
    mentor, ana = connect("mentor@example.com"), connect("ana@example.com")
    join(mentor, sid)
    join(ana, sid)
    ana.emit("hand:set", {"session_id": sid, "raised": True}, callback=True)
    received(ana)
    assert ana.emit("hand:answer", {"session_id": sid, "user_id": room["mentor"].id}, callback=True)["error"][
        "code"
    ] == ("mentor_only")
    # Not a stage: nobody is sent to the audience.
    refused = mentor.emit(
        "stage:set", {"session_id": sid, "user_id": room["ana"].id, "on_stage": False}, callback=True
    )
    assert refused["error"]["code"] == "not_a_stage"
    assert mentor.emit("hand:answer", {"session_id": sid, "user_id": room["ana"].id}, callback=True)["ok"]
    assert received(ana, "hand:answered") == [{"session_id": sid, "by": room["mentor"].id}]
    ack = join(connect("ben@example.com"), sid)
    assert not next(p for p in ack["participants"] if p["user_id"] == room["ana"].id)["hand_raised"]


def test_mute_and_stop_video_reach_the_person_and_their_unmute_lifts_the_hold(room, connect):
    sid = room["session"].id
    mentor, ana = connect("mentor@example.com"), connect("ana@example.com")
    join(mentor, sid)
    join(ana, sid)
    received(ana)
    assert mentor.emit("control:video", {"session_id": sid, "user_id": room["ana"].id}, callback=True)["ok"]
    assert received(ana, "control:video") == [{"session_id": sid, "by": room["mentor"].id}]
    assert mentor.emit("control:mute", {"session_id": sid, "user_id": room["ana"].id}, callback=True)["ok"]
    assert received(ana, "control:mute") == [{"session_id": sid, "by": room["mentor"].id}]
    self_mute = mentor.emit("control:mute", {"session_id": sid, "user_id": room["mentor"].id}, callback=True)
    assert self_mute["error"]["code"] == "cannot_control_self"
    # Her own unmute is accepted (Janus forwards again once she publishes it).
    ok = ana.emit(
        "media:state", {"session_id": sid, "audio": True, "video": False, "screen": False}, callback=True
    )
    assert ok == {"ok": True}


def test_removal_and_the_end_act_on_janus(room, connect):
    from tests.support.media import Participant

    sid = room["session"].id
    mentor, ana = connect("mentor@example.com"), connect("ana@example.com")
    join(mentor, sid)
    answer = join(ana, sid)["media"]
    instance = next(i for i in media.instances() if i.public == answer["server"])
    page = Participant(instance, answer["core_token"])
    page.connect()
    assert page.join(answer["room"], answer["feeds"]["camera"], answer["room_token"])["videoroom"] == "joined"
    assert [p["id"] for p in janus_participants(sid)] == [answer["feeds"]["camera"]]

    assert mentor.emit("control:remove", {"session_id": sid, "user_id": room["ana"].id}, callback=True)["ok"]
    assert janus_participants(sid) == []
    back = Participant(instance, answer["core_token"])
    back.connect()
    assert back.join(answer["room"], answer["feeds"]["camera"], answer["room_token"])["error_code"] == 433

    row = db.session.get(MediaRoom, sid)
    assert mentor.emit("room:end", {"session_id": sid}, callback=True)["ok"]
    db.session.refresh(row)
    assert row.closed_at is not None
    assert not media.client(instance).room_exists(answer["room"])
