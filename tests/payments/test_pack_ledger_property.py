"""Property: whatever happens to a session pack's credits — booked, cancelled in time or late,
their sessions held, not held or cancelled by the mentor, the pack expiring — its payment still
balances (captured − refunded = fee + earning + still held), nothing is released beyond what
was held, refunds never exceed the capture, the credits in use are the ones counted, and once the
pack is closed with nothing booked, all of its price is either earned or refunded."""

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict
from peerlearn.extensions import db
from peerlearn.models import Attendance, Booking, LearningSession, PackCredit, PackPurchase, Payment, utcnow
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import ledger, packs, settlement
from peerlearn.services import payments as payment_service
from peerlearn.services import sessions as session_service
from tests.factories import UserFactory, make_session

counter = itertools.count()
OPERATIONS = ("book", "book", "cancel", "held", "not_held", "mentor_cancels", "expire")


def buy(learner, pack):
    payment = packs.start_pack_payment(learner, pack.id)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    return packs.purchase_for_payment(db.session.get(Payment, payment.id))


def settle(session, *, held):
    """Settle the session as its room's end would, the mentor there for the whole slot or never."""
    if held:
        db.session.add(
            Attendance(
                session_id=session.id,
                user_id=session.mentor_id,
                joined_at=session.starts_at,
                left_at=session.ends_at,
            )
        )
        db.session.flush()
    outcome = settlement.settle_session(
        session, session.ends_at + timedelta(minutes=1), ended_at=session.ends_at
    )
    db.session.commit()
    outcome.dispatch()


def open_credits(purchase_id):
    """Credits booked on a session still scheduled, with their booking and session."""
    return db.session.execute(
        select(PackCredit, Booking, LearningSession)
        .join(Booking, Booking.id == PackCredit.booking_id)
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .where(
            PackCredit.purchase_id == purchase_id,
            PackCredit.status == "booked",
            Booking.status == "confirmed",
            LearningSession.status == "scheduled",
        )
        .order_by(PackCredit.id)
    ).all()


def check(purchase_id, captured):
    db.session.expire_all()
    purchase = db.session.get(PackPurchase, purchase_id)
    payment = db.session.get(Payment, purchase.payment_id)
    assert ledger.check_payment_invariant(payment) == []
    totals = ledger.payment_balance(payment.id)
    held = totals.get("held_for_learner", 0) + totals.get("held_release", 0)
    earned = totals.get("platform_fee", 0) + totals.get("mentor_earning", 0)
    refunded = -totals.get("refund", 0)
    assert held >= 0 and 0 <= refunded <= captured and earned + refunded + held == captured
    in_use = db.session.scalar(
        select(func.count(PackCredit.id)).where(
            PackCredit.purchase_id == purchase_id, PackCredit.status.in_(("booked", "earned"))
        )
    )
    assert purchase.credits_used == in_use <= purchase.credits
    booked_value = db.session.scalar(
        select(func.coalesce(func.sum(PackCredit.value_paise), 0)).where(
            PackCredit.purchase_id == purchase_id, PackCredit.status == "booked"
        )
    )
    if purchase.status == "expired":
        assert held == booked_value  # only credits still booked are held after expiry
    else:
        assert held == captured - earned  # nothing refunded while the pack is active
    return purchase, held


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    credits=st.integers(min_value=1, max_value=5),
    per_credit=st.integers(min_value=100, max_value=300_000),
    remainder=st.integers(min_value=0, max_value=4),
    percent=st.integers(min_value=0, max_value=100),
    steps=st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 7)), max_size=12),
)
def test_pack_credits_keep_the_ledger_balanced(app, credits, per_credit, remainder, percent, steps):
    app.config["PLATFORM_FEE_PERCENT"] = percent
    n = next(counter)
    mentor = UserFactory(role="mentor", email=f"pm{n}@example.com")
    learner = UserFactory(email=f"pl{n}@example.com")
    price = credits * per_credit + remainder
    fields = {"title": "Pack", "credits": credits, "price_paise": price, "valid_days": 30}
    purchase = buy(learner, packs.create_pack(mentor, fields))
    purchase_id, expires_at = purchase.id, purchase.expires_at
    now = utcnow()
    for operation, pick in steps:
        booked = open_credits(purchase_id)
        if operation == "book":
            # Even picks start in days (cancelling gives the credit back), odd ones in an hour.
            starts_at = now + (timedelta(days=3, hours=pick) if pick % 2 == 0 else timedelta(hours=1))
            session = make_session(mentor, capacity=1, price_paise=10_000, starts_at=starts_at)
            purchase = db.session.get(PackPurchase, purchase_id)
            if purchase.credits_left == 0 or purchase.status == "expired":
                with pytest.raises(Conflict) as refused:
                    packs.book_with_credit(session.id, learner)
                assert refused.value.code == "no_credits_left"  # no pack of theirs has one
            else:
                assert packs.book_with_credit(session.id, learner)[1]
        elif booked and operation == "cancel":
            _credit, booking, _session = booked[pick % len(booked)]
            booking_service.cancel(booking, learner)
        elif booked and operation in ("held", "not_held"):
            _credit, _booking, session = booked[pick % len(booked)]
            settle(session, held=operation == "held")
        elif booked and operation == "mentor_cancels":
            _credit, _booking, session = booked[pick % len(booked)]
            session_service.cancel_session(mentor, session.id, reason="Away")
        elif operation == "expire":
            packs.expire_purchases(now=expires_at)
        check(purchase_id, price)

    # Close the pack and settle what is still booked: all of the price is earned or refunded.
    packs.expire_purchases(now=expires_at)
    for _credit, _booking, session in open_credits(purchase_id):
        settle(session, held=False)
    _purchase, held = check(purchase_id, price)
    assert held == 0
