"""Paying for bookings end to end: checkout verification, webhooks, refunds and the ledger.

The dev gateway plays Razorpay here; tests/payments/test_razorpay_flow.py runs the same paths
through the real razorpay SDK against the local stand-in of Razorpay's API.
"""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, DomainError
from peerlearn.extensions import db
from peerlearn.models import Booking, LedgerEntry, Payment, Refund, utcnow
from peerlearn.payments import get_gateway
from peerlearn.payments.base import hmac_sha256_hex
from peerlearn.services import booking as booking_service
from peerlearn.services import ledger, reconcile_log
from peerlearn.services import payments as payment_service
from peerlearn.services import refunds as refund_service
from tests.support.booking import make_session


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.com")


@pytest.fixture
def held(mentor, learner):
    """A learner holding a seat in a ₹499 session, with its gateway order open."""
    session = make_session(mentor, price_paise=49900, capacity=2)
    booking, _ = booking_service.book(session.id, learner)
    payment = payment_service.start_booking_payment(learner, booking.id)
    return booking, payment


def pay(payment, **kwargs):
    remote, signature = get_gateway().pay(payment.order_id, **kwargs)
    db.session.commit()
    return remote, signature


def entries(payment_id):
    return ledger.payment_balance(payment_id)


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def test_verified_payment_confirms_and_splits_exactly(app, held, learner):
    booking, payment = held
    assert payment.amount_paise == 49900 and payment.currency == "INR" and len(payment.receipt) <= 40
    remote, signature = pay(payment, method="card")
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    db.session.refresh(booking)
    db.session.refresh(payment)
    assert booking.status == "confirmed" and booking.hold_expires_at is None
    assert (
        payment.status == "captured" and payment.gateway_payment_id == remote.id and payment.method == "card"
    )
    # 12 % of ₹499 is ₹59.88: fee + earning == captured, to the paisa.
    assert entries(payment.id) == {"payment": 49900, "platform_fee": 5988, "mentor_earning": 43912}
    assert ledger.check_payment_invariant(payment) == []


def test_the_order_amount_comes_from_the_database(client, auth, held, learner):
    booking, _payment = held
    auth.login("learner@example.com")
    token = auth.csrf("/profile")
    response = client.post(
        "/api/create-payment/",
        json={"booking_id": booking.id, "amount": 100, "amount_paise": 100, "currency": "USD"},
        headers={"X-CSRFToken": token},
    )
    data = response.get_json()["data"]
    assert data["checkout"]["amount"] == 49900 and data["checkout"]["currency"] == "INR"
    assert data["checkout"]["gateway"] == "dev" and data["checkout"]["checkout_url"]


@pytest.mark.parametrize("bad", ["wrong-signature", "0" * 64, "é" * 64, ""])
def test_a_bad_signature_is_refused_and_the_booking_stays_pending(held, learner, bad):
    booking, payment = held
    remote, _signature = pay(payment)
    with pytest.raises(DomainError) as caught:
        payment_service.verify_checkout(
            learner, order_id=payment.order_id, payment_id=remote.id, signature=bad
        )
    assert caught.value.status in (400, 422)
    db.session.refresh(booking)
    db.session.refresh(payment)
    assert booking.status == "pending_payment" and payment.status == "created"
    assert count(LedgerEntry) == 0


def test_another_orders_payment_is_refused(mentor, learner, make_user, held):
    booking, payment = held
    other_session = make_session(mentor, price_paise=100, title="Cheap one")
    other_booking, _ = booking_service.book(other_session.id, learner)
    cheap = payment_service.start_booking_payment(learner, other_booking.id)
    remote, signature = pay(cheap)  # a genuine ₹1 payment with a genuine signature...
    with pytest.raises(DomainError):  # ...presented for the ₹499 order
        payment_service.verify_checkout(
            learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
        )
    db.session.refresh(booking)
    assert booking.status == "pending_payment"


