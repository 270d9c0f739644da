"""The room's media against a real Janus: tokens Janus itself refuses, rooms the app creates,
places, moves and destroys, removal that Janus enforces, stage rooms, and installs that may not
open rooms at all.

These talk to Janus's HTTP API on loopback (no WebRTC: the browser tests carry media, inside
their private network). A small participant client below plays a browser's part in the
signalling: create a session, attach, join.
"""

import time
from datetime import timedelta

import pytest

from peerlearn.exceptions import MediaUnavailable
from peerlearn.extensions import db
from peerlearn.media import tokens
from peerlearn.media.janus import Janus
from peerlearn.models import MediaRoom, SessionStatus, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import media
from peerlearn.services import room as room_service
from tests.conftest import janus_settings, start_janus
from tests.factories import make_session
from tests.support.media import Participant


@pytest.fixture
def live(app, janus_app, make_user):
    """A session in its room window with two booked learners; the mentor has gone live."""
    mentor = make_user(email="mentor@example.com", role="mentor", name="Meera Mentor")
    ana = make_user(email="ana@example.com", name="Ana Learner")
    ben = make_user(email="ben@example.com", name="Ben Learner")
    session = make_session(mentor, starts_at=utcnow() + timedelta(minutes=5), capacity=10)
    for learner in (ana, ben):
        booking_service.book(session.id, learner)
    room_service.start(mentor, session.id)
    return {"session": session, "mentor": mentor, "ana": ana, "ben": ben}


def answer_for(user, session, **kwargs):
    return media.join_answer(user, session, closes_at=room_service.closes_at(session), **kwargs)


def janus_of(room):
    return media.client(next(i for i in media.instances() if i.name == room.instance))


def test_janus_refuses_the_api_without_a_valid_core_token(live, local_janus):
    answer = answer_for(live["ana"], live["session"])
    secret = local_janus.secrets["token_secret"]
    forged = answer["core_token"][:-6] + "AAAAA="
    expired = tokens.core_token(secret, time.time() - 5)
    other_plugin = tokens.sign(secret, time.time() + 600, tokens.CORE_REALM, "janus.plugin.echotest")

    for token in (None, forged, expired):
        reply = Participant(local_janus.instance, token).connect()
        assert reply["janus"] == "error" and reply["error"]["code"] == 403, token

    # A valid core token for another plugin opens a session, but not the VideoRoom.
    participant = Participant(local_janus.instance, other_plugin)
    assert participant.post(local_janus.instance.api, {"janus": "create"})["janus"] == "success"
    assert Participant(local_janus.instance, answer["core_token"]).connect()["janus"] == "success"


def test_the_room_token_joins_that_room_only_and_only_while_fresh(live, local_janus):
    session, ana = live["session"], live["ana"]
    answer = answer_for(ana, session)
    assert answer["mode"] == "janus" and answer["server"] == local_janus.instance.public
    assert answer["feeds"] == {"camera": ana.id * 10 + 1, "screen": ana.id * 10 + 2}
    secret = local_janus.secrets["token_secret"]
    room = answer["room"]

    def attempt(room_token):
        participant = Participant(local_janus.instance, answer["core_token"])
        participant.connect()
        return participant.join(room, answer["feeds"]["camera"], room_token)

    other_room = tokens.room_token(secret, room + 1, ana.id, time.time() + 60)
    expired = tokens.room_token(secret, room, ana.id, time.time() - 1)
    forged = answer["room_token"][:-6] + "AAAAA="
    # Signed by us but never handed out (so not in the room's allowed list).
    unlisted = tokens.room_token(secret, room, ana.id, time.time() + 3600)
    for token in (None, other_room, expired, forged, unlisted):
        data = attempt(token)
        assert data.get("error_code") == 433, (token, data)

    joined = attempt(answer["room_token"])
    assert joined["videoroom"] == "joined" and joined["id"] == answer["feeds"]["camera"]
    assert isinstance(joined["private_id"], int)


