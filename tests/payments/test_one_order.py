"""One open gateway order per booking, kept by the database: concurrent create-payment calls all
get the first call's order, and the losers never ask the gateway for another.

The races run on a SQLite file, or on PostgreSQL when TEST_DATABASE_URL is set.
"""

from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import AuthKind, DevGatewayObject, Payment
from peerlearn.services import auth as auth_service
from peerlearn.services import booking as booking_service
from peerlearn.services import payments as payment_service
from tests.factories import UserFactory, make_session
from tests.races import at_once


def gateway_orders():
    return db.session.scalar(select(func.count(DevGatewayObject.id)).where(DevGatewayObject.kind == "order"))


def test_twenty_concurrent_create_payments_make_one_order(threaded_app):
    app = threaded_app
    learner = UserFactory()
    session = make_session(UserFactory(role="mentor"), price_paise=49900)
    booking, _ = booking_service.book(session.id, learner)
    booking_id, learner_id = booking.id, learner.id
    bearer = {"Authorization": "Bearer " + auth_service.start_session(learner, AuthKind.API).raw_token}
    db.session.remove()

    def create_payment(_user):
        response = app.test_client().post(
            "/api/create-payment/", json={"booking_id": booking_id}, headers=bearer
        )
        body = response.get_json(silent=True) or {}
        return response.status_code, ((body.get("data") or {}).get("payment") or {}).get("order_id")

    outcomes = at_once(app, [(learner_id, create_payment)] * 20)

    assert len(outcomes) == 20
    assert {status for status, _ in outcomes} == {200}
    order_ids = {order_id for _, order_id in outcomes}
    assert len(order_ids) == 1 and None not in order_ids
    [payment] = db.session.scalars(select(Payment).where(Payment.booking_id == booking_id)).all()
    assert payment.order_id in order_ids and payment.status == "created"
    assert gateway_orders() == 1


def test_a_failed_attempt_is_retried_on_the_same_order(app, make_user):
    learner = make_user()
    session = make_session(make_user(role="mentor"), price_paise=49900)
    booking, _ = booking_service.book(session.id, learner)
    first = payment_service.start_booking_payment(learner, booking.id)
    payment_service.mark_failed(first, "pay_declined0001", "Declined by the bank")
    again = payment_service.start_booking_payment(learner, booking.id)
    assert again.id == first.id and again.status == "failed"
    assert gateway_orders() == 1


def test_a_captured_payment_does_not_hold_the_place_of_an_open_order(app, make_user):
    """The index covers open orders only: a booking paid, cancelled and refunded keeps its
    captured payment, and another booking of the same learner opens its own order."""
    from tests.factories import paid_booking

    learner = make_user()
    session = make_session(make_user(role="mentor"), price_paise=49900)
    booking, paid = paid_booking(session, learner)
    booking_service.cancel(booking, learner)
    rebooked, _ = booking_service.book(session.id, learner)
    order = payment_service.start_booking_payment(learner, rebooked.id)
    assert order.id != paid.id and order.status == "created"
    assert db.session.scalar(select(func.count(Payment.id))) == 2
