"""Gifts in the live room: the order, the verification (twice), the ledger and the broadcast.

The dev gateway plays Razorpay in most tests; the last one runs a gift through the real razorpay
SDK against the local stand-in of Razorpay's API.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import Gift, LedgerEntry, Payment, utcnow
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import earnings, ledger
from peerlearn.services import payments as payment_service
from tests.conftest import AuthActions, IsolatedSocketClient
from tests.factories import make_session


@pytest.fixture
def live(app, make_user, time_machine):
    """A session that started a minute ago, its mentor, a booked learner and an outsider."""
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    mentor = make_user(email="mentor@example.com", role="mentor", name="Meera Mentor")
    ana = make_user(email="ana@example.com", name="Ana Learner")
    outsider = make_user(email="out@example.com", name="Olu Outsider")
    session = make_session(mentor, starts_at=now + timedelta(minutes=5))
    booking, _ = booking_service.book(session.id, ana)
    assert booking.status == "confirmed"
    time_machine.move_to(now + timedelta(minutes=6), tick=False)
    return {"session": session, "mentor": mentor, "ana": ana, "outsider": outsider}


def signed_in(app, email):
    browser = app.test_client()
    actions = AuthActions(browser)
    assert actions.login(email).status_code == 302
    return browser, actions.csrf("/profile")


def create(browser, token, session_id, amount_paise=10000, message="Thank you!"):
    return browser.post(
        "/api/gift/create/",
        json={"session_id": session_id, "amount_paise": amount_paise, "message": message},
        headers={"X-CSRFToken": token},
    )


def pay(order_id, **kwargs):
    remote, signature = get_gateway().pay(order_id, **kwargs)
    db.session.commit()
    return remote, signature


def verify(browser, token, order_id, payment_id, signature):
    return browser.post(
        "/api/gift/verify/",
        json={
            "razorpay_order_id": order_id,
            "razorpay_payment_id": payment_id,
            "razorpay_signature": signature,
        },
        headers={"X-CSRFToken": token},
    )


def gift_events(sio):
    return [event["args"][0] for event in sio.get_received() if event["name"] == "gift:received"]


def test_a_paid_gift_reaches_the_room_once_and_the_mentor_ledger(app, live):
    session = live["session"]
    mentor_socket = IsolatedSocketClient(app, signed_in(app, "mentor@example.com")[0])
    assert mentor_socket.emit("room:join", {"session_id": session.id}, callback=True)["ok"]
    browser, token = signed_in(app, "ana@example.com")

    response = create(browser, token, session.id, amount_paise=25000, message="  Loved the demo  ")
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["gift"]["status"] == "pending" and data["gift"]["message"] == "Loved the demo"
    checkout = data["checkout"]
    assert checkout["amount"] == 25000 and checkout["gateway"] == "dev" and checkout["checkout_url"]
    order_id = checkout["order_id"]
    gift_events(mentor_socket)  # nothing announced before the payment
    remote, signature = pay(order_id)

    first = verify(browser, token, order_id, remote.id, signature)
    second = verify(browser, token, order_id, remote.id, signature)
    assert first.status_code == second.status_code == 200
    assert first.get_json()["data"]["gift"]["status"] == "paid"

    # Announced once, to everyone in the room, with who, how much and the message.
    events = gift_events(mentor_socket)
    assert len(events) == 1
    gift = events[0]["gift"]
    assert events[0]["session_id"] == session.id
    assert (gift["sender_name"], gift["amount_paise"], gift["message"]) == (
        "Ana Learner",
        25000,
        "Loved the demo",
    )

    # Counted once: one payment split, under the session, 12 % to the platform.
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    assert payment.purpose == "gift" and payment.status == "captured" and payment.booking_id is None
    assert ledger.payment_balance(payment.id) == {
        "payment": 25000,
        "platform_fee": 3000,
        "mentor_earning": 22000,
    }
    assert ledger.check_payment_invariant(payment) == []
    sessions_of_entries = set(
        db.session.scalars(select(LedgerEntry.session_id).where(LedgerEntry.payment_id == payment.id))
    )
    assert sessions_of_entries == {session.id}
    assert earnings.summary(live["mentor"].id)["pending_paise"] == 22000
    assert db.session.scalar(select(func.count(Gift.id)).where(Gift.status == "paid")) == 1

    # Someone who joins later gets the paid gifts with the room.
    ana_socket = IsolatedSocketClient(app, browser)
    ack = ana_socket.emit("room:join", {"session_id": session.id}, callback=True)
    assert [g["amount_paise"] for g in ack["gifts"]] == [25000]
    for sio in (mentor_socket, ana_socket):
        sio.disconnect()


def test_the_checkout_page_return_and_the_room_both_verifying_count_once(app, live):
    """The dev checkout's window verifies on return and the room verifies again."""
    session = live["session"]
    browser, token = signed_in(app, "ana@example.com")
    order_id = create(browser, token, session.id).get_json()["data"]["checkout"]["order_id"]
    remote, signature = pay(order_id)
    page = browser.get(
        "/payments/dev-return",
        query_string={"order_id": order_id, "payment_id": remote.id, "signature": signature},
    )
    assert page.status_code == 200 and b"Gift sent" in page.data and b"data-result" in page.data
    assert verify(browser, token, order_id, remote.id, signature).status_code == 200
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    assert (
        db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.payment_id == payment.id)) == 3
    )


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (999, "amount_paise"),
        (1_000_001, "amount_paise"),
        ("100", "amount_paise"),
        (True, "amount_paise"),
        (None, "amount_paise"),
    ],
)
def test_amounts_outside_the_gift_range_are_refused(app, live, amount, field):
    browser, token = signed_in(app, "ana@example.com")
    response = create(browser, token, live["session"].id, amount_paise=amount)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_a_message_over_280_characters_is_refused(app, live):
    browser, token = signed_in(app, "ana@example.com")
    response = create(browser, token, live["session"].id, message="x" * 281)
    assert response.status_code == 422 and "message" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("email", "status", "code"),
    [("mentor@example.com", 403, "own_session"), ("out@example.com", 403, "no_seat")],
)
def test_only_learners_in_the_room_can_send_gifts(app, live, email, status, code):
    browser, token = signed_in(app, email)
    response = create(browser, token, live["session"].id)
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert db.session.scalar(select(func.count(Gift.id))) == 0


