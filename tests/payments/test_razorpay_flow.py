"""The booking payment through the real razorpay SDK, against the local stand-in of its API."""

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import DomainError
from peerlearn.extensions import db
from peerlearn.models import LedgerEntry, Refund
from peerlearn.services import booking as booking_service
from peerlearn.services import ledger
from peerlearn.services import payments as payment_service
from peerlearn.services import refunds as refund_service
from tests.support.booking import make_session


@pytest.fixture
def held(razorpay_app, make_user):
    mentor = make_user(role="mentor", email="mentor@example.com")
    learner = make_user(email="learner@example.com")
    session = make_session(mentor, price_paise=150000)
    booking, _ = booking_service.book(session.id, learner)
    return learner, booking


def pay_and_verify(learner, booking, razorpay_api):
    """The learner pays at Razorpay's checkout and the page posts the signed result back."""
    payment = payment_service.start_booking_payment(learner, booking.id)
    paid = razorpay_api.authorize_payment(payment.order_id)
    payment_service.verify_checkout(
        learner,
        order_id=payment.order_id,
        payment_id=paid["id"],
        signature=razorpay_api.checkout_signature(payment.order_id, paid["id"]),
    )
    return payment


def test_order_is_created_on_the_server_with_our_amount(held, razorpay_api, client, auth):
    _learner, booking = held
    auth.login("learner@example.com")
    token = auth.csrf("/profile")
    response = client.post(
        "/api/create-payment/", json={"booking_id": booking.id, "amount": 1}, headers={"X-CSRFToken": token}
    )
    checkout = response.get_json()["data"]["checkout"]
    assert checkout["gateway"] == "razorpay" and checkout["key_id"] == razorpay_api.key_id
    (sent,) = razorpay_api.requests_to("POST", r"/v1/orders")
    assert sent.body["amount"] == 150000 and sent.body["currency"] == "INR"
    assert len(sent.body["receipt"]) <= 40 and sent.body["notes"]["booking_id"] == str(booking.id)
    # The checkout page loads Razorpay's script only in this mode.
    page = client.get(f"/bookings/{booking.id}/pay").get_data(as_text=True)
    assert "checkout.razorpay.com/v1/checkout.js" in page


def test_checkout_verification_and_refund_through_the_sdk(held, razorpay_api):
    learner, booking = held
    payment = payment_service.start_booking_payment(learner, booking.id)
    paid = razorpay_api.authorize_payment(payment.order_id)
    signature = razorpay_api.checkout_signature(payment.order_id, paid["id"])
    with pytest.raises(DomainError):
        payment_service.verify_checkout(
            learner, order_id=payment.order_id, payment_id=paid["id"], signature="0" * 64
        )
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=paid["id"], signature=signature
    )
    db.session.refresh(booking)
    assert booking.status == "confirmed"
    assert ledger.payment_balance(payment.id) == {
        "payment": 150000,
        "platform_fee": 18000,
        "mentor_earning": 132000,
    }

    refund = booking_service.cancel(booking, learner)
    assert refund.status == "processed" and refund.gateway_refund_id.startswith("rfnd_")
    (sent,) = razorpay_api.requests_to("POST", rf"/v1/payments/{paid['id']}/refund")
    assert sent.headers["X-Refund-Idempotency"] == f"booking-{booking.id}-cancel"
    assert sent.body["amount"] == 150000
    assert ledger.check_payment_invariant(payment) == []


def test_authorized_payment_is_captured_by_us(held, razorpay_api):
    learner, booking = held
    razorpay_api.capture_immediately = False
    payment = payment_service.start_booking_payment(learner, booking.id)
    paid = razorpay_api.authorize_payment(payment.order_id)
    signature = razorpay_api.checkout_signature(payment.order_id, paid["id"])
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=paid["id"], signature=signature
    )
    (capture,) = razorpay_api.requests_to("POST", rf"/v1/payments/{paid['id']}/capture")
    assert capture.body["amount"] == 150000
    db.session.refresh(booking)
    assert booking.status == "confirmed"


def test_wrong_amount_at_the_gateway_is_refused(held, razorpay_api):
    learner, booking = held
    payment = payment_service.start_booking_payment(learner, booking.id)
    paid = razorpay_api.authorize_payment(payment.order_id, amount=100)
    signature = razorpay_api.checkout_signature(payment.order_id, paid["id"])
    with pytest.raises(DomainError) as caught:
        payment_service.verify_checkout(
            learner, order_id=payment.order_id, payment_id=paid["id"], signature=signature
        )
    assert caught.value.code == "amount_mismatch"
    db.session.refresh(booking)
    assert booking.status == "pending_payment"


