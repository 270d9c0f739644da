"""A chat line's rule (services.room.post_chat): checked in the statement that inserts it, against
the session as it is now, even when this process read the session's times before they changed."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from peerlearn.exceptions import PermissionDenied
from peerlearn.extensions import db
from peerlearn.models import ChatMessage, LearningSession, RoomRemoval, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import room
from tests import factories


@pytest.fixture
def chat(make_user, time_machine):
    """A session whose room is open (10 minutes before its hour-long start), a booked learner
    who has posted once (so this process knows the session's times), and its mentor."""
    time_machine.move_to(utcnow())
    mentor, learner = make_user(role="mentor"), make_user()
    session = factories.make_session(mentor, starts_at=utcnow() + timedelta(minutes=10), duration_minutes=60)
    booking_service.book(session.id, learner)
    assert room.post_chat(learner, session.id, "  first  ").body == "first"
    return mentor, learner, session


def bodies(session_id):
    return db.session.scalars(
        select(ChatMessage.body).where(ChatMessage.session_id == session_id).order_by(ChatMessage.id)
    ).all()


def change(session_id, **values):
    db.session.execute(update(LearningSession).where(LearningSession.id == session_id).values(**values))
    db.session.commit()


def test_a_line_is_saved_with_its_id_before_it_is_returned(chat):
    mentor, _learner, session = chat
    saved = room.post_chat(mentor, session.id, "Welcome")
    stored = db.session.get(ChatMessage, saved.id)
    assert (stored.session_id, stored.user_id, stored.body) == (session.id, mentor.id, "Welcome")
    assert stored.created_at == saved.created_at
    assert bodies(session.id) == ["first", "Welcome"]


def test_a_session_moved_later_refuses_lines_until_its_room_opens_again(chat, time_machine):
    _mentor, learner, session = chat
    later = session.starts_at + timedelta(hours=3)
    change(session.id, starts_at=later)

    with pytest.raises(PermissionDenied) as refused:
        room.post_chat(learner, session.id, "still on?")
    assert refused.value.code == "not_open_yet"

    time_machine.move_to(later - timedelta(minutes=5))
    room.post_chat(learner, session.id, "here now")
    assert bodies(session.id) == ["first", "here now"]


def test_a_session_made_longer_takes_lines_past_its_old_end(app, chat, time_machine):
    _mentor, learner, session = chat
    old_close = session.starts_at + timedelta(minutes=60 + app.config["ROOM_GRACE_MINUTES"])
    change(session.id, duration_minutes=120)
    time_machine.move_to(old_close + timedelta(minutes=1))

    room.post_chat(learner, session.id, "overtime")
    assert bodies(session.id) == ["first", "overtime"]


def test_a_session_made_shorter_refuses_lines_after_its_new_end(app, chat, time_machine):
    _mentor, learner, session = chat
    change(session.id, duration_minutes=30)
    time_machine.move_to(session.starts_at + timedelta(minutes=30 + app.config["ROOM_GRACE_MINUTES"]))

    with pytest.raises(PermissionDenied) as refused:
        room.post_chat(learner, session.id, "too late")
    assert refused.value.code == "session_ended"
    assert bodies(session.id) == ["first"]


def test_a_removal_is_refused_by_the_insert_itself(chat):
    mentor, learner, session = chat
    db.session.add(RoomRemoval(session_id=session.id, user_id=learner.id, removed_by_id=mentor.id))
    db.session.commit()

    with pytest.raises(PermissionDenied) as refused:
        room.post_chat(learner, session.id, "let me back")
    assert refused.value.code == "removed"
    assert bodies(session.id) == ["first"]
