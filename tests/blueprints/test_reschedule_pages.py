"""Moving a booking from its page (list, confirm, move) and over the API."""

from datetime import timedelta

from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, utcnow
from peerlearn.services import booking as booking_service
from tests.conftest import AuthActions, extract_csrf
from tests.factories import UserFactory, make_session


def signed_in(app, email):
    browser = app.test_client()
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def two_sessions(learner_email):
    mentor = UserFactory(role="mentor")
    old = make_session(mentor, title="Monday class")
    new = make_session(mentor, title="Friday class", starts_at=utcnow() + timedelta(days=6))
    learner = UserFactory(email=learner_email)
    booking, _ = booking_service.book(old.id, learner)
    return booking, old, new


def test_a_learner_chooses_a_session_confirms_and_the_booking_moves(app):
    booking, old, new = two_sessions("ana@example.com")
    browser = signed_in(app, "ana@example.com")
    detail = browser.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert f"/bookings/{booking.id}/reschedule" in detail

    listing = browser.get(f"/bookings/{booking.id}/reschedule").get_data(as_text=True)
    assert "Friday class" in listing and f'data-session-id="{new.id}"' in listing
    assert f'data-session-id="{old.id}"' not in listing

    confirm = browser.get(f"/bookings/{booking.id}/reschedule?session_id={new.id}").get_data(as_text=True)
    assert "Move to “Friday class”?" in confirm and "Same price" in confirm
    response = browser.post(
        f"/bookings/{booking.id}/reschedule",
        data={"csrf_token": extract_csrf(confirm), "session_id": str(new.id)},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Booking moved to the new time." in page and "Friday class" in page
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).session_id == new.id
    assert [db.session.get(LearningSession, s).seats_taken for s in (old.id, new.id)] == [0, 1]


def test_a_refused_move_is_explained_and_changes_nothing(app):
    booking, old, _new = two_sessions("ana@example.com")
    elsewhere = make_session(UserFactory(role="mentor"))
    browser = signed_in(app, "ana@example.com")
    page = browser.get(f"/bookings/{booking.id}/reschedule").get_data(as_text=True)
    response = browser.post(
        f"/bookings/{booking.id}/reschedule",
        data={"csrf_token": extract_csrf(page), "session_id": str(elsewhere.id)},
        follow_redirects=True,
    )
    assert "only move to another session of the same mentor" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).session_id == old.id
    bad = browser.post(
        f"/bookings/{booking.id}/reschedule", data={"csrf_token": extract_csrf(page), "session_id": "x"}
    )
    assert bad.status_code == 400


def test_someone_elses_booking_has_no_reschedule_page(app):
    booking, _old, _new = two_sessions("ana@example.com")
    UserFactory(email="ben@example.com")
    assert signed_in(app, "ben@example.com").get(f"/bookings/{booking.id}/reschedule").status_code == 404


def test_the_api_moves_a_booking_and_answers_a_second_request_with_the_first(app, client, api_token):
    booking, old, new = two_sessions("ana@example.com")
    headers = {"Authorization": "Bearer " + api_token("ana@example.com")}
    url = f"/api/bookings/{booking.id}/reschedule/"

    response = client.post(url, json={"session_id": new.id}, headers=headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["session"]["id"] == new.id and data["refund"] is None and data["moved_at"]
    again = client.post(url, json={"session_id": new.id}, headers=headers)
    assert again.status_code == 200
    assert again.get_json()["message"] == "Your booking is already in that session."

    back = client.post(url, json={"session_id": old.id}, headers=headers)
    assert back.status_code == 200  # moving back is another move
    assert client.post(url, json={"session_id": "one"}, headers=headers).status_code == 422
    elsewhere = make_session(UserFactory(role="mentor"))
    refused = client.post(url, json={"session_id": elsewhere.id}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "other_mentor"


def dearer_booking(learner_email):
    """A paid booking of a ₹500 session and the mentor's ₹800 one to move it to."""
    from tests.factories import paid_booking

    mentor = UserFactory(role="mentor")
    old = make_session(mentor, title="Monday class", price_paise=50000)
    new = make_session(
        mentor, title="Friday masterclass", price_paise=80000, starts_at=utcnow() + timedelta(days=6)
    )
    learner = UserFactory(email=learner_email)
    booking, _payment = paid_booking(old, learner)
    return booking, old, new


def test_a_dearer_session_is_paid_for_on_its_own_page_and_the_booking_moves(app):
    from peerlearn.payments import get_gateway

    booking, old, new = dearer_booking("ana@example.com")
    browser = signed_in(app, "ana@example.com")
    listing = browser.get(f"/bookings/{booking.id}/reschedule").get_data(as_text=True)
    assert f'data-session-id="{new.id}"' in listing and "Pay ₹300 more" in listing

    confirm = browser.get(f"/bookings/{booking.id}/reschedule?session_id={new.id}").get_data(as_text=True)
    assert "It costs ₹300 more" in confirm
    chosen = browser.post(
        f"/bookings/{booking.id}/reschedule",
        data={"csrf_token": extract_csrf(confirm), "session_id": str(new.id)},
    )
    assert chosen.status_code == 302 and "/reschedule/orders/" in chosen.headers["Location"]
    pay_page = browser.get(chosen.headers["Location"])
    page = pay_page.get_data(as_text=True)
    assert pay_page.status_code == 200 and 'data-amount="30000"' in page and "data-pay-button" in page
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).session_id == old.id  # nothing moved yet

    order_id = chosen.headers["Location"].rsplit("/", 1)[1]
    remote, signature = get_gateway().pay(order_id)
    db.session.commit()
    returned = browser.get(
        f"/payments/dev-return?order_id={order_id}&payment_id={remote.id}&signature={signature}",
        follow_redirects=True,
    )
    assert "Your booking moved to the new session." in returned.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).session_id == new.id
    assert [db.session.get(LearningSession, s).seats_taken for s in (old.id, new.id)] == [0, 1]


