"""The room's shared notes and whiteboard on the server: merging browsers' Yjs updates, who may
edit, size limits, persistence, two server processes, and the Markdown and PNG exports."""

import threading
from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image

from peerlearn import create_app
from peerlearn.exceptions import NotFound, PermissionDenied
from peerlearn.extensions import db
from peerlearn.models import RoomDocument, User, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import room_documents
from tests import factories
from tests.conftest import unavailable
from tests.support.room_documents import Editor, document_of
from tests.support.two_apps import two_apps_sharing_redis


@pytest.fixture
def room(make_user, time_machine):
    time_machine.move_to(utcnow())
    mentor = make_user(role="mentor")
    learner, stranger = make_user(), make_user()
    session = factories.make_session(mentor, starts_at=utcnow() + timedelta(minutes=5), duration_minutes=60)
    booking_service.book(session.id, learner)
    return mentor, learner, stranger, session


def stored_shapes(session_id, page=1):
    return room_documents.whiteboard_shapes(session_id, page)


def test_updates_merge_and_survive_a_fresh_read(room):
    mentor, _learner, _stranger, session = room
    editor = Editor()
    room_documents.apply_update(mentor, session.id, editor.add_block("paragraph", "Hello"))
    room_documents.apply_update(
        mentor, session.id, editor.add_shape({"id": "a", "kind": "pen", "points": [1, 2]})
    )
    session_id = session.id
    db.session.remove()  # nothing kept in memory: the row is the document
    assert [shape["id"] for shape in stored_shapes(session_id)] == ["a"]
    assert room_documents.notes_markdown(session_id) == "Hello\n"
    assert db.session.get(RoomDocument, session_id).version == 2


def test_concurrent_edits_from_two_browsers_converge(room):
    mentor, learner, _stranger, session = room
    room_documents.set_learners_may_edit(mentor, session.id, True)
    first, second = Editor(room_documents.state(session.id)), Editor(room_documents.state(session.id))
    # Both draw before seeing the other's shape, and one erases its own.
    a = first.add_shape({"id": "a", "kind": "line", "points": [0, 0, 10, 10]})
    b = second.add_shape({"id": "b", "kind": "rect", "points": [5, 5, 50, 50]})
    c = second.add_shape({"id": "c", "kind": "ellipse", "points": [5, 5, 50, 50]})
    d = second.erase(0)
    for who, update in ((mentor, a), (learner, b), (learner, c), (learner, d)):
        room_documents.apply_update(who, session.id, update)
    first.receive(room_documents.state(session.id))
    second.receive(room_documents.state(session.id))
    assert sorted(s["id"] for s in first.shapes()) == sorted(s["id"] for s in second.shapes()) == ["a", "c"]


def test_one_browsers_changes_out_of_order_are_kept_until_complete(room):
    mentor, _learner, _stranger, session = room
    editor = Editor()
    updates = [editor.add_shape({"id": str(n), "kind": "pen", "points": [n, n]}) for n in range(3)]
    updates.append(editor.erase(0))
    for update in reversed(updates):
        room_documents.apply_update(mentor, session.id, update)
    assert [shape["id"] for shape in stored_shapes(session.id)] == ["1", "2"]


def test_sync_answers_what_each_side_lacks(room):
    mentor, learner, _stranger, session = room
    editor = Editor()
    room_documents.apply_update(
        mentor, session.id, editor.add_shape({"id": "a", "kind": "pen", "points": [1, 1]})
    )
    late = Editor()
    answer = room_documents.sync(learner, session.id, late.doc.get_state())
    late.receive(answer["update"])
    assert [s["id"] for s in late.shapes()] == ["a"]
    assert answer["can_edit"] is False and answer["learners_may_edit"] is False
    assert room_documents.sync(mentor, session.id, late.doc.get_state())["can_edit"] is True
    # The browser works out what the server lacks from the server's state vector.
    offline = editor.add_shape({"id": "b", "kind": "pen", "points": [2, 2]})
    assert offline
    missing = editor.doc.get_update(answer["state_vector"])
    room_documents.apply_update(mentor, session.id, missing)
    assert [s["id"] for s in stored_shapes(session.id)] == ["a", "b"]


