"""The learning record: attendance minutes from the room's stays, the chat in order, paid gifts
only, the review, the recording's state, who may read a record, and the learner's history."""

from datetime import timedelta

import pytest

from peerlearn.exceptions import NotFound
from peerlearn.extensions import db
from peerlearn.models import Attendance, ChatMessage, Gift, Recording, Review, RoomDocument, RoomRemoval
from peerlearn.services import learning_record
from peerlearn.services.learning_record import Documents, RecordingState
from tests.factories import make_session, paid_gift
from tests.support.reviews import NOW, past_session, seat, stay
from tests.support.room_documents import Editor


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Meera Iyer")


@pytest.fixture
def learner(make_user):
    return make_user(name="Kabir Shah")


@pytest.fixture
def session(mentor):
    return past_session(mentor)  # 60 minutes, ended an hour before NOW


def chat(session, user, body, minute, *, message_id=None):
    message = ChatMessage(
        session_id=session.id,
        user_id=user.id,
        body=body,
        created_at=session.starts_at + timedelta(minutes=minute),
    )
    if message_id is not None:
        message.id = message_id
    db.session.add(message)
    db.session.commit()
    return message


def gift(session, sender, amount_paise, status, message=""):
    row = Gift(
        session_id=session.id,
        sender_id=sender.id,
        mentor_id=session.mentor_id,
        amount_paise=amount_paise,
        status=status,
        message=message,
        paid_at=session.starts_at + timedelta(minutes=10) if status == "paid" else None,
    )
    db.session.add(row)
    db.session.commit()
    return row


# ----------------------------------------------------------------------------- attendance


def test_minutes_are_the_union_of_stays_within_the_slot(session, mentor, learner):
    booking = seat(session, learner)
    stay(session, learner, -10, 5)  # 10 minutes before the start count nothing: 5 minutes
    stay(session, learner, 3, 20)  # overlaps the first: 15 more (5 to 20)
    stay(session, learner, 10, 15)  # inside the second: nothing more
    stay(session, learner, 50, 75)  # beyond the end: 10 more (50 to 60)
    stay(session, mentor, -5, 65)  # the whole slot, and no more

    record = learning_record.for_booking(learner, booking.id)

    assert record.minutes_of(learner.id) == 30
    assert record.minutes_of(mentor.id) == 60
    assert [(p.user.id, p.role) for p in record.presence] == [(mentor.id, "mentor"), (learner.id, "learner")]


def test_a_stay_still_open_counts_until_now(mentor, learner):
    running = make_session(mentor, starts_at=NOW - timedelta(minutes=25), status="live")
    booking = seat(running, learner, status="confirmed")
    db.session.add(
        Attendance(session_id=running.id, user_id=learner.id, joined_at=running.starts_at, connection_id="a")
    )
    db.session.commit()

    record = learning_record.for_booking(learner, booking.id)

    assert record.minutes_of(learner.id) == 25
    assert record.ended is False


def test_someone_never_in_the_room_has_zero_minutes(session, learner):
    booking = seat(session, learner, status="no_show")
    assert learning_record.for_booking(learner, booking.id).minutes_of(learner.id) == 0


def test_the_session_record_has_every_seated_learner_and_nobody_else(session, mentor, learner, make_user):
    other, cancelled = make_user(name="Anika Rao"), make_user(name="Zoe Left")
    seat(session, learner)
    seat(session, other, status="no_show")
    seat(session, cancelled, status="cancelled")  # cancelled before the start: no seat
    stay(session, learner, 0, 45)
    stay(session, cancelled, 0, 5)

    record = learning_record.for_session(mentor, session.id)

    rows = [(row.presence.user.name, row.status, row.presence.minutes) for row in record.learners()]
    assert rows == [("Anika Rao", "no_show", 0), ("Kabir Shah", "attended", 45)]


# ----------------------------------------------------------------------------- chat, gifts, review


def test_chat_is_every_message_oldest_first_with_its_writer(session, mentor, learner, make_user):
    booking = seat(session, learner)
    other = make_user(name="Anika Rao")
    seat(session, other)
    # Written out of order: the record sorts by time, then by id for messages of the same moment.
    chat(session, learner, "Second", 5, message_id=900)
    chat(session, mentor, "First", 1, message_id=901)
    chat(session, other, "Third", 5, message_id=902)

    record = learning_record.for_booking(learner, booking.id)

    assert [(m.body, m.user.name) for m in record.chat] == [
        ("First", "Meera Iyer"),
        ("Second", "Kabir Shah"),
        ("Third", "Anika Rao"),
    ]


