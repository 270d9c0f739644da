"""Booking: seats counted race-free, one active booking per learner, holds that expire."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, NotFound, PermissionDenied
from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, utcnow
from peerlearn.services import booking as booking_service
from tests.races import at_once
from tests.support.booking import make_session


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


def seats_taken(session_id):
    db.session.expire_all()
    return db.session.get(LearningSession, session_id).seats_taken


def test_free_booking_is_confirmed_and_takes_a_seat(mentor, make_user):
    session = make_session(mentor)
    learner = make_user()
    booking, created = booking_service.book(session.id, learner)
    assert created and booking.status == "confirmed" and booking.amount_paise == 0
    assert seats_taken(session.id) == 1


def test_paid_booking_holds_a_seat_for_the_configured_time(app, mentor, make_user):
    app.config["BOOKING_HOLD_MINUTES"] = 10
    session = make_session(mentor, price_paise=49900)
    learner = make_user()
    before = utcnow()
    booking, _ = booking_service.book(session.id, learner)
    after = utcnow()
    assert booking.status == "pending_payment" and booking.amount_paise == 49900
    # Ten minutes from the moment it was booked, however long booking took on a busy machine.
    hold = timedelta(minutes=10)
    assert before + hold <= booking.hold_expires_at <= after + hold
    assert seats_taken(session.id) == 1


def test_double_click_returns_the_same_booking(mentor, make_user):
    session = make_session(mentor, price_paise=10000)
    learner = make_user()
    first, created_first = booking_service.book(session.id, learner)
    second, created_second = booking_service.book(session.id, learner)
    assert created_first and not created_second and first.id == second.id
    assert seats_taken(session.id) == 1


@pytest.mark.parametrize(
    ("overrides", "error", "code"),
    [
        ({"status": "draft"}, NotFound, "not_found"),
        ({"status": "cancelled"}, Conflict, "session_cancelled"),
        ({"status": "completed", "starts_at": utcnow() - timedelta(days=1)}, Conflict, "session_started"),
        ({"starts_at": utcnow() - timedelta(minutes=1)}, Conflict, "session_started"),
        ({"capacity": 1, "seats_taken": 1}, Conflict, "session_full"),
    ],
)
def test_refusals_have_reasons_and_change_nothing(mentor, make_user, overrides, error, code):
    session = make_session(mentor, **overrides)
    learner = make_user()
    with pytest.raises(error) as caught:
        booking_service.book(session.id, learner)
    assert caught.value.code == code
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_mentor_cannot_book_own_session(mentor):
    session = make_session(mentor)
    with pytest.raises(Conflict) as caught:
        booking_service.book(session.id, mentor)
    assert caught.value.code == "own_session"


def test_unverified_learner_cannot_book(mentor, make_user):
    session = make_session(mentor)
    with pytest.raises(PermissionDenied) as caught:
        booking_service.book(session.id, make_user(unverified=True))
    assert caught.value.code == "email_unverified"


def test_expired_hold_releases_its_seat(app, mentor, make_user, time_machine):
    time_machine.move_to(utcnow())
    session = make_session(mentor, capacity=1, price_paise=20000)
    first = make_user()
    booking, _ = booking_service.book(session.id, first)
    with pytest.raises(Conflict):
        booking_service.book(session.id, make_user())
    time_machine.shift(timedelta(minutes=16))
    assert booking_service.expire_holds() == 1
    db.session.refresh(booking)
    assert booking.status == "expired" and seats_taken(session.id) == 0
    assert booking_service.expire_holds() == 0  # a second sweep changes nothing
    second, _ = booking_service.book(session.id, make_user())
    assert second.status == "pending_payment"
    # The first learner may book again now that their hold is gone.
    assert seats_taken(session.id) == 1


def test_cancelling_a_free_booking_frees_the_seat(mentor, make_user):
    session = make_session(mentor, capacity=1)
    learner = make_user()
    booking, _ = booking_service.book(session.id, learner)
    assert booking_service.cancel(booking, learner) is None
    assert booking.status == "cancelled" and seats_taken(session.id) == 0
    again, created = booking_service.book(session.id, learner)
    assert created and again.id != booking.id


def test_learner_b_cannot_reach_learner_a_booking(mentor, make_user):
    session = make_session(mentor)
    a, b = make_user(), make_user()
    booking, _ = booking_service.book(session.id, a)
    with pytest.raises(NotFound):
        booking_service.learner_booking(b, booking.id)


def _concurrent_bookings(app, session_id, learner_ids):
    """Each learner books from its own thread, database connection and app context."""

    def book(learner):
        booking, _ = booking_service.book(session_id, learner)
        return ("booked", booking.id)

    return at_once(app, [(learner_id, book) for learner_id in learner_ids])


@pytest.mark.postgres
def test_thirty_learners_three_seats_on_postgres(app, mentor, make_user, database_url):
    if not database_url.startswith("postgres"):
        from tests.conftest import unavailable

        unavailable("set TEST_DATABASE_URL=postgresql://… to run the booking race on PostgreSQL")
    session_id = make_session(mentor, capacity=3, price_paise=30000).id
    learners = [make_user().id for _ in range(30)]
    db.session.remove()
    outcomes = _concurrent_bookings(app, session_id, learners)
    booked = [o for o in outcomes if o[0] == "booked"]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(booked) == 3 and len(refused) == 27
    assert {code for _, code in refused} == {"session_full"}
    assert db.session.scalar(select(func.count(Booking.id))) == 3
    assert seats_taken(session_id) == 3


def test_same_learner_racing_themselves_gets_one_booking(threaded_app):
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    session_id = make_session(mentor, capacity=5).id
    learner_id = UserFactory().id
    db.session.remove()
    outcomes = _concurrent_bookings(threaded_app, session_id, [learner_id] * 6)
    assert len({booking_id for kind, booking_id in outcomes if kind == "booked"}) == 1
    assert db.session.scalar(select(func.count(Booking.id))) == 1
    assert seats_taken(session_id) == 1


def test_ten_learners_two_seats_on_a_sqlite_file(threaded_app):
    """The embedded mode's database: SQLite's write lock serialises the seat updates."""
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    session_id = make_session(mentor, capacity=2).id
    learners = [UserFactory().id for _ in range(10)]
    db.session.remove()
    outcomes = _concurrent_bookings(threaded_app, session_id, learners)
    assert sorted(kind for kind, _ in outcomes) == ["booked"] * 2 + ["refused"] * 8
    assert seats_taken(session_id) == 2