def test_no_gifts_once_the_session_has_ended(app, live, time_machine):
    browser, token = signed_in(app, "ana@example.com")
    time_machine.move_to(live["session"].ends_at + timedelta(hours=2), tick=False)
    response = create(browser, token, live["session"].id)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "session_ended"


def test_a_bad_signature_leaves_the_gift_pending_and_unannounced(app, live):
    browser, token = signed_in(app, "ana@example.com")
    order_id = create(browser, token, live["session"].id).get_json()["data"]["checkout"]["order_id"]
    remote, _signature = pay(order_id)
    response = verify(browser, token, order_id, remote.id, "0" * 64)
    assert response.status_code == 400
    gift = db.session.scalar(select(Gift))
    assert gift.status == "pending" and db.session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_another_users_gift_order_and_a_booking_order_are_not_found(app, live, make_user):
    ana_browser, ana_token = signed_in(app, "ana@example.com")
    order_id = create(ana_browser, ana_token, live["session"].id).get_json()["data"]["checkout"]["order_id"]
    remote, signature = pay(order_id)
    outsider_browser, outsider_token = signed_in(app, "out@example.com")
    assert verify(outsider_browser, outsider_token, order_id, remote.id, signature).status_code == 404

    paid_session = make_session(live["mentor"], price_paise=49900, starts_at=utcnow() + timedelta(days=2))
    booking, _ = booking_service.book(paid_session.id, live["ana"])
    booking_payment = payment_service.start_booking_payment(live["ana"], booking.id)
    remote, signature = pay(booking_payment.order_id)
    response = verify(ana_browser, ana_token, booking_payment.order_id, remote.id, signature)
    assert response.status_code == 404
    db.session.refresh(booking)
    assert booking.status == "pending_payment"


def test_a_failed_attempt_then_a_good_one_on_the_same_order(app, live):
    browser, token = signed_in(app, "ana@example.com")
    order_id = create(browser, token, live["session"].id).get_json()["data"]["checkout"]["order_id"]
    failed, _ = pay(order_id, succeed=False)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    payment_service.apply_gateway_payment(payment, get_gateway().fetch_payment(failed.id))
    assert db.session.scalar(select(Gift.status)) == "failed"
    remote, signature = pay(order_id)
    assert verify(browser, token, order_id, remote.id, signature).status_code == 200
    assert db.session.scalar(select(Gift.status)) == "paid"


def test_a_webhook_and_the_checkout_callback_record_the_gift_once(app, live):
    browser, token = signed_in(app, "ana@example.com")
    order_id = create(browser, token, live["session"].id).get_json()["data"]["checkout"]["order_id"]
    remote, signature = pay(order_id)
    gateway = get_gateway()
    body, webhook_signature, event_id = gateway.webhook_payload("payment.captured", remote.id)
    outcome = payment_service.handle_webhook(body, webhook_signature, event_id)
    assert outcome
    assert verify(browser, token, order_id, remote.id, signature).status_code == 200
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    assert ledger.payment_balance(payment.id)["payment"] == 10000
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 3


def test_a_gift_through_the_razorpay_sdk(razorpay_app, razorpay_api, live):
    browser, token = signed_in(razorpay_app, "ana@example.com")
    response = create(browser, token, live["session"].id, amount_paise=5000)
    checkout = response.get_json()["data"]["checkout"]
    assert checkout["gateway"] == "razorpay" and checkout["key_id"] == razorpay_api.key_id
    assert "checkout_url" not in checkout
    paid = razorpay_api.authorize_payment(checkout["order_id"])
    signature = razorpay_api.checkout_signature(checkout["order_id"], paid["id"])
    assert verify(browser, token, checkout["order_id"], paid["id"], signature).status_code == 200
    # The order Razorpay was asked for carries the amount from our database.
    (order,) = razorpay_api.requests_to("POST", r"/v1/orders")
    assert order.body["amount"] == 5000 and order.body["notes"]["purpose"] == "gift"
    gift = db.session.scalar(select(Gift))
    assert gift.status == "paid" and gift.amount_paise == 5000
