"""The shared notes and whiteboard over the room's socket: sync both ways, updates relayed to
the others in the room, read-only learners refused whole, the mentor's toggle, bad input."""

from peerlearn.services import room_documents
from tests.support.room_documents import Editor
from tests.support.sockets import join, received


def sync(sio, session_id, editor):
    return sio.emit(
        "doc:sync", {"session_id": session_id, "state_vector": editor.doc.get_state()}, callback=True
    )


def send(sio, session_id, update):
    return sio.emit("doc:update", {"session_id": session_id, "update": update}, callback=True)


def test_edits_reach_the_others_and_late_joiners_get_the_document(room, connect):
    sid = room["session"].id
    mentor, ana = connect("mentor@example.com"), connect("ana@example.com")
    join(mentor, sid)
    join(ana, sid)
    mentors, anas = Editor(), Editor()
    assert sync(mentor, sid, mentors)["can_edit"] is True
    answer = sync(ana, sid, anas)
    assert answer["ok"] and answer["can_edit"] is False and answer["learners_may_edit"] is False
    received(mentor)
    received(ana)

    update = mentors.add_shape({"id": "a", "kind": "arrow", "points": [1, 1, 50, 50]})
    ack = send(mentor, sid, update)
    assert ack == {"ok": True, "version": 1}
    relayed = received(ana, "doc:update")
    assert len(relayed) == 1 and relayed[0]["session_id"] == sid
    anas.receive(relayed[0]["update"])
    assert [shape["id"] for shape in anas.shapes()] == ["a"]
    assert received(mentor, "doc:update") == []  # not back to the sender

    ben, bens = connect("ben@example.com"), Editor()
    join(ben, sid)
    bens.receive(sync(ben, sid, bens)["update"])
    assert [shape["id"] for shape in bens.shapes()] == ["a"]


def test_read_only_learners_are_refused_until_the_mentor_allows(room, connect):
    sid = room["session"].id
    mentor, ana = connect("mentor@example.com"), connect("ana@example.com")
    join(mentor, sid)
    join(ana, sid)
    anas = Editor()
    sync(ana, sid, anas)
    update = anas.add_block("paragraph", "from Ana")
    refused = send(ana, sid, update)
    assert refused["ok"] is False and refused["error"]["code"] == "read_only"
    assert received(mentor, "doc:update") == []
    assert room_documents.notes_markdown(sid) == ""

    denied = ana.emit("doc:access", {"session_id": sid, "learners_may_edit": True}, callback=True)
    assert denied["error"]["code"] == "mentor_only"
    allowed = mentor.emit("doc:access", {"session_id": sid, "learners_may_edit": True}, callback=True)
    assert allowed == {"ok": True, "learners_may_edit": True}
    assert received(ana, "doc:access") == [{"session_id": sid, "learners_may_edit": True}]
    assert sync(ana, sid, anas)["can_edit"] is True
    assert send(ana, sid, update)["ok"] is True
    assert room_documents.notes_markdown(sid) == "from Ana\n"


def test_a_reconnecting_browser_sends_what_the_server_lacks(room, connect):
    sid = room["session"].id
    mentor = connect("mentor@example.com")
    join(mentor, sid)
    mine = Editor()
    sync(mentor, sid, mine)
    send(mentor, sid, mine.add_shape({"id": "1", "kind": "pen", "points": [1, 1]}))
    # Offline: two more edits never sent. On reconnect: sync, then the diff against the server.
    mine.add_shape({"id": "2", "kind": "pen", "points": [2, 2]})
    mine.add_block("heading", "Offline", {"level": 3})
    answer = sync(mentor, sid, mine)
    mine.receive(answer["update"])
    assert send(mentor, sid, mine.doc.get_update(answer["state_vector"]))["ok"] is True
    assert [s["id"] for s in room_documents.whiteboard_shapes(sid, 1)] == ["1", "2"]
    assert room_documents.notes_markdown(sid) == "### Offline\n"


def test_bad_input_gets_clear_refusals(room, connect):
    sid = room["session"].id
    mentor, outsider = connect("mentor@example.com"), connect("out@example.com")
    assert send(mentor, sid, b"\x00\x00")["error"]["code"] == "not_in_room"
    join(mentor, sid)
    assert send(mentor, sid, "not binary")["error"]["code"] == "invalid_payload"
    assert send(mentor, sid, b"\x07garbage")["error"]["code"] == "invalid_update"
    too_big = send(mentor, sid, b"\x00" * (room_documents.MAX_UPDATE_BYTES + 1))
    assert too_big["error"]["code"] == "update_too_large"
    no_id = mentor.emit("doc:update", {"update": b"\x00\x00"}, callback=True)
    assert no_id["error"]["code"] == "invalid_payload"
    assert (
        outsider.emit("doc:sync", {"session_id": sid, "state_vector": b"\x00"}, callback=True)["ok"] is False
    )