def test_verify_payment_api_errors_are_400_not_500(client, auth, held):
    booking, payment = held
    remote, _ = pay(payment)
    auth.login("learner@example.com")
    token = auth.csrf("/profile")
    for body in (
        {
            "razorpay_order_id": payment.order_id,
            "razorpay_payment_id": remote.id,
            "razorpay_signature": "x" * 64,
        },
        {
            "razorpay_order_id": payment.order_id,
            "razorpay_payment_id": remote.id,
            "razorpay_signature": "ü" * 64,
        },
        {"razorpay_order_id": payment.order_id},
        {"razorpay_order_id": 5, "razorpay_payment_id": [], "razorpay_signature": {}},
    ):
        response = client.post("/api/verify-payment/", json=body, headers={"X-CSRFToken": token})
        assert 400 <= response.status_code < 500, (body, response.get_json())
    db.session.refresh(booking)
    assert booking.status == "pending_payment"


def test_a_failed_payment_keeps_the_hold_and_a_late_capture_is_accepted(held, learner):
    booking, payment = held
    failed, _ = pay(payment, succeed=False)
    body, signature, event_id = get_gateway().webhook_payload("payment.failed", failed)
    assert payment_service.handle_webhook(body, signature, event_id).endswith("failed")
    db.session.refresh(payment)
    assert payment.status == "failed"
    # A capture reported after the failure (as Razorpay may do) is still accepted.
    payment_service.apply_capture(payment, "pay_LateCapture0001")
    db.session.refresh(booking)
    assert payment.status == "captured" and booking.status == "confirmed"


def webhook(event_type, obj):
    return get_gateway().webhook_payload(event_type, obj)


def test_webhook_signature_checks(held):
    _booking, payment = held
    remote, _ = pay(payment)
    body, signature, event_id = webhook("payment.captured", remote)
    for bad_body, bad_signature in (
        (body, ""),
        (body, "a" * 64),
        (body + b" ", signature),
        (body.replace(b"captured", b"failed__"), signature),
        (body, "ñ" * 64),
    ):
        with pytest.raises(DomainError) as caught:
            payment_service.handle_webhook(bad_body, bad_signature, event_id)
        assert caught.value.status == 400
    assert count(LedgerEntry) == 0


def test_webhook_endpoint_answers_400_for_bad_signatures(client, held):
    _booking, payment = held
    remote, _ = pay(payment)
    body, _signature, event_id = webhook("payment.captured", remote)
    for headers in ({}, {"X-Razorpay-Signature": "nope"}, {"X-Razorpay-Signature": "ŝîĝ"}):
        response = client.post(
            "/payments/webhooks/razorpay",
            data=body,
            content_type="application/json",
            headers={"X-Razorpay-Event-Id": event_id, **headers},
        )
        assert response.status_code == 400
        assert response.get_json()["success"] is False


def test_same_webhook_three_times_two_at_once_is_applied_once(threaded_app):
    from tests.factories import UserFactory
    from tests.support.booking import make_session

    app = threaded_app
    learner = UserFactory()
    session = make_session(UserFactory(role="mentor"), price_paise=49900)
    booking, _ = booking_service.book(session.id, learner)
    payment = payment_service.start_booking_payment(learner, booking.id)
    booking_id = booking.id
    remote, _ = pay(payment)
    body, signature, event_id = webhook("payment.captured", remote)
    headers = {"X-Razorpay-Signature": signature, "X-Razorpay-Event-Id": event_id}
    statuses = []

    def deliver():
        response = app.test_client().post(
            "/payments/webhooks/razorpay", data=body, content_type="application/json", headers=headers
        )
        statuses.append(response.status_code)

    db.session.remove()
    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    deliver()
    assert statuses == [200, 200, 200]
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 3
    assert db.session.get(Booking, booking_id).status == "confirmed"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(db.metadata.tables["outbound_emails"])
            .where(db.metadata.tables["outbound_emails"].c.subject.like("Booked:%"))
        )
        == 1
    )


