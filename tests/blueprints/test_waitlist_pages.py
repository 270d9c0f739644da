"""The waitlist on a full session's page and over the API: join, see your place, leave; a seat
that frees reaches the first in line live on their open page, and its pay link claims it."""

from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Booking, WaitlistEntry
from peerlearn.services import booking as booking_service
from tests.conftest import AuthActions, IsolatedSocketClient, extract_csrf
from tests.factories import UserFactory, make_session
from tests.support.sockets import received


def full_paid_session(mentor_email="mentor@example.com"):
    mentor = UserFactory(role="mentor", email=mentor_email)
    session = make_session(mentor, title="Busy class", capacity=1, price_paise=50000)
    holder = UserFactory()
    held, _ = booking_service.book(session.id, holder)
    return session, holder, held


def signed_in(app, email):
    browser = app.test_client()
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def test_a_learner_joins_and_leaves_from_the_session_page(app):
    session, _holder, _held = full_paid_session()
    learner = UserFactory(email="ana@example.com")
    browser = signed_in(app, "ana@example.com")
    page = browser.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "This session is full." in page and "Join the waitlist" in page

    response = browser.post(
        f"/sessions/{session.id}/waitlist", data={"csrf_token": extract_csrf(page)}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "You&#39;re on the waitlist, 1st in line." in page
    assert "You&#39;re 1st in line." in page and "Leave the waitlist" in page

    mentor = signed_in(app, "mentor@example.com")
    assert "1 learner is on the waitlist." in mentor.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "1 on the waitlist" in mentor.get("/teach").get_data(as_text=True)
    assert "Waitlists" in browser.get("/learn").get_data(as_text=True)

    response = browser.post(
        f"/sessions/{session.id}/waitlist/leave",
        data={"csrf_token": extract_csrf(page)},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "You&#39;ve left the waitlist." in page and "Join the waitlist" in page
    entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.learner_id == learner.id))
    assert entry.status == "left"


def test_a_visitor_is_asked_to_log_in_and_a_free_seat_is_not_waited_for(app, client):
    session, holder, held = full_paid_session()
    assert "Log in to join the waitlist" in client.get(f"/sessions/{session.id}").get_data(as_text=True)
    booking_service.cancel(held, holder)
    UserFactory(email="ben@example.com")
    browser = signed_in(app, "ben@example.com")
    page = browser.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Join the waitlist" not in page
    response = browser.post(
        f"/sessions/{session.id}/waitlist", data={"csrf_token": extract_csrf(page)}, follow_redirects=True
    )
    assert "This session has free seats: book one instead." in response.get_data(as_text=True)


def test_the_api_joins_shows_the_place_and_leaves(app, client, api_token):
    session, holder, held = full_paid_session()
    UserFactory(email="ana@example.com")
    UserFactory(email="ben@example.com")
    ana = {"Authorization": "Bearer " + api_token("ana@example.com")}
    ben = {"Authorization": "Bearer " + api_token("ben@example.com")}
    url = f"/api/sessions/{session.id}/waitlist/"

    body = client.get(url, headers=ana).get_json()
    assert body["success"] and body["data"]["status"] is None and body["data"]["position"] is None

    response = client.post(url, headers=ana)
    assert response.status_code == 201 and response.get_json()["data"]["position"] == 1
    assert client.post(url, headers=ana).status_code == 200  # again: the same place
    response = client.post(url, headers=ben)
    assert response.status_code == 201
    assert response.get_json()["data"] | {"joined_at": None} == {
        "session_id": session.id,
        "status": "waiting",
        "position": 2,
        "waiting": 2,
        "joined_at": None,
        "booking_id": None,
        "offer_expires_at": None,
        "pay_url": None,
    }

    booking_service.cancel(held, holder)  # the seat is offered to Ana, first in line
    data = client.get(url, headers=ana).get_json()["data"]
    assert data["status"] == "offered" and data["position"] is None and data["offer_expires_at"]
    assert data["pay_url"].endswith(f"/bookings/{data['booking_id']}/pay")
    assert db.session.get(Booking, data["booking_id"]).status == "pending_payment"
    assert client.get(url, headers=ben).get_json()["data"]["position"] == 1

    response = client.delete(url, headers=ana)  # Ana gives the seat up: it goes to Ben
    assert response.status_code == 200 and response.get_json()["data"]["status"] is None
    assert client.get(url, headers=ben).get_json()["data"]["status"] == "offered"
    response = client.delete(url, headers=ana)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_waiting"


def test_the_api_refuses_who_cannot_wait(app, client, api_token):
    session, holder, _held = full_paid_session()
    mentor = {"Authorization": "Bearer " + api_token("mentor@example.com")}
    response = client.post(f"/api/sessions/{session.id}/waitlist/", headers=mentor)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "own_session"
    seated = {"Authorization": "Bearer " + api_token(holder.email)}
    response = client.post(f"/api/sessions/{session.id}/waitlist/", headers=seated)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "already_booked"
    response = client.get("/api/sessions/999999/waitlist/", headers=seated)
    assert response.status_code == 404


def test_a_freed_seat_reaches_the_first_in_line_live(app):
    session, holder, held = full_paid_session()
    learner = UserFactory(email="ana@example.com")
    browser = signed_in(app, "ana@example.com")
    page = browser.get(f"/sessions/{session.id}").get_data(as_text=True)
    browser.post(f"/sessions/{session.id}/waitlist", data={"csrf_token": extract_csrf(page)})
    sio = IsolatedSocketClient(app, browser)
    try:
        received(sio)  # start from an empty inbox
        booking_service.cancel(held, holder)
        [note] = received(sio, "notification")
    finally:
        sio.disconnect()
    offer = db.session.scalar(select(Booking).where(Booking.learner_id == learner.id))
    assert note["kind"] == "waitlist_offer" and note["title"].startswith("A seat opened in Busy class")
    assert note["url"] == f"/bookings/{offer.id}/pay"
    # The link leads to the checkout of the held seat.
    page = browser.get(note["url"]).get_data(as_text=True)
    assert browser.get(note["url"]).status_code == 200 and "Busy class" in page
