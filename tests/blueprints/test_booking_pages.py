"""A learner's bookings: the list, the receipt, checkout, cancelling, and calendar downloads."""

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from flask import g, render_template
from icalendar import Calendar
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Booking, User
from peerlearn.services import booking as booking_service
from tests.conftest import extract_csrf
from tests.factories import SessionFactory, paid_booking

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
START = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman")


@pytest.fixture
def learner(make_user):
    return make_user(email="rohan@example.com", name="Rohan Gupta")


@pytest.fixture
def paid_session(mentor):
    return SessionFactory(mentor=mentor, title="Pandas for messy data", price_paise=49900, starts_at=START)


def test_my_bookings_lists_each_tab_and_a_pending_seat_can_be_paid(client, auth, mentor, learner):
    free = SessionFactory(mentor=mentor, title="Statistics for A/B tests", starts_at=START)
    paid = SessionFactory(mentor=mentor, title="Office hours", price_paise=120000, starts_at=START)
    confirmed, _ = booking_service.book(free.id, learner)
    held, _ = booking_service.book(paid.id, learner)
    auth.login(learner.email)

    page = client.get("/bookings").get_data(as_text=True)
    assert f'href="/bookings/{confirmed.id}"' in page and "Statistics for A/B tests" in page
    assert f'href="/bookings/{held.id}/pay"' in page and "Pay now" in page
    assert "Seat held until Fri 20 Nov, 11:45 AM" in page  # 15 minutes, shown in Asia/Kolkata
    assert "Tue 1 Dec 2026, 6:30 PM" in page
    assert "Office hours" not in client.get("/bookings?tab=cancelled").get_data(as_text=True)

    booking_service.cancel(held, learner)
    cancelled = client.get("/bookings?tab=cancelled").get_data(as_text=True)
    assert "Office hours" in cancelled and "Pay now" not in cancelled


def test_receipt_shows_the_payment_and_the_refund_a_cancellation_would_bring(
    client, auth, learner, paid_session
):
    booking, payment = paid_booking(paid_session, learner)
    auth.login(learner.email)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    for text in (payment.receipt, payment.order_id, payment.gateway_payment_id, "UPI", "₹499", "Asha Raman"):
        assert text in page
    assert "Tue 1 Dec 2026, 6:30 PM" in page and "Asia/Kolkata" in page
    assert f'href="/bookings/{booking.id}.ics"' in page
    assert "If you cancel now you get ₹499 back" in page
    assert "Join room" not in page

    # Within the last day before the start, the policy refunds nothing and the page says so.
    with time_machine.travel(START - timedelta(hours=3), tick=False):
        auth.login(learner.email)  # eleven days on, the first sign-in has lapsed
        page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "If you cancel now there is no refund" in page