def test_order_paid_and_verification_together_count_once(held, learner):
    _booking, payment = held
    remote, signature = pay(payment)
    body, sig, event_id = webhook("order.paid", remote)
    payment_service.handle_webhook(body, sig, event_id)
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    assert entries(payment.id) == {"payment": 49900, "platform_fee": 5988, "mentor_earning": 43912}


def test_events_out_of_order_end_in_the_right_state(held, learner):
    """refund.processed arrives before we even saw the capture; payment.failed after it."""
    _booking, payment = held
    remote, _ = pay(payment)
    captured_event = webhook("payment.captured", remote)
    failed_late = webhook("payment.failed", remote)
    payment_service.handle_webhook(*captured_event)
    payment_service.handle_webhook(*failed_late)  # stale: a captured payment stays captured
    db.session.refresh(payment)
    assert payment.status == "captured"
    refund = refund_service.refund_payment(payment, 10000, key="test-partial-refund-1", reason="goodwill")
    processed = webhook("refund.processed", refund.gateway_refund_id)
    payment_service.handle_webhook(*processed)
    payment_service.handle_webhook(*processed)
    db.session.refresh(payment)
    assert payment.status == "partially_refunded" and payment.refunded_paise == 10000
    assert entries(payment.id)["refund"] == -10000
    assert ledger.check_payment_invariant(payment) == []


def test_refund_repeated_is_one_refund_and_never_exceeds_the_capture(held, learner):
    _booking, payment = held
    remote, signature = pay(payment)
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    first = refund_service.refund_payment(payment, 20000, key="support-ticket-42", reason="partial")
    again = refund_service.refund_payment(payment, 20000, key="support-ticket-42", reason="partial")
    assert first.id == again.id and count(Refund) == 1
    with pytest.raises(Conflict) as caught:
        refund_service.refund_payment(payment, 29901, key="support-ticket-43", reason="too much")
    assert caught.value.code == "refund_exceeds_payment"
    rest = refund_service.refund_payment(payment, 29900, key="support-ticket-44", reason="the rest")
    assert rest.status == "processed"
    db.session.refresh(payment)
    assert payment.status == "refunded" and payment.refunded_paise == 49900
    assert entries(payment.id) == {
        "payment": 49900,
        "platform_fee": 5988,
        "mentor_earning": 43912,
        "refund": -49900,
        "fee_reversal": -5988,
        "earning_reversal": -43912,
    }


def test_payment_after_hold_expired_takes_a_free_seat(held, learner, time_machine):
    booking, payment = held
    time_machine.move_to(utcnow() + timedelta(minutes=16))
    assert booking_service.expire_holds() == 1
    remote, signature = pay(payment)
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    db.session.refresh(booking)
    assert booking.status == "confirmed"
    assert booking.session.seats_taken == 1
    assert count(Refund) == 0