def test_webhooks_signed_by_razorpay_confirm_once(held, razorpay_api, client):
    learner, booking = held
    payment = payment_service.start_booking_payment(learner, booking.id)
    paid = razorpay_api.authorize_payment(payment.order_id)
    for event in ("payment.captured", "order.paid", "payment.captured"):
        body, signature, event_id = razorpay_api.webhook(event, paid["id"])
        response = client.post(
            "/payments/webhooks/razorpay",
            data=body,
            content_type="application/json",
            headers={"X-Razorpay-Signature": signature, "X-Razorpay-Event-Id": event_id},
        )
        assert response.status_code == 200
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 3
    db.session.refresh(booking)
    assert booking.status == "confirmed"


def test_pending_refund_settles_by_webhook_in_any_order(held, razorpay_api):
    learner, booking = held
    payment = pay_and_verify(learner, booking, razorpay_api)
    razorpay_api.new_refund_status = "pending"
    refund = refund_service.refund_payment(payment, 50000, key="support-partial-0001", reason="partial")
    assert refund.status == "pending"
    assert ledger.payment_balance(payment.id).get("refund") is None  # nothing moved yet
    razorpay_api.set_refund_status(refund.gateway_refund_id, "failed")
    payment_service.handle_webhook(*razorpay_api.webhook("refund.failed", refund.gateway_refund_id))
    db.session.refresh(refund)
    db.session.refresh(payment)
    assert refund.status == "failed" and payment.refunded_paise == 0  # the reservation is released
    again = refund_service.refund_payment(payment, 50000, key="support-partial-0002", reason="retry")
    razorpay_api.set_refund_status(again.gateway_refund_id, "processed")
    event = razorpay_api.webhook("refund.processed", again.gateway_refund_id)
    payment_service.handle_webhook(*event)
    payment_service.handle_webhook(*event)
    db.session.refresh(payment)
    assert payment.status == "partially_refunded" and payment.refunded_paise == 50000
    assert db.session.scalar(select(func.count(Refund.id))) == 2
    assert ledger.check_payment_invariant(payment) == []


def test_gateway_outage_gives_a_clear_503_and_nothing_half_written(held, razorpay_api, client, auth):
    _learner, booking = held
    razorpay_api.outage = "error"
    auth.login("learner@example.com")
    token = auth.csrf("/profile")
    response = client.post(
        "/api/create-payment/", json={"booking_id": booking.id}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "gateway_unavailable"
    from peerlearn.models import Payment

    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_csp_allows_razorpay_only_when_configured(held, client, app):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "https://checkout.razorpay.com" in csp and "https://api.razorpay.com" in csp
    app.config["RAZORPAY_KEY_ID"] = None
    assert "razorpay" not in client.get("/").headers["Content-Security-Policy"]


def test_a_refund_left_pending_is_settled_by_the_reconciler(held, razorpay_api):
    learner, booking = held
    payment = pay_and_verify(learner, booking, razorpay_api)
    razorpay_api.new_refund_status = "pending"
    refund = refund_service.refund_payment(payment, 20000, key="support-pending-0001", reason="partial")
    assert refund.status == "pending"
    razorpay_api.set_refund_status(refund.gateway_refund_id, "processed")  # ...and its webhook is lost
    assert payment_service.reconcile_open_payments() == (0, 1)
    db.session.refresh(refund)
    assert refund.status == "processed"
    assert ledger.check_payment_invariant(payment) == []


def test_earnings_behind_a_pending_refund_cannot_be_withdrawn(held, razorpay_api, time_machine):
    from datetime import timedelta

    from peerlearn.services import earnings, sessions

    learner, booking = held
    pay_and_verify(learner, booking, razorpay_api)
    razorpay_api.new_refund_status = "pending"
    time_machine.move_to(booking.session.starts_at - timedelta(hours=1))
    sessions.cancel_session(booking.session.mentor, booking.session_id, reason="Ill")
    summary = earnings.summary(booking.session.mentor_id)
    assert summary["refunding_paise"] == 132000 and summary["available_paise"] == 0


def test_a_retried_order_paid_after_a_failed_attempt_is_found_by_the_reconciler(held, razorpay_api):
    learner, booking = held
    payment = payment_service.start_booking_payment(learner, booking.id)
    failed = razorpay_api.fail_payment(payment.order_id)
    payment_service.reconcile_payment(payment)
    db.session.refresh(payment)
    assert payment.status in ("created", "failed") and failed["status"] == "failed"
    payment_service.mark_failed(payment, failed["id"], "declined")
    razorpay_api.authorize_payment(payment.order_id)  # the retry succeeds, its webhook is lost
    payment_service.reconcile_open_payments()
    db.session.refresh(booking)
    assert booking.status == "confirmed"
