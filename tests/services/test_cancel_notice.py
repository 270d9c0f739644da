"""A learner cancelling a confirmed seat tells the mentor, in the app and by email, whatever the
hourly email caps: a booking cancellation is never a social notice."""

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Notification, NotificationKind, OutboundEmail
from peerlearn.services import booking as booking_service
from tests.factories import make_session, paid_booking


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Meera Iyer", email="meera@example.com")


def mentor_notices(mentor):
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == mentor.id, Notification.kind == NotificationKind.BOOKING_CANCELLED)
            .order_by(Notification.id)
        )
    )


def mentor_emails(mentor):
    return list(
        db.session.scalars(
            select(OutboundEmail)
            .where(
                OutboundEmail.user_id == mentor.id, OutboundEmail.kind == NotificationKind.BOOKING_CANCELLED
            )
            .order_by(OutboundEmail.id)
        )
    )


def test_the_mentor_hears_who_cancelled_which_session_and_that_the_seat_is_free(mentor, make_user):
    session = make_session(mentor, title="Practical Flask", capacity=2, price_paise=50000)
    learner = make_user(name="Kabir Shah")
    booking, _payment = paid_booking(session, learner)

    booking_service.cancel(booking, learner)

    [note] = mentor_notices(mentor)
    assert "Kabir Shah cancelled their seat" in note.title and "Practical Flask" in note.title
    assert "free again" in note.body and note.url == f"/sessions/{session.id}"
    [email] = mentor_emails(mentor)
    assert email.status != "dropped"
    assert "Kabir Shah cancelled their seat in “Practical Flask”" in email.text_body
    assert "free again" in email.text_body and f"/sessions/{session.id}" in email.text_body


def test_cancellation_emails_to_the_mentor_are_never_capped(app, mentor, make_user):
    app.config["EMAIL_CAP_PER_SENDER_PER_HOUR"] = 1
    app.config["EMAIL_CAP_PER_RECIPIENT_PER_HOUR"] = 1
    session = make_session(mentor, capacity=5)
    learners = [make_user() for _ in range(3)]
    for learner in learners:
        booking, _ = booking_service.book(session.id, learner)
        booking_service.cancel(booking, learner)
    emails = mentor_emails(mentor)
    assert len(emails) == 3 and all(e.status != "dropped" for e in emails)
    assert len(mentor_notices(mentor)) == 3


def test_the_mentor_is_not_told_of_an_unpaid_hold_or_of_their_own_cancellation(mentor, make_user):
    session = make_session(mentor, price_paise=50000)
    held, _ = booking_service.book(session.id, make_user())
    assert held.status == "pending_payment"
    booking_service.cancel(held, held.learner)
    free = make_session(mentor)
    booking, _ = booking_service.book(free.id, make_user())
    booking_service.cancel(booking, mentor)
    assert mentor_notices(mentor) == [] and mentor_emails(mentor) == []