def test_payment_after_hold_expired_with_no_seat_left_is_refunded(mentor, make_user, time_machine):
    session = make_session(mentor, price_paise=49900, capacity=1)
    late, early = make_user(), make_user()
    late_booking, _ = booking_service.book(session.id, late)
    payment = payment_service.start_booking_payment(late, late_booking.id)
    time_machine.move_to(utcnow() + timedelta(minutes=16))
    booking_service.expire_holds()
    booking_service.book(session.id, early)  # the released seat goes to someone else
    remote, signature = pay(payment)
    payment_service.verify_checkout(
        late, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    db.session.refresh(late_booking)
    db.session.refresh(payment)
    assert late_booking.status == "expired"
    assert payment.status == "refunded" and payment.refunded_paise == 49900
    assert ledger.check_payment_invariant(payment) == []
    assert db.session.get(type(session), session.id).seats_taken == 1


def confirmed_paid_booking(learner, held):
    booking, payment = held
    remote, signature = pay(payment)
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    db.session.refresh(booking)
    return booking, payment


def test_learner_cancelling_early_gets_everything_back(held, learner):
    booking, payment = confirmed_paid_booking(learner, held)
    refund = booking_service.cancel(booking, learner)
    assert refund.amount_paise == 49900 and refund.status == "processed"
    db.session.refresh(payment)
    assert payment.status == "refunded" and booking.session.seats_taken == 0


@pytest.mark.parametrize(("percent", "expected"), [(0, None), (50, 24950)])
def test_learner_cancelling_late_gets_the_configured_share(
    app, held, learner, time_machine, percent, expected
):
    app.config["LATE_CANCEL_REFUND_PERCENT"] = percent
    booking, payment = confirmed_paid_booking(learner, held)
    time_machine.move_to(booking.session.starts_at - timedelta(hours=3))
    refund = booking_service.cancel(booking, learner)
    assert (refund.amount_paise if refund else None) == expected
    assert ledger.check_payment_invariant(payment) == []


def test_mentor_cancelling_refunds_everyone_in_full(mentor, make_user, learner, held, time_machine):
    booking, payment = confirmed_paid_booking(learner, held)
    from peerlearn.services import sessions

    time_machine.move_to(booking.session.starts_at - timedelta(hours=1))
    sessions.cancel_session(mentor, booking.session_id, reason="Ill")
    db.session.refresh(booking)
    db.session.refresh(payment)
    assert booking.status == "cancelled" and payment.status == "refunded"
    assert entries(payment.id)["earning_reversal"] == -43912


def test_reconciler_recovers_a_missed_webhook(held, learner):
    booking, payment = held
    pay(payment)  # paid at the gateway, but the tab closed and the webhook never came
    assert payment_service.reconcile_open_payments() == (1, 0)
    db.session.refresh(booking)
    assert booking.status == "confirmed"
    # What the run found is kept for /metrics.
    found = reconcile_log.totals()
    assert {name: found[name] for name in ("runs", "checked", "captured", "failed", "errors")} == {
        "runs": 1,
        "checked": 1,
        "captured": 1,
        "failed": 0,
        "errors": 0,
    }
    assert found["last_run"] > 0
    payment_service.reconcile_open_payments()  # nothing open any more
    assert (reconcile_log.totals()["runs"], reconcile_log.totals()["checked"]) == (2, 1)


def test_payment_history_is_the_payers_own(client, auth, held, learner, make_user, api_token):
    _booking, payment = held
    make_user(email="other@example.com")
    mine = client.get(
        "/api/payment-history/", headers={"Authorization": f"Bearer {api_token('learner@example.com')}"}
    )
    theirs = client.get(
        "/api/payment-history/", headers={"Authorization": f"Bearer {api_token('other@example.com')}"}
    )
    assert [p["order_id"] for p in mine.get_json()["data"]["items"]] == [payment.order_id]
    assert theirs.get_json()["data"]["items"] == []


def test_webhook_events_are_stored_once(held):
    _booking, payment = held
    remote, _ = pay(payment)
    body, signature, event_id = webhook("payment.captured", remote)
    assert payment_service.handle_webhook(body, signature, event_id) != "duplicate"
    assert payment_service.handle_webhook(body, signature, event_id) == "duplicate"
    stored = db.session.scalars(select(db.metadata.tables["webhook_events"].c.payload)).all()
    assert len(stored) == 1 and stored[0]["event"] == "payment.captured"
    assert json.loads(body)["payload"]["payment"]["entity"]["id"] == remote.id


def test_an_event_that_failed_midway_is_applied_when_redelivered(held, monkeypatch):
    booking, payment = held
    remote, _ = pay(payment)
    event = webhook("payment.captured", remote)

    def crash(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(payment_service, "_apply_event", crash)
    with pytest.raises(RuntimeError):
        payment_service.handle_webhook(*event)
    monkeypatch.undo()
    assert payment_service.handle_webhook(*event).endswith("captured")
    assert payment_service.handle_webhook(*event) == "duplicate"
    db.session.refresh(booking)
    assert booking.status == "confirmed"


def test_a_failed_attempt_is_retried_on_the_same_order(held, learner):
    booking, payment = held
    pay(payment, succeed=False)
    retry = payment_service.start_booking_payment(learner, booking.id)
    assert retry.id == payment.id and retry.order_id == payment.order_id
    remote, signature = pay(retry)
    payment_service.verify_checkout(
        learner, order_id=retry.order_id, payment_id=remote.id, signature=signature
    )
    db.session.refresh(booking)
    assert booking.status == "confirmed"


def test_a_second_payment_for_a_confirmed_seat_is_refunded(held, learner):
    booking, payment = held
    remote, signature = pay(payment)
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    # Another order for the same booking gets paid too (an old tab, a second device).
    gateway = get_gateway()
    order_id = gateway.create_order(amount_paise=49900, currency="INR", receipt="bk_dup_test", notes={})
    second = Payment(
        booking_id=booking.id,
        payer_id=learner.id,
        mentor_id=payment.mentor_id,
        gateway="dev",
        order_id=order_id,
        receipt="bk_dup_test",
        amount_paise=49900,
    )
    db.session.add(second)
    db.session.commit()
    remote2, _ = pay(second)
    payment_service.apply_capture(second, remote2.id)
    db.session.refresh(second)
    assert second.status == "refunded"
    assert ledger.check_payment_invariant(second) == [] and ledger.check_payment_invariant(payment) == []


def test_what_a_late_cancellation_kept_is_refunded_when_the_mentor_cancels_the_session(
    app, mentor, held, learner, time_machine
):
    """The mentor used to keep (as available earnings) what a late cancellation kept when they
    then cancelled the session themselves; now nothing is kept for a session that did not happen."""
    from peerlearn.services import sessions

    booking, payment = confirmed_paid_booking(learner, held)
    time_machine.move_to(booking.session.starts_at - timedelta(hours=2))
    assert booking_service.cancel(booking, learner) is None  # late: no refund, the mentor keeps 43912
    assert entries(payment.id)["mentor_earning"] == 43912 and "earning_reversal" not in entries(payment.id)
    sessions.cancel_session(mentor, booking.session_id, reason="Nobody left")
    with pytest.raises(Conflict):
        sessions.cancel_session(mentor, booking.session_id, reason="Twice")
    db.session.refresh(payment)
    assert payment.status == "refunded" and payment.refunded_paise == 49900
    assert entries(payment.id)["earning_reversal"] == -43912
    assert count(Refund) == 1 and ledger.all_payments_balance() == []


@pytest.mark.parametrize("noted", ["²", "٣", "9" * 30, "-1", "0", " 7"])
def test_a_refund_event_with_an_odd_refund_note_is_ignored_not_a_500(held, noted):
    """A signed refund event for an unknown gateway refund whose notes carry something that is
    not one of our refund ids (a superscript digit, another script's digit, a number past any id)
    is answered and ignored: the gateway stops retrying and nothing changes."""
    _booking, payment = held
    remote, _ = pay(payment)
    payment_service.handle_webhook(*webhook("payment.captured", remote))
    refund = refund_service.refund_payment(payment, 10000, key="odd-note-refund", reason="goodwill")
    refund.status = "pending"  # still waiting for the gateway's word
    db.session.commit()
    body, _signature, event_id = webhook("refund.processed", refund.gateway_refund_id)
    event = json.loads(body)
    entity = event["payload"]["refund"]["entity"]
    entity["id"] = "rfnd_NotOneOfOurs01"
    entity["notes"] = {"refund_id": noted}
    body = json.dumps(event).encode()
    gateway = get_gateway()
    signature = hmac_sha256_hex(gateway._webhook_secret, body)
    assert payment_service.handle_webhook(body, signature, event_id) == "ignored: unknown refund"
    db.session.refresh(refund)
    assert refund.status == "pending"