def test_rooms_are_private_and_destroyed_when_the_session_ends(live, local_janus):
    session, mentor = live["session"], live["mentor"]
    answer = answer_for(mentor, session)
    room = db.session.get(MediaRoom, session.id)
    janus = janus_of(room)
    assert room.mode == "janus" and room.janus_room == answer["room"] and room.closed_at is None
    assert janus.room_exists(room.janus_room)
    # Not listed for anyone without the admin key.
    public = Janus(
        janus.instance, token_secret=janus.token_secret, admin_secret="", admin_key="wrong", timeout=5
    ).videoroom({"request": "list"})[0]["list"]
    assert all(item["room"] != room.janus_room for item in public)

    room_service.end(mentor, session.id, now=session.starts_at)  # nobody ends it before the start
    assert media.close(session.id)
    assert not janus.room_exists(room.janus_room)
    assert db.session.get(MediaRoom, session.id).closed_at is not None
    assert not media.close(session.id)  # once


def test_a_removed_participant_is_kicked_and_janus_refuses_their_tokens(live, local_janus):
    session, mentor, ana = live["session"], live["mentor"], live["ana"]
    answer = answer_for(ana, session)
    participant = Participant(local_janus.instance, answer["core_token"])
    participant.connect()
    assert (
        participant.join(answer["room"], answer["feeds"]["camera"], answer["room_token"])["videoroom"]
        == "joined"
    )
    janus = janus_of(db.session.get(MediaRoom, session.id))
    assert [p["id"] for p in janus.participants(answer["room"])] == [answer["feeds"]["camera"]]

    room_service.remove_participant(mentor, session.id, ana.id)
    assert media.remove(session.id, ana.id)
    kicked = [e["plugindata"]["data"] for e in participant.events() if e.get("plugindata")]
    assert {"videoroom": "event", "room": answer["room"], "leaving": "ok", "reason": "kicked"} in kicked
    assert janus.participants(answer["room"]) == []

    # Back with the very token they had, on a fresh Janus session: refused by Janus.
    again = Participant(local_janus.instance, answer["core_token"])
    again.connect()
    assert again.join(answer["room"], answer["feeds"]["camera"], answer["room_token"])["error_code"] == 433
    # And the app gives them no new one.
    with pytest.raises(Exception, match="removed"):
        room_service.session_for_entry(ana, session.id)


def test_a_fresh_page_replaces_what_the_last_one_left_in_the_room(live, local_janus):
    session, ana = live["session"], live["ana"]
    first = answer_for(ana, session)
    old_page = Participant(local_janus.instance, first["core_token"])
    old_page.connect()
    old_page.join(first["room"], first["feeds"]["camera"], first["room_token"])

    # A reconnect of the same page (resume) leaves it be; a reload kicks the old page's feed,
    # so the new one can take the same id and nobody sees a ghost.
    answer_for(ana, session, resume=True)
    janus = janus_of(db.session.get(MediaRoom, session.id))
    assert [p["id"] for p in janus.participants(first["room"])] == [first["feeds"]["camera"]]
    second = answer_for(ana, session)
    assert janus.participants(first["room"]) == []
    new_page = Participant(local_janus.instance, second["core_token"])
    new_page.connect()
    assert (
        new_page.join(second["room"], second["feeds"]["camera"], second["room_token"])["videoroom"]
        == "joined"
    )
    assert [p["id"] for p in janus.participants(first["room"])] == [first["feeds"]["camera"]]


def test_rooms_go_to_the_least_loaded_instance_and_move_when_it_is_gone(
    app, make_user, local_janus, tmp_path
):
    # Two instances of their own, so no other test's participants weigh on either.
    one = start_janus(tmp_path / "one", secrets=local_janus.secrets)
    two = start_janus(tmp_path / "two", secrets=local_janus.secrets)
    try:
        app.config.update(janus_settings(one, two))
        mentor = make_user(email="mentor@example.com", role="mentor")
        ana = make_user(email="ana@example.com")
        sessions = [make_session(mentor, starts_at=utcnow() + timedelta(minutes=5 + i)) for i in range(2)]
        for session in sessions:
            booking_service.book(session.id, ana)

        # The first room lands somewhere and gets a participant; the next goes to the other.
        first = answer_for(ana, sessions[0])
        first_room = db.session.get(MediaRoom, sessions[0].id)
        busy = next(local for local in (one, two) if local.instance.public == first["server"])
        participant = Participant(busy.instance, first["core_token"])
        participant.connect()
        participant.join(first["room"], first["feeds"]["camera"], first["room_token"])
        second = answer_for(ana, sessions[1])
        assert second["server"] != first["server"]

        # The first room's instance goes away: the next join re-creates the room elsewhere.
        name, old_room = first_room.instance, first_room.janus_room
        busy.stop()
        moved = answer_for(ana, sessions[0], resume=True)
        row = db.session.get(MediaRoom, sessions[0].id)
        assert row.instance != name and row.janus_room != old_room == first["room"]
        assert moved["room"] == row.janus_room and moved["server"] == second["server"]
        assert janus_of(row).room_exists(row.janus_room)
    finally:
        one.stop()
        two.stop()