def test_someone_elses_move_order_page_is_not_found(app):
    booking, _old, new = dearer_booking("ana@example.com")
    UserFactory(email="ben@example.com")
    browser = signed_in(app, "ana@example.com")
    confirm = browser.get(f"/bookings/{booking.id}/reschedule?session_id={new.id}").get_data(as_text=True)
    location = browser.post(
        f"/bookings/{booking.id}/reschedule",
        data={"csrf_token": extract_csrf(confirm), "session_id": str(new.id)},
    ).headers["Location"]
    assert signed_in(app, "ben@example.com").get(location).status_code == 404


def test_the_api_answers_a_dearer_session_with_the_order_to_pay(app, client, api_token):
    from peerlearn.services import payments as payment_service

    booking, old, new = dearer_booking("ana@example.com")
    headers = {"Authorization": "Bearer " + api_token("ana@example.com")}
    response = client.post(
        f"/api/bookings/{booking.id}/reschedule/", json={"session_id": new.id}, headers=headers
    )

    assert response.status_code == 202, response.get_json()
    data = response.get_json()["data"]
    assert data["payment"]["purpose"] == "move" and data["payment"]["amount_paise"] == 30000
    assert data["checkout"]["order_id"] == data["payment"]["order_id"] and data["checkout"]["key_id"]
    assert data["move"]["to_session_id"] == new.id and data["move"]["status"] == "open"
    # Asking again answers with the same order; nothing has moved.
    again = client.post(
        f"/api/bookings/{booking.id}/reschedule/", json={"session_id": new.id}, headers=headers
    )
    assert again.status_code == 202 and again.get_json()["data"]["payment"]["id"] == data["payment"]["id"]
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).session_id == old.id

    from peerlearn.payments import get_gateway

    remote, signature = get_gateway().pay(data["payment"]["order_id"])
    db.session.commit()
    verified = client.post(
        "/api/verify-payment/",
        json={
            "razorpay_order_id": data["payment"]["order_id"],
            "razorpay_payment_id": remote.id,
            "razorpay_signature": signature,
        },
        headers=headers,
    )
    assert verified.status_code == 200
    assert "/reschedule/orders/" in verified.get_json()["data"]["redirect_url"]
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).session_id == new.id
    assert (
        payment_service.payment_for_order(booking.learner, data["payment"]["order_id"]).status == "captured"
    )


def test_the_apis_answer_to_a_move_is_the_pages_and_in_the_learners_language(app, client, api_token):
    booking, old, new = two_sessions("ana@example.com")
    headers = {"Authorization": "Bearer " + api_token("ana@example.com")}
    url = f"/api/bookings/{booking.id}/reschedule/"
    moved = client.post(url, json={"session_id": new.id}, headers=headers)
    assert moved.get_json()["message"] == "Booking moved to the new time."

    db.session.get(Booking, booking.id).learner.locale = "hi"
    db.session.commit()
    back = client.post(url, json={"session_id": old.id}, headers=headers)
    assert back.get_json()["message"] == "बुकिंग नए समय पर बदल दी गई।"
    again = client.post(url, json={"session_id": old.id}, headers=headers)
    assert again.get_json()["message"] == "आपकी बुकिंग पहले से उसी सेशन में है।"
