"""Property: for every payment, captured − refunded = fee + earning, and refunds never exceed the
capture, whatever the price, commission and sequence of (partial, repeated, excessive) refunds."""

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, ValidationError
from peerlearn.extensions import db
from peerlearn.models import Refund
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import ledger
from peerlearn.services import payments as payment_service
from peerlearn.services import refunds as refund_service
from tests.factories import UserFactory
from tests.support.booking import make_session

counter = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    price=st.integers(min_value=100, max_value=10_000_000),
    percent=st.integers(min_value=0, max_value=100),
    refund_fractions=st.lists(st.floats(min_value=0.0, max_value=1.2), max_size=6),
    repeat_keys=st.booleans(),
)
def test_ledger_always_balances(app, price, percent, refund_fractions, repeat_keys):
    app.config["PLATFORM_FEE_PERCENT"] = percent
    n = next(counter)
    mentor = UserFactory(role="mentor", email=f"m{n}@example.com")
    learner = UserFactory(email=f"l{n}@example.com")
    session = make_session(mentor, price_paise=price)
    booking, _ = booking_service.book(session.id, learner)
    payment = payment_service.start_booking_payment(learner, booking.id)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )

    refunds_by_key = {}
    for i, fraction in enumerate(refund_fractions):
        amount = max(1, int(price * fraction))
        key = f"prop-{n}-{0 if repeat_keys else i}-refund"
        before = sum(refunds_by_key.values())
        try:
            refund = refund_service.refund_payment(payment, amount, key=key, reason="property")
        except ValidationError:
            assert amount < 100  # Razorpay's smallest refund is ₹1
            continue
        except Conflict:
            assert before + amount > price  # refused only when it would exceed the capture
            continue
        refunds_by_key.setdefault(key, refund.amount_paise)  # the same key is the same refund
        db.session.refresh(payment)
        assert payment.refunded_paise <= payment.amount_paise
        assert ledger.check_payment_invariant(payment) == []

    refunded = sum(refunds_by_key.values())
    assert db.session.scalar(select(func.count(Refund.id)).where(Refund.payment_id == payment.id)) == len(
        refunds_by_key
    )
    totals = ledger.payment_balance(payment.id)
    received = totals.get("payment", 0) + totals.get("refund", 0)
    fee = totals.get("platform_fee", 0) + totals.get("fee_reversal", 0)
    earning = totals.get("mentor_earning", 0) + totals.get("earning_reversal", 0)
    assert received == price - refunded == fee + earning
    assert 0 <= fee <= received and earning >= 0
    assert ledger.check_payment_invariant(payment) == []