def test_no_reachable_instance_is_a_clear_refusal(app, make_user, tmp_path, local_janus):
    down = start_janus(tmp_path / "down", secrets=local_janus.secrets)
    app.config.update(janus_settings(down))
    down.stop()
    mentor = make_user(email="mentor@example.com", role="mentor")
    session = make_session(mentor, starts_at=utcnow() + timedelta(minutes=5))
    with pytest.raises(MediaUnavailable, match="can't be reached"):
        answer_for(mentor, session)
    assert db.session.get(MediaRoom, session.id) is None  # nothing half-made


def test_more_people_than_the_threshold_make_a_stage(app, janus_app, make_user):
    app.config["ROOM_STAGE_THRESHOLD"] = 3
    mentor = make_user(email="mentor@example.com", role="mentor")
    learners = [make_user(email=f"l{i}@example.com") for i in range(3)]
    small = make_session(mentor, starts_at=utcnow() + timedelta(minutes=5), capacity=10)
    big = make_session(mentor, starts_at=utcnow() + timedelta(minutes=6), capacity=10)
    for learner in learners[:2]:
        booking_service.book(small.id, learner)
    for learner in learners:
        booking_service.book(big.id, learner)
    assert answer_for(mentor, small)["stage"] is False  # 3 people
    big_answer = answer_for(mentor, big)
    assert big_answer["stage"] is True and big_answer["stage_cap"] == 3  # 4 people

    # A stage never turns back mid-session; a small room becomes one if more people book.
    booking_service.book(small.id, learners[2])
    assert answer_for(mentor, small)["stage"] is True


def test_mesh_rooms_are_a_stage_above_the_camera_limit(app, make_user):
    app.config.update(ROOM_MEDIA="mesh", MESH_MAX_CAMERAS=3)
    mentor = make_user(email="mentor@example.com", role="mentor")
    session = make_session(mentor, starts_at=utcnow() + timedelta(minutes=5), capacity=10)
    for i in range(3):
        booking_service.book(session.id, make_user(email=f"l{i}@example.com"))
    assert answer_for(mentor, session) == {"mode": "mesh", "stage": True, "stage_cap": 3}


def test_production_opens_no_room_without_janus_unless_mesh_is_allowed(app, make_user):
    mentor = make_user(email="mentor@example.com", role="mentor")
    session = make_session(mentor, starts_at=utcnow() + timedelta(minutes=5))
    app.config.update(ALLOW_MESH_ROOMS=False, JANUS_INSTANCES=[])
    refusal = room_service.entry_refusal(mentor, session)
    assert refusal is not None and refusal.code == "media_not_configured" and refusal.status == 503
    with pytest.raises(MediaUnavailable):
        room_service.start(mentor, session.id)
    assert db.session.get(type(session), session.id).status == SessionStatus.SCHEDULED
    app.config["ALLOW_MESH_ROOMS"] = True
    assert room_service.entry_refusal(mentor, session) is None


def test_the_sweep_destroys_rooms_of_finished_and_cancelled_sessions(live, local_janus, time_machine):
    session = live["session"]
    answer_for(live["mentor"], session)
    room = db.session.get(MediaRoom, session.id)
    janus = janus_of(room)
    assert media.close_finished_rooms() == 0  # still live
    session.status = SessionStatus.CANCELLED.value
    db.session.commit()
    assert media.close_finished_rooms() == 1
    assert not janus.room_exists(room.janus_room)
