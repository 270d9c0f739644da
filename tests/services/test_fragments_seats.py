"""Seats on kept cards (services/fragments.py): a booking changes the seats a card shows at the
next request without throwing the kept pages away; a session that fills or opens again does move
the catalog's version (lists of sessions with seats change); a kept page never holds a seat
count, so none is ever stale, in one process or across two sharing Redis."""

import re
from datetime import timedelta

import pytest

from peerlearn.extensions import db
from peerlearn.models import Booking, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import fragments
from tests import factories
from tests.support.statements import counting_statements
from tests.support.two_apps import two_apps_sharing_redis


def presentable_mentor():
    return factories.UserFactory(role="mentor", headline="Teaches Flask for a living")


def catalog_version():
    return fragments.cache().version()[0]


def card_badges(page):
    """The seats badges of a page's cards, in order."""
    return re.findall(r'<span class="badge[^"]*">((?:\d+ seats? left)|Full)</span>', page)


def test_a_booking_changes_the_cards_seats_without_drawing_the_pages_again(client):
    mentor = presentable_mentor()
    session = factories.SessionFactory(mentor=mentor, capacity=5, title="Kept with its seats")
    learner = factories.UserFactory()  # a new account moves the version: made first
    for path in ("/", "/sessions", f"/mentors/{mentor.id}"):
        assert card_badges(client.get(path).text) == ["5 seats left"], path
    version = catalog_version()

    booking_service.book(session.id, learner)

    assert catalog_version() == version
    for path in ("/", "/sessions", f"/mentors/{mentor.id}"):
        with counting_statements() as statements:
            page = client.get(path).text
        assert card_badges(page) == ["4 seats left"], path
        # The kept HTML served again: nothing of the cards is read but their seats (once, for
        # the first page; a mentor's profile looks its mentor up on every request).
        sessions_read = [s for s in statements if "FROM learning_sessions" in s or "FROM reviews" in s]
        seats_only = "SELECT learning_sessions.id, learning_sessions.seats_taken"
        assert all(s.startswith(seats_only) for s in sessions_read), sessions_read
    with counting_statements() as statements:
        assert card_badges(client.get("/sessions").text) == ["4 seats left"]
    assert statements == []  # the seats too are kept until the next seat moves


def test_a_kept_page_holds_no_seat_count(client):
    factories.SessionFactory(mentor=presentable_mentor(), capacity=2)
    assert card_badges(client.get("/sessions").text) == ["2 seats left"]
    kept = [str(value) for _, _, value in fragments.cache()._entries._entries.values()]
    catalog = [html for html in kept if "<!--seats:" in html]
    assert catalog, "the catalog's cards are kept with their marks"
    assert not any("seats left" in html or ">Full<" in html for html in kept)


def test_few_seats_and_a_full_session_read_as_before(client):
    mentor = presentable_mentor()
    session = factories.SessionFactory(mentor=mentor, capacity=2)
    booking_service.book(session.id, factories.UserFactory())
    assert card_badges(client.get("/sessions").text) == ["1 seat left"]

    booking_service.book(session.id, factories.UserFactory())

    assert card_badges(client.get("/sessions").text) == ["Full"]


def test_filling_a_session_moves_the_version_and_the_lists_of_open_sessions(client):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=1, title="One seat only")
    assert "One seat only" in client.get("/").text  # the landing page lists sessions with seats
    assert "One seat only" in client.get("/sessions?has_seats=1").text
    learner = factories.UserFactory()
    version = catalog_version()

    booking, _ = booking_service.book(session.id, learner)

    assert catalog_version() > version
    assert "One seat only" not in client.get("/").text
    assert "One seat only" not in client.get("/sessions?has_seats=1").text
    assert card_badges(client.get("/sessions").text) == ["Full"]

    # Given back: open again, listed again.
    version = catalog_version()
    booking_service.cancel(booking, booking.learner)
    assert catalog_version() > version
    assert "One seat only" in client.get("/").text
    assert card_badges(client.get("/sessions").text) == ["1 seat left"]


def test_a_hold_expiring_gives_the_seat_back_on_the_cards(client):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=4, price_paise=50_000)
    booking_service.book(session.id, factories.UserFactory())  # held, unpaid
    assert card_badges(client.get("/sessions").text) == ["3 seats left"]
    version = catalog_version()

    expired = booking_service.expire_holds(now=utcnow() + timedelta(hours=2))

    assert expired == 1
    assert catalog_version() == version
    assert card_badges(client.get("/sessions").text) == ["4 seats left"]


def test_a_booking_rolled_back_moves_nothing(client):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=3)
    client.get("/sessions")
    versions = fragments.cache().version()

    assert booking_service.take_seat(session.id, utcnow())
    db.session.rollback()

    assert fragments.cache().version() == versions
    assert card_badges(client.get("/sessions").text) == ["3 seats left"]


def test_a_visitors_session_page_follows_its_seats(client):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=1)
    assert "1 of 1 seat left" in client.get(f"/sessions/{session.id}").text

    booking_service.book(session.id, factories.UserFactory())

    page = client.get(f"/sessions/{session.id}").text
    assert "No seats left" in page


def test_the_sessions_api_shows_seats_as_booked_now(client):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=3)

    def seats_left():
        items = client.get("/api/sessions/?per_page=50").get_json()["data"]["items"]
        return next(item["seats_left"] for item in items if item["id"] == session.id)

    assert seats_left() == 3
    learner = factories.UserFactory()
    version = catalog_version()
    booking_service.book(session.id, learner)
    assert seats_left() == 2
    assert catalog_version() == version


def test_cards_outside_a_request_carry_their_badge(app):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=5, seats_taken=4)
    assert fragments.seats_badge(session) == fragments.badge_html(4, 5)
    assert "1 seat left" in fragments.badge_html(4, 5)


# ------------------------------------------------------------------- two processes, one Redis


@pytest.fixture
def two_processes(tmp_path, redis_url):
    with two_apps_sharing_redis(tmp_path, redis_url) as apps:
        yield apps


def test_a_seat_taken_in_one_process_shows_in_the_other_at_once(two_processes):
    _, second = two_processes
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=5)
    second_client = second.test_client()
    learners = [factories.UserFactory(), factories.UserFactory()]
    with second.app_context():
        assert card_badges(second_client.get("/sessions").text) == ["5 seats left"]
        version = catalog_version()

    for learner in learners:
        booking_service.book(session.id, learner)

    with second.app_context():
        assert card_badges(second_client.get("/sessions").text) == ["3 seats left"]
        assert catalog_version() == version
    assert db.session.query(Booking).count() == 2