def test_readers_are_refused_whole_until_the_mentor_allows(room):
    mentor, learner, stranger, session = room
    editor = Editor()
    update = editor.add_shape({"id": "x", "kind": "pen", "points": [1, 1]})
    with pytest.raises(PermissionDenied) as refused:
        room_documents.apply_update(learner, session.id, update)
    assert refused.value.code == "read_only"
    assert stored_shapes(session.id) == []
    with pytest.raises(PermissionDenied) as not_mentor:
        room_documents.set_learners_may_edit(learner, session.id, True)
    assert not_mentor.value.code == "mentor_only"
    room_documents.set_learners_may_edit(mentor, session.id, True)
    room_documents.apply_update(learner, session.id, update)
    assert [s["id"] for s in stored_shapes(session.id)] == ["x"]
    with pytest.raises(PermissionDenied) as no_seat:  # no seat: not even with the toggle on
        room_documents.apply_update(stranger, session.id, editor.add_shape({"id": "y", "kind": "pen"}))
    assert no_seat.value.code == "no_seat"
    room_documents.set_learners_may_edit(mentor, session.id, False)
    with pytest.raises(PermissionDenied):
        room_documents.apply_update(learner, session.id, editor.add_shape({"id": "z", "kind": "pen"}))
    assert [s["id"] for s in stored_shapes(session.id)] == ["x"]


def test_bad_and_oversized_updates_are_refused_with_clear_errors(room, monkeypatch):
    mentor, _learner, _stranger, session = room
    with pytest.raises(room_documents.DocumentError) as garbage:
        room_documents.apply_update(mentor, session.id, b"\x05not a yjs update")
    assert garbage.value.code == "invalid_update" and garbage.value.status == 400
    with pytest.raises(room_documents.DocumentTooLarge) as big:
        room_documents.apply_update(mentor, session.id, b"\x00" * (room_documents.MAX_UPDATE_BYTES + 1))
    assert big.value.code == "update_too_large" and big.value.status == 413
    editor = Editor()
    room_documents.apply_update(mentor, session.id, editor.add_block("paragraph", "kept"))
    monkeypatch.setattr(room_documents, "MAX_DOCUMENT_BYTES", len(room_documents.state(session.id)) + 50)
    with pytest.raises(room_documents.DocumentTooLarge) as full:
        room_documents.apply_update(mentor, session.id, editor.add_block("paragraph", "x" * 200))
    assert full.value.code == "document_too_large"
    assert room_documents.notes_markdown(session.id) == "kept\n"  # nothing of the refused change


def merge_from_two_apps(apps, make_user):
    """Two apps (two server processes) each merging one browser's 8 shapes at the same time."""
    mentor = make_user(role="mentor")
    session = factories.make_session(mentor, starts_at=utcnow() + timedelta(minutes=5))
    ids = (mentor.id, session.id)
    editors = [Editor(), Editor()]
    updates = [
        [editors[n].add_shape({"id": f"{n}-{k}", "kind": "pen", "points": [k, k]}) for k in range(8)]
        for n in range(2)
    ]
    errors = []

    def run(app, batch):
        try:
            with app.app_context():
                user = db.session.get(User, ids[0])
                for update in batch:
                    room_documents.apply_update(user, ids[1], update)
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(apps[n], updates[n])) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.remove()
    shapes = room_documents.whiteboard_shapes(ids[1], 1)
    assert sorted(s["id"] for s in shapes) == sorted(f"{n}-{k}" for n in range(2) for k in range(8))
    assert db.session.get(RoomDocument, ids[1]).version == 16


def test_two_server_processes_merging_at_once_lose_nothing(tmp_path, redis_url, make_user):
    with two_apps_sharing_redis(tmp_path, redis_url) as apps:
        merge_from_two_apps(apps, make_user)


