"""Booking, paying, the waitlist, packs and webhooks as a Hindi reader sees them: the pages, the
refund promise, the flashed messages and the refusals speak Hindi, while an English reader's pages
stay word for word as they were."""

from html import unescape

import pytest

from peerlearn.services import booking as booking_service
from peerlearn.services import webhooks as webhook_service
from tests.conftest import AuthActions, extract_csrf
from tests.factories import UserFactory, make_session
from tests.support.webhooks import Receiver

HINDI = {"Accept-Language": "hi"}


def signed_in(app, email):
    browser = app.test_client()
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def text(response):
    return unescape(response.get_data(as_text=True))


def test_a_hindi_learners_bookings_receipt_and_pay_page_are_in_hindi(app):
    mentor = UserFactory(role="mentor", name="Asha Raman")
    session = make_session(mentor, title="Pandas for messy data", price_paise=49_900, capacity=3)
    learner = UserFactory(email="rohan@example.com", locale="hi")
    held, _ = booking_service.book(session.id, learner)
    browser = signed_in(app, "rohan@example.com")

    listing = text(browser.get("/bookings"))
    assert "मेरी बुकिंग" in listing and "अभी भुगतान करें" in listing
    assert "Pay now" not in listing and "My bookings" not in listing

    receipt = text(browser.get(f"/bookings/{held.id}"))
    assert "पेमेंट बाकी" in receipt and "यह बुकिंग रद्द करें" in receipt
    assert "3 सीटें" in receipt and "3 seats" not in receipt
    assert "से पहले रद्द करने पर पूरा रिफ़ंड" in receipt  # the refund promise, said in Hindi
    assert "Full refund if you cancel" not in receipt

    checkout = text(browser.get(f"/bookings/{held.id}/pay"))
    assert "अपनी सीट के लिए भुगतान करें" in checkout and "₹499 का भुगतान करें" in checkout
    assert "Pay for your seat" not in checkout

    cancelled = browser.post(
        f"/bookings/{held.id}/cancel",
        data={"csrf_token": extract_csrf(receipt)},
        follow_redirects=True,
    )
    assert "बुकिंग रद्द हो गई।" in text(cancelled)


def test_an_english_readers_pages_are_unchanged(app):
    mentor = UserFactory(role="mentor", name="Asha Raman")
    session = make_session(mentor, title="Pandas for messy data", price_paise=49_900, capacity=3)
    UserFactory(email="rohan@example.com")
    learner_browser = signed_in(app, "rohan@example.com")
    page = text(learner_browser.get(f"/sessions/{session.id}"))
    booked = learner_browser.post(
        f"/sessions/{session.id}/book", data={"csrf_token": extract_csrf(page)}, follow_redirects=True
    )
    checkout = text(booked)
    assert "Pay for your seat" in checkout and "Pay ₹499" in checkout
    assert "We're holding your seat until" in checkout
    assert "अपनी सीट" not in checkout


def test_the_waitlist_tells_a_hindi_reader_their_place_in_hindi(app):
    mentor = UserFactory(role="mentor", email="mentor@example.com")
    session = make_session(mentor, title="Busy class", capacity=1, price_paise=50_000)
    booking_service.book(session.id, UserFactory())
    UserFactory(email="ana@example.com", locale="hi")
    browser = signed_in(app, "ana@example.com")

    page = text(browser.get(f"/sessions/{session.id}"))
    assert "यह सेशन भर चुका है।" in page and "वेटलिस्ट में जुड़ें" in page
    joined = text(
        browser.post(
            f"/sessions/{session.id}/waitlist", data={"csrf_token": extract_csrf(page)}, follow_redirects=True
        )
    )
    assert "आप वेटलिस्ट में हैं, लाइन में आपका नंबर 1 है।" in joined
    assert "1st" not in joined


def test_a_refusal_over_the_api_speaks_the_readers_language(app, client, api_token):
    mentor = UserFactory(role="mentor", email="mentor@example.com")
    session = make_session(mentor, title="My own class", price_paise=0)
    headers = {"Authorization": "Bearer " + api_token("mentor@example.com")}

    english = client.post(f"/api/sessions/{session.id}/book/", headers=headers)
    hindi = client.post(f"/api/sessions/{session.id}/book/", headers=headers | HINDI)

    assert english.status_code == hindi.status_code == 409
    assert english.get_json()["error"]["code"] == hindi.get_json()["error"]["code"] == "own_session"
    assert english.get_json()["error"]["message"] == "You can't book your own session."
    assert hindi.get_json()["error"]["message"] == "आप अपना ही सेशन बुक नहीं कर सकते।"


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def test_a_hindi_mentors_webhook_pages_are_in_hindi(app, receiver):
    mentor = UserFactory(role="mentor", email="mentor@example.com", locale="hi")
    webhook_service.create_endpoint(mentor, url=receiver.url, event_types=["booking.created"])
    browser = signed_in(app, "mentor@example.com")

    index = text(browser.get("/settings/webhooks/"))
    assert "वेबहुक" in index and "एंडपॉइंट जोड़ें" in index and "1 इवेंट" in index
    assert "Add endpoint" not in index

    form = text(browser.get("/settings/webhooks/new"))
    assert "बुकिंग कन्फ़र्म होती है" in form and "A booking is confirmed" not in form
