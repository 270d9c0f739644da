"""Property: with a coupon of either kind, funded by the mentor or the platform, and any sequence
of refunds afterwards, every payment still balances (captured − refunded = fee + earning, refunds
never above the capture), fee and earning never go below zero, and whoever funded the discount
is the one whose share is smaller by it."""

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerlearn.exceptions import Conflict, ValidationError
from peerlearn.extensions import db
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import coupons, ledger
from peerlearn.services import payments as payment_service
from peerlearn.services import refunds as refund_service
from tests.factories import UserFactory
from tests.support.booking import make_session

counter = itertools.count()


@st.composite
def coupon_fields(draw, price):
    if draw(st.booleans()):
        return {"kind": "percent", "value": draw(st.integers(min_value=1, max_value=100))}
    return {"kind": "fixed", "value": draw(st.integers(min_value=1, max_value=price + 1000))}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    price=st.integers(min_value=100, max_value=5_000_000),
    percent=st.integers(min_value=0, max_value=100),
    platform=st.booleans(),
    refund_fractions=st.lists(st.floats(min_value=0.0, max_value=1.2), max_size=4),
)
def test_coupons_keep_the_ledger_balanced(app, data, price, percent, platform, refund_fractions):
    app.config["PLATFORM_FEE_PERCENT"] = percent
    n = next(counter)
    mentor = UserFactory(role="mentor", email=f"cm{n}@example.com")
    learner = UserFactory(email=f"cl{n}@example.com")
    owner = UserFactory(role="admin", email=f"ca{n}@example.com") if platform else mentor
    fields = data.draw(coupon_fields(price)) | {"code": f"PROP{n}"}
    coupon = coupons.create(owner, fields, platform=platform)
    session = make_session(mentor, price_paise=price)
    booking, _ = booking_service.book(session.id, learner)

    list_fee = ledger.platform_fee(price)
    try:
        redemption = coupons.apply_to_booking(learner, booking.id, coupon.code)
    except ValidationError:
        # Nothing off: a platform coupon on a session that carries no fee, or a ₹1 session that
        # can only be free or ₹1.
        assert (platform and list_fee == 0) or price == 100
        return
    discount = redemption.discount_paise
    assert 0 < discount <= price and (discount == price or price - discount >= 100)
    assert discount <= list_fee if platform else True
    if discount == price:  # free: confirmed without any money moving
        db.session.refresh(booking)
        assert booking.status == "confirmed" and booking.amount_paise == 0
        return

    payment = payment_service.start_booking_payment(learner, booking.id)
    assert payment.amount_paise == price - discount  # the order is for the discounted price
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    totals = ledger.payment_balance(payment.id)
    paid, fee, earning = totals["payment"], totals["platform_fee"], totals["mentor_earning"]
    assert paid == price - discount == fee + earning and fee >= 0 and earning >= 0
    if platform:
        # The mentor earns what the list price earns; the fee pays for the discount.
        assert earning == price - list_fee and fee == list_fee - discount
    else:
        # The fee stays the one on the list price (never above what was paid); the mentor pays.
        assert fee == min(list_fee, paid) and earning == paid - fee

    for i, fraction in enumerate(refund_fractions):
        amount = max(1, int(paid * fraction))
        try:
            refund_service.refund_payment(payment, amount, key=f"cprop-{n}-{i}", reason="property")
        except ValidationError:
            assert amount < refund_service.MIN_REFUND_PAISE
            continue
        except Conflict:
            db.session.refresh(payment)
            assert payment.refunded_paise + amount > paid
            continue
        db.session.refresh(payment)
        assert payment.refunded_paise <= paid
        assert ledger.check_payment_invariant(payment) == []
    totals = ledger.payment_balance(payment.id)
    received = totals.get("payment", 0) + totals.get("refund", 0)
    net_fee = totals.get("platform_fee", 0) + totals.get("fee_reversal", 0)
    net_earning = totals.get("mentor_earning", 0) + totals.get("earning_reversal", 0)
    assert received == paid - payment.refunded_paise == net_fee + net_earning
    assert 0 <= net_fee <= received and net_earning >= 0
    assert ledger.check_payment_invariant(payment) == []