def test_two_server_processes_on_postgresql_lose_nothing(app, database_url, make_user):
    if not database_url.startswith("postgres"):
        unavailable("set TEST_DATABASE_URL=postgresql://… to merge under PostgreSQL's row lock")
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        merge_from_two_apps([app, other], make_user)
    finally:
        with other.app_context():
            db.engine.dispose()


def test_notes_as_markdown(room):
    mentor, _learner, _stranger, session = room
    editor = Editor()
    for update in (
        editor.add_block("heading", "Plan", {"level": 2}),
        editor.add_block(
            "paragraph", "Use bold and italic here", marks=[(4, 8, {"bold": {}}), (13, 19, {"italic": {}})]
        ),
        editor.add_list("bulletList", ["routes", "views"]),
        editor.add_list("orderedList", ["install", "run"]),
        editor.add_block("codeBlock", "def f():\n    return 1", {"language": "python"}),
        editor.add_block("paragraph", "a * b"),
    ):
        room_documents.apply_update(mentor, session.id, update)
    assert room_documents.notes_markdown(session.id) == (
        "## Plan\n\n"
        "Use **bold** and *italic* here\n\n"
        "- routes\n- views\n\n"
        "1. install\n2. run\n\n"
        "```python\ndef f():\n    return 1\n```\n\n"
        "a \\* b\n"
    )


def test_empty_document_exports(room):
    _mentor, _learner, _stranger, session = room
    assert room_documents.notes_markdown(session.id) == ""
    assert room_documents.whiteboard_page_count(session.id) == 1
    with pytest.raises(NotFound):
        room_documents.whiteboard_png(session.id, 2)


def test_whiteboard_page_as_png(room):
    mentor, _learner, _stranger, session = room
    editor = Editor()
    room_documents.apply_update(
        mentor,
        session.id,
        editor.add_shape(
            {"id": "s", "kind": "pen", "points": [100, 100, 300, 100], "colour": "#ff0000", "width": 6}
        ),
    )
    room_documents.apply_update(mentor, session.id, editor.add_page("0001"))
    room_documents.apply_update(
        mentor,
        session.id,
        editor.add_shape({"id": "t", "kind": "rect", "points": [10, 10, 90, 90]}, "0001"),
    )
    assert room_documents.whiteboard_page_count(session.id) == 2
    image = Image.open(BytesIO(room_documents.whiteboard_png(session.id, 1)))
    assert image.format == "PNG" and image.size == (room_documents.BOARD_WIDTH, room_documents.BOARD_HEIGHT)
    assert image.getpixel((200, 100))[:3] == (255, 0, 0)  # on the stroke
    assert image.getpixel((200, 300))[:3] == (255, 255, 255)  # away from it
    second = Image.open(BytesIO(room_documents.whiteboard_png(session.id, 2))).convert("RGB")
    assert second.getpixel((10, 50)) == (0, 0, 0)  # the rectangle's edge, black by default
    assert second.getpixel((200, 100)) == (255, 255, 255)  # page 1's stroke is not on page 2


def test_downloads_are_for_the_mentor_booked_learners_and_admins(room, make_user):
    mentor, learner, stranger, session = room
    admin = make_user(role="admin")
    for person in (mentor, learner, admin):
        assert room_documents.readable_session(person, session.id).id == session.id
    with pytest.raises(NotFound):
        room_documents.readable_session(stranger, session.id)
    with pytest.raises(NotFound):
        room_documents.readable_session(mentor, session.id + 1000)


def test_state_stored_is_what_a_browser_can_load(room):
    mentor, _learner, _stranger, session = room
    editor = Editor()
    room_documents.apply_update(mentor, session.id, editor.add_block("paragraph", "x"))
    doc = document_of(room_documents.state(session.id))
    assert str(doc.get(room_documents.NOTES, type=type(editor.notes))) == "<paragraph>x</paragraph>"