def test_cancelling_from_the_receipt_refunds_by_policy(client, auth, learner, paid_session):
    booking, _ = paid_booking(paid_session, learner)
    auth.login(learner.email)
    token = extract_csrf(client.get(f"/bookings/{booking.id}").get_data(as_text=True))
    response = client.post(f"/bookings/{booking.id}/cancel", data={"csrf_token": token, "reason": "Exams"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "₹499 refunded" in page and "Cancel this booking" not in page


def test_another_learner_gets_404_for_every_page_of_a_booking(client, auth, make_user, learner, paid_session):
    booking, _ = paid_booking(paid_session, learner)
    other = make_user(email="priya@example.com")
    auth.login(other.email)
    token = auth.csrf("/bookings")
    assert client.get(f"/bookings/{booking.id}").status_code == 404
    assert client.get(f"/bookings/{booking.id}.ics").status_code == 404
    assert client.get(f"/bookings/{booking.id}/pay").status_code == 404
    assert client.post(f"/bookings/{booking.id}/cancel", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "confirmed"
    auth.logout()
    assert client.get(f"/bookings/{booking.id}.ics").status_code == 302  # to the login page


def test_ics_download_is_a_calendar_file_with_utc_times(client, auth, learner, paid_session):
    booking, _ = paid_booking(paid_session, learner)
    auth.login(learner.email)
    response = client.get(f"/bookings/{booking.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert f'filename="peerlearn-booking-{booking.id}.ics"' in response.headers["Content-Disposition"]
    [event] = Calendar.from_ical(response.data).walk("VEVENT")
    assert event.decoded("dtstart") == START and event.decoded("dtend") == START + timedelta(minutes=60)
    assert str(event["summary"]) == "Pandas for messy data" and str(event["status"]) == "CONFIRMED"


def test_calendar_feed_works_without_login_and_regenerating_revokes_the_old_link(
    client, auth, learner, paid_session
):
    booking_service.book(SessionFactory(mentor=paid_session.mentor, starts_at=START).id, learner)
    auth.login(learner.email)
    page = client.get("/bookings").get_data(as_text=True)
    assert "Subscribe in Google or Apple Calendar" in page and "Create my calendar link" in page

    token = extract_csrf(page)
    response = client.post("/calendar/regenerate", data={"csrf_token": token, "return_to": "bookings"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/bookings#calendar")
    first = db.session.scalar(select(User.calendar_token).where(User.id == learner.id))
    page = client.get("/bookings").get_data(as_text=True)
    assert f"http://localhost/calendar/{first}.ics" in page and "Regenerate link" in page
    auth.logout()

    response = client.get(f"/calendar/{first}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert len(Calendar.from_ical(response.data).walk("VEVENT")) == 1

    auth.login(learner.email)
    client.post("/calendar/regenerate", data={"csrf_token": auth.csrf("/bookings"), "return_to": "bookings"})
    auth.logout()
    second = db.session.scalar(select(User.calendar_token).where(User.id == learner.id))
    assert second != first
    assert client.get(f"/calendar/{first}.ics").status_code == 404
    assert client.get(f"/calendar/{second}.ics").status_code == 200
    assert client.get("/calendar/not-a-real-token-at-all-000000.ics").status_code == 404


def test_regenerating_needs_a_login_and_a_csrf_token(client, auth, learner):
    response = client.post("/calendar/regenerate", data={"csrf_token": auth.csrf("/auth/login")})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    auth.login(learner.email)
    assert client.post("/calendar/regenerate").status_code == 400
    assert db.session.get(User, learner.id).calendar_token is None


def checkout_config(page):
    match = re.search(r"x-data=\"checkout\" data-config='(.*?)'", page, re.S)
    assert match, "no checkout component on the page"
    return json.loads(unescape(match.group(1)))


def test_checkout_page_shows_the_order_and_configures_the_checkout_component(
    client, auth, learner, paid_session
):
    booking, _ = booking_service.book(paid_session.id, learner)
    auth.login(learner.email)
    response = client.get(f"/bookings/{booking.id}/pay")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    config = checkout_config(page)
    assert config["gateway"] == "dev" and config["amount"] == 49900 and config["currency"] == "INR"
    assert config["orderId"].startswith("order_") and config["description"] == "Pandas for messy data"
    assert config["prefill"] == {"name": "Rohan Gupta", "email": "rohan@example.com"}
    assert config["verifyUrl"] == "/api/verify-payment/"
    assert config["devCheckoutUrl"] == f"/payments/dev-checkout/{config['orderId']}"
    assert f'href="{config["devCheckoutUrl"]}"' in page  # works without JavaScript too
    assert "Pay ₹499" in page and "holding your seat until" in page and "20 Nov, 11:45 AM" in page
    assert '<script src="https://' not in page


def test_checkout_loads_the_razorpay_script_only_when_given(app, learner, paid_session):
    booking, _ = booking_service.book(paid_session.id, learner)

    class Razorpay:
        name = "razorpay"
        key_id = "rzp_test_key"

    class Order:
        order_id = "order_Test123"
        amount_paise = 49900
        currency = "INR"

    script = "https://checkout.razorpay.com/v1/checkout.js"
    with app.test_request_context("/"):
        g._login_user = learner  # signed in, as the checkout route requires
        html = render_template(
            "payments/checkout.html", booking=booking, payment=Order, gateway=Razorpay, razorpay_script=script
        )
        assert f'<script src="{script}"></script>' in html
        assert (
            checkout_config(html)["keyId"] == "rzp_test_key"
            and checkout_config(html)["devCheckoutUrl"] is None
        )
        html = render_template(
            "payments/checkout.html", booking=booking, payment=Order, gateway=Razorpay, razorpay_script=None
        )
        assert "checkout.razorpay.com" not in html
