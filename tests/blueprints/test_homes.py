"""Role homes and the public mentor profile show real bookings and sessions."""

from tests import factories
from tests.factories import paid_booking


def test_learner_home_lists_upcoming_bookings(client, auth, make_user):
    mentor = make_user(role="mentor")
    learner = make_user(email="l@example.com")
    free = factories.make_session(mentor, title="Free Flask clinic")
    paid = factories.make_session(mentor, title="Paid SQL deep dive", price_paise=29900)
    from peerlearn.services import booking as booking_service

    booking_service.book(free.id, learner)
    paid_booking(paid, learner)
    auth.login("l@example.com")
    page = client.get("/learn").get_data(as_text=True)
    assert "Free Flask clinic" in page and "Paid SQL deep dive" in page
    assert "No upcoming sessions booked" not in page


def test_mentor_home_and_public_profile_list_upcoming_sessions(client, auth, make_user):
    mentor = make_user(role="mentor", email="m@example.com", headline="Teaches Go")
    factories.make_session(mentor, title="Go concurrency patterns", capacity=4)
    factories.make_session(mentor, title="Secret draft", status="draft")
    public = client.get(f"/mentors/{mentor.id}").get_data(as_text=True)
    assert "Go concurrency patterns" in public and "Secret draft" not in public
    auth.login("m@example.com")
    home = client.get("/teach").get_data(as_text=True)
    assert "Go concurrency patterns" in home and "0/4 booked" in home