def test_only_paid_gifts_count(session, mentor, learner, make_user):
    booking = seat(session, learner)
    other = make_user()
    seat(session, other)
    gift(session, learner, 10000, "paid", "Thank you!")
    gift(session, learner, 20000, "pending")
    gift(session, learner, 30000, "failed")
    gift(session, other, 5000, "paid")

    mine = learning_record.for_booking(learner, booking.id)
    assert [(line.gift.amount_paise, line.gift.message) for line in mine.gifts] == [(10000, "Thank you!")]
    assert mine.gifts_paise == 10000

    received = learning_record.for_session(mentor, session.id)
    assert sorted(line.gift.amount_paise for line in received.gifts) == [5000, 10000]
    assert {row.presence.user.id: row.gifts_paise for row in received.learners()} == {
        learner.id: 10000,
        other.id: 5000,
    }


def test_a_gift_paid_through_the_gateway_is_in_the_record(app, mentor, learner):
    live = make_session(mentor, starts_at=NOW - timedelta(minutes=90), status="live")
    booking = seat(live, learner, status="confirmed")
    paid_gift(live, learner, 25000)

    record = learning_record.for_booking(learner, booking.id)

    assert [(line.gift.amount_paise, line.refunded) for line in record.gifts] == [(25000, False)]


def test_the_review_given_or_the_offer_to_write_one(app, session, learner):
    booking = seat(session, learner)
    stay(session, learner, 0, 60)

    record = learning_record.for_booking(learner, booking.id)
    assert record.review is None and record.can_review is True

    db.session.add(
        Review(
            booking_id=booking.id,
            session_id=session.id,
            mentor_id=session.mentor_id,
            learner_id=learner.id,
            rating=4,
            body="Clear.",
            minutes_attended=60,
        )
    )
    db.session.commit()
    record = learning_record.for_booking(learner, booking.id)
    assert (record.review.rating, record.can_review) == (4, False)


def test_no_review_is_offered_to_someone_who_was_hardly_there(session, learner):
    booking = seat(session, learner)
    stay(session, learner, 0, 5)
    assert learning_record.for_booking(learner, booking.id).can_review is False


# ----------------------------------------------------------------------------- the recording


def test_the_recording_state(session, learner, make_user):
    booking = seat(session, learner)
    assert learning_record.for_booking(learner, booking.id).recording == RecordingState("none")

    recording = Recording(session_id=session.id, status="processing")
    db.session.add(recording)
    db.session.commit()
    state = learning_record.for_booking(learner, booking.id).recording
    # Not to watch yet, but its page says how it is going.
    assert (state.status, state.watchable, state.page) == ("processing", False, True)

    recording.status, recording.duration_ms, recording.storage_key = "ready", 61000, "recordings/1.mp4"
    recording.ready_at = NOW - timedelta(minutes=5)
    db.session.commit()
    state = learning_record.for_booking(learner, booking.id).recording
    assert (state.status, state.watchable, state.duration_ms) == ("ready", True, 61000)
    assert state.expires_at == recording.ready_at + timedelta(days=90)

    # A learner the mentor removed from the room may read their booking's record, not watch.
    db.session.add(RoomRemoval(session_id=session.id, user_id=learner.id, removed_by_id=session.mentor_id))
    db.session.commit()
    state = learning_record.for_booking(learner, booking.id).recording
    assert (state.status, state.watchable, state.page) == ("ready", False, False)


def test_a_recording_past_its_retention_reads_as_deleted(session, learner):
    booking = seat(session, learner)
    db.session.add(
        Recording(
            session_id=session.id,
            status="ready",
            storage_key="recordings/1.mp4",
            ready_at=NOW - timedelta(days=91),
            expires_at=NOW - timedelta(days=1),
        )
    )
    db.session.commit()
    state = learning_record.for_booking(learner, booking.id).recording
    assert (state.status, state.watchable, state.page) == ("deleted", False, False)


