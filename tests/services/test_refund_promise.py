"""The refund promise: what this booking (or booking now) gets back, said once for every page and
email; and a seat hold that never runs past the start."""

from datetime import UTC, datetime, timedelta

import pytest

from peerlearn.services import booking as booking_service
from peerlearn.services import sessions as session_service
from tests.factories import make_session, paid_booking

# Monday 7 Dec 2026, 12:00 in India (06:30 UTC).
NOW = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
ALWAYS = " If the mentor cancels or doesn't hold the session, you're refunded in full."
MOVED = " If the mentor moves the session, you can cancel for a full refund."


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def people(make_user):
    return make_user(role="mentor", name="Meera Mentor"), make_user(name="Ana Learner")


def test_booked_well_ahead_a_full_refund_until_the_window_closes(app, clock, people):
    mentor, ana = people
    # Thursday 10 Dec, 18:30 in India: the full-refund window closes Wednesday 18:30.
    session = make_session(mentor, starts_at=datetime(2026, 12, 10, 13, 0, tzinfo=UTC), price_paise=49900)
    expected = (
        "Full refund if you cancel before Wed 9 Dec 2026, 6:30 PM (Asia/Kolkata); no refund after that."
    )
    assert booking_service.refund_promise(session, tz="Asia/Kolkata") == expected + MOVED + ALWAYS
    booking, _ = paid_booking(session, ana)
    assert booking_service.refund_promise(booking) == expected + MOVED + ALWAYS

    # The window closes: the same booking now says so.
    clock.move_to(datetime(2026, 12, 9, 13, 0, tzinfo=UTC), tick=False)
    assert booking_service.refund_promise(booking) == (
        "The full-refund period ended at Wed 9 Dec 2026, 6:30 PM (Asia/Kolkata): "
        "you can't get a refund by cancelling now." + MOVED + ALWAYS
    )
    app.config["LATE_CANCEL_REFUND_PERCENT"] = 50
    assert booking_service.refund_promise(booking).startswith(
        "The full-refund period ended at Wed 9 Dec 2026, 6:30 PM (Asia/Kolkata): "
        "cancelling gets you 50% back now."
    )


def test_booked_inside_the_window_the_learner_cannot_get_a_refund_by_cancelling(app, clock, people):
    mentor, ana = people
    session = make_session(mentor, starts_at=NOW + timedelta(hours=5), price_paise=19900)
    assert booking_service.refund_promise(session, tz="Asia/Kolkata") == (
        "This session starts within 24 hours: if you book now, you can't get a refund by cancelling."
        + MOVED
        + ALWAYS
    )
    booking, _ = paid_booking(session, ana)
    assert booking_service.refund_promise(booking) == (
        "You booked within 24 hours of the start, so you can't get a refund by cancelling." + MOVED + ALWAYS
    )
    # Cancelling does what it said.
    assert booking_service.cancel(booking, ana) is None


def test_a_rescheduled_booking_is_refunded_in_full_until_the_start(clock, people):
    mentor, ana = people
    session = make_session(mentor, starts_at=NOW + timedelta(days=3), price_paise=49900)
    booking, _ = paid_booking(session, ana)
    session_service.update_session(mentor, session.id, {"starts_at": NOW + timedelta(hours=10)})
    promise = booking_service.refund_promise(booking)
    assert promise == (
        "The mentor moved this session after you booked, so you get a full refund if you cancel "
        "before it starts." + ALWAYS
    )
    refund = booking_service.cancel(booking, ana)
    assert refund.amount_paise == 49900


def test_nothing_is_promised_when_there_is_nothing_to_refund(clock, people):
    mentor, ana = people
    free = make_session(mentor, starts_at=NOW + timedelta(days=3))
    free_booking, _ = booking_service.book(free.id, ana)
    assert booking_service.refund_promise(free, tz="Asia/Kolkata") == ""
    assert booking_service.refund_promise(free_booking) == ""
    paid = make_session(mentor, starts_at=NOW + timedelta(days=3), price_paise=10000)
    booking, _ = paid_booking(paid, ana)
    booking_service.cancel(booking, ana)
    assert booking_service.refund_promise(booking) == ""  # cancelled: the refund is shown instead
    clock.move_to(paid.starts_at, tick=False)
    assert booking_service.refund_promise(paid, tz="Asia/Kolkata") == ""  # started


def test_a_seat_hold_never_runs_past_the_start(app, clock, people):
    mentor, ana = people
    assert app.config["BOOKING_HOLD_MINUTES"] == 15
    soon = make_session(mentor, starts_at=NOW + timedelta(minutes=10), price_paise=19900)
    booking, _ = booking_service.book(soon.id, ana)
    assert booking.status == "pending_payment" and booking.hold_expires_at == soon.starts_at
    later = make_session(mentor, starts_at=NOW + timedelta(hours=2), price_paise=19900)
    booking, _ = booking_service.book(later.id, ana)
    assert booking.hold_expires_at == NOW + timedelta(minutes=15)