# ----------------------------------------------------------------------------- notes and whiteboard


def keep_document(session, *updates):
    """The room's document as the room would have stored it, from an Editor's updates."""
    editor = Editor()
    for make in updates:
        make(editor)
    db.session.add(RoomDocument(session_id=session.id, state=editor.doc.get_update(), version=len(updates)))
    db.session.commit()


def test_notes_and_the_pages_drawn_on(session, learner):
    booking = seat(session, learner)
    keep_document(
        session,
        lambda editor: editor.add_block("paragraph", "Window frames"),
        lambda editor: editor.add_page("0001"),  # page 2 stays blank
        lambda editor: editor.add_page("0002"),
        lambda editor: editor.add_shape({"id": "a", "kind": "pen", "points": [1, 2, 3, 4]}, page="0002"),
    )
    documents = learning_record.for_booking(learner, booking.id).documents
    assert documents == Documents(True, has_notes=True, whiteboard_pages=(3,))


def test_an_untouched_document_offers_nothing_to_download(session, learner):
    booking = seat(session, learner)
    documents = learning_record.for_booking(learner, booking.id).documents
    assert (documents.has_notes, documents.whiteboard_pages) == (False, ())


def test_a_learner_who_cancelled_before_the_start_sees_no_room(session, learner):
    booking = seat(session, learner, status="cancelled")
    chat(session, session.mentor, "Welcome", 1)
    db.session.add(Recording(session_id=session.id, status="ready"))
    db.session.commit()

    record = learning_record.for_booking(learner, booking.id)

    assert record.chat == [] and record.recording.status == "none"


# ----------------------------------------------------------------------------- access


def test_who_may_read_a_booking_record(session, mentor, learner, make_user):
    booking = seat(session, learner)
    assert learning_record.for_booking(learner, booking.id).viewer_role == "learner"
    assert learning_record.for_booking(mentor, booking.id).viewer_role == "mentor"
    assert learning_record.for_booking(make_user(role="admin"), booking.id).viewer_role == "admin"

    other_learner = make_user()
    seat(session, other_learner)  # a seat in the same session is not this booking
    other_mentor = make_user(role="mentor")
    for outsider in (other_learner, other_mentor):
        with pytest.raises(NotFound):
            learning_record.for_booking(outsider, booking.id)
    with pytest.raises(NotFound):
        learning_record.for_booking(learner, 2_000_000)


def test_who_may_read_a_session_record(session, mentor, learner, make_user):
    seat(session, learner)
    assert learning_record.for_session(mentor, session.id).viewer_role == "mentor"
    assert learning_record.for_session(make_user(role="admin"), session.id).viewer_role == "admin"
    for outsider in (learner, make_user(role="mentor")):
        with pytest.raises(NotFound):
            learning_record.for_session(outsider, session.id)
    draft = make_session(mentor, status="draft")
    with pytest.raises(NotFound):
        learning_record.for_session(mentor, draft.id)


# ----------------------------------------------------------------------------- history


def test_history_is_past_seats_newest_first(mentor, learner):
    for days in (3, 1, 2):
        seat(past_session(mentor, ended_minutes_ago=60 * 24 * days, title=f"Day {days}"), learner)
    upcoming = make_session(mentor, title="Next week")
    seat(upcoming, learner, status="confirmed")
    cancelled_early = past_session(mentor, title="Cancelled early")
    seat(cancelled_early, learner, status="cancelled")

    items, more = learning_record.recent_history(learner, limit=2)
    assert [b.session.title for b in items] == ["Day 1", "Day 2"] and more is True

    page = learning_record.history_page(learner, page=1, per_page=10)
    assert [b.session.title for b in page.items] == ["Day 1", "Day 2", "Day 3"] and page.total == 3


def test_a_session_not_held_stays_in_the_history(mentor, learner):
    not_held = past_session(mentor, status="cancelled", title="Not held", mentor_present_minutes=0)
    booking = seat(not_held, learner)
    booking.status, booking.cancelled_at = "cancelled", not_held.ends_at + timedelta(minutes=15)
    db.session.commit()

    items, _ = learning_record.recent_history(learner)

    assert [b.id for b in items] == [booking.id]
    assert learning_record.held_a_seat(booking) and learning_record.has_ended(not_held)
