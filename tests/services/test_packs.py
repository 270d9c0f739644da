"""Session packs: buying one holds its price for the learner; credits book eligible sessions
without paying, come back when a booking is cancelled in time or the session does not take
place, are earned when it is held, and are refunded pro rata when the pack expires."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import Booking, PackCredit, PackPurchase, Payment, Refund, SessionPack, utcnow
from peerlearn.payments import get_gateway
from peerlearn.services import admin as admin_service
from peerlearn.services import booking as booking_service
from peerlearn.services import earnings, ledger, outbox, packs, your_data
from peerlearn.services import payments as payment_service
from peerlearn.services import room as room_service
from peerlearn.services import sessions as session_service
from tests.factories import DEFAULT_PASSWORD, make_session
from tests.races import at_once

PACK = {"title": "Five one-to-ones", "credits": 5, "price_paise": 200_000, "valid_days": 30}


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.com")


def buy(learner, pack):
    """Pay for ``pack`` through the dev gateway, as the learner's browser would."""
    payment = packs.start_pack_payment(learner, pack.id)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment = payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    return packs.purchase_for_payment(payment)


def one_to_one(mentor, price=50_000, **overrides):
    return make_session(mentor, capacity=1, price_paise=price, **overrides)


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def held(session, mentor, time_machine, *, mentor_joins=True):
    """Run the session's room: the mentor in it for the whole slot (held), or never (not held)."""
    time_machine.move_to(session.starts_at, tick=False)
    room_service.start(mentor, session.id)
    if mentor_joins:
        room_service.record_join(session.id, mentor.id, "sid-mentor")
    time_machine.move_to(session.ends_at, tick=False)
    return room_service.end(mentor, session.id)


def test_buying_a_pack_activates_it_and_holds_the_whole_price(mentor, learner):
    pack = packs.create_pack(mentor, PACK)
    purchase = buy(learner, pack)
    assert purchase.status == "active" and purchase.credits_left == 5
    assert purchase.expires_at - fresh(Payment, purchase.payment_id).captured_at == timedelta(days=30)
    totals = ledger.payment_balance(purchase.payment_id)
    assert totals == {"payment": 200_000, "held_for_learner": 200_000}  # no fee, no earning yet
    assert ledger.check_payment_invariant(fresh(Payment, purchase.payment_id)) == []


def test_a_credit_books_a_seat_without_paying_and_comes_back_when_cancelled_in_time(mentor, learner):
    purchase = buy(learner, packs.create_pack(mentor, PACK))
    session = one_to_one(mentor)
    booking, created = packs.book_with_credit(session.id, learner)
    assert created and booking.status == "confirmed" and booking.amount_paise == 0
    assert fresh(PackPurchase, purchase.id).credits_left == 4
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.booking_id == booking.id)) == 0
    assert packs.book_with_credit(session.id, learner) == (booking, False)  # a second click

    booking_service.cancel(booking, learner)  # three days before the start
    assert fresh(PackPurchase, purchase.id).credits_left == 5
    assert fresh(PackCredit, packs.credit_for_booking(booking.id).id).status == "returned"
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_a_late_cancellation_spends_the_credit_and_the_mentor_earns_it(app, mentor, learner):
    app.config["PLATFORM_FEE_PERCENT"] = 10
    purchase = buy(learner, packs.create_pack(mentor, PACK))
    session = one_to_one(mentor, starts_at=utcnow() + timedelta(hours=2))
    booking, _ = packs.book_with_credit(session.id, learner)
    booking_service.cancel(booking, learner)
    assert fresh(PackPurchase, purchase.id).credits_left == 4
    totals = ledger.payment_balance(purchase.payment_id)
    assert totals["platform_fee"] == 4_000 and totals["mentor_earning"] == 36_000
    assert totals["held_release"] == -40_000
    assert ledger.check_payment_invariant(fresh(Payment, purchase.payment_id)) == []


def test_a_held_session_earns_the_credit_and_one_not_held_gives_it_back(app, mentor, learner, time_machine):
    app.config["PLATFORM_FEE_PERCENT"] = 10
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    purchase = buy(learner, packs.create_pack(mentor, PACK | {"credits": 3, "price_paise": 100_000}))
    first = one_to_one(mentor, starts_at=now + timedelta(days=1))
    second = one_to_one(mentor, starts_at=now + timedelta(days=2))
    booking, _ = packs.book_with_credit(first.id, learner)
    packs.book_with_credit(second.id, learner)

    assert held(first, mentor, time_machine).status == "completed"
    credit = packs.credit_for_booking(booking.id)
    assert credit.status == "earned" and credit.value_paise == 33_333
    totals = ledger.payment_balance(purchase.payment_id)
    assert totals["platform_fee"] == 3_333 and totals["mentor_earning"] == 30_000
    assert totals["held_release"] == -33_333

    assert held(second, mentor, time_machine, mentor_joins=False).status == "cancelled"
    assert fresh(PackPurchase, purchase.id).credits_left == 2  # back in the pack
    assert ledger.check_payment_invariant(fresh(Payment, purchase.payment_id)) == []

    # The mentor's earnings count the credit with their bookings, pending until it settles.
    money = earnings.Money(mentor.id)
    assert money.summary()["bookings"]["earned_paise"] == 30_000
    assert [(row["session_id"], row["bookings_paise"]) for row in money.by_session()] == [(first.id, 30_000)]
    time_machine.move_to(first.ends_at + timedelta(hours=app.config["SETTLEMENT_HOURS"]), tick=False)
    assert earnings.Money(mentor.id).summary()["available_paise"] == 30_000


def test_the_mentor_cancelling_the_session_returns_the_credit(mentor, learner):
    purchase = buy(learner, packs.create_pack(mentor, PACK))
    session = one_to_one(mentor)
    packs.book_with_credit(session.id, learner)
    session_service.cancel_session(mentor, session.id, reason="Ill")
    assert fresh(PackPurchase, purchase.id).credits_left == 5


def test_expiry_refunds_the_unused_credits_pro_rata_to_the_paisa(app, mentor, learner, time_machine):
    app.config["PLATFORM_FEE_PERCENT"] = 10
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    # ₹1,000.01 for 3: credits of 33,333 paise, the one filling the pack 33,335.
    purchase = buy(learner, packs.create_pack(mentor, PACK | {"credits": 3, "price_paise": 100_001}))
    session = one_to_one(mentor, starts_at=now + timedelta(days=40))
    booking, _ = packs.book_with_credit(session.id, learner)

    time_machine.move_to(purchase.expires_at, tick=False)
    assert packs.expire_purchases() == 1
    assert packs.expire_purchases() == 0  # once
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == purchase.payment_id))
    assert refund.amount_paise == 100_001 - 33_333 == 66_668 and refund.status == "processed"
    assert fresh(PackPurchase, purchase.id).status == "expired"
    assert ledger.check_payment_invariant(fresh(Payment, purchase.payment_id)) == []

    # The booked credit is still held; given back now, the pack is closed, so it is refunded.
    booking_service.cancel(fresh(Booking, booking.id), learner)
    refunded = db.session.scalar(
        select(func.sum(Refund.amount_paise)).where(Refund.payment_id == purchase.payment_id)
    )
    assert refunded == 100_001
    payment = fresh(Payment, purchase.payment_id)
    assert payment.status == "refunded" and ledger.check_payment_invariant(payment) == []
    assert sum(ledger.payment_balance(payment.id).values()) == 0  # +paid, +held, −refunded, −released


def test_credits_book_only_eligible_sessions(make_user, mentor, learner):
    other = make_user(role="mentor", email="other@example.com")
    purchase = buy(learner, packs.create_pack(mentor, PACK | {"max_session_price_paise": 60_000}))
    refusals = {
        "another mentor": one_to_one(other),
        "a group session": make_session(mentor, capacity=5, price_paise=50_000),
        "dearer than a credit covers": one_to_one(mentor, price=70_000),
        "free": one_to_one(mentor, price=0),
    }
    for what, session in refusals.items():
        with pytest.raises(Conflict) as caught:
            packs.book_with_credit(session.id, learner, purchase_id=purchase.id)
        assert caught.value.code == "pack_not_eligible", what
        with pytest.raises(Conflict):
            packs.book_with_credit(session.id, learner)  # no usable pack either
    assert fresh(PackPurchase, purchase.id).credits_left == 5
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    stranger = make_user(email="stranger@example.com")
    with pytest.raises(NotFound):
        packs.book_with_credit(one_to_one(mentor).id, stranger, purchase_id=purchase.id)


def test_an_expired_or_empty_pack_books_nothing(mentor, learner, time_machine):
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    purchase = buy(learner, packs.create_pack(mentor, PACK | {"credits": 1, "price_paise": 40_000}))
    packs.book_with_credit(one_to_one(mentor).id, learner)
    with pytest.raises(Conflict) as caught:
        packs.book_with_credit(one_to_one(mentor).id, learner, purchase_id=purchase.id)
    assert caught.value.code == "no_credits_left"
    second = buy(learner, packs.create_pack(mentor, PACK | {"valid_days": 1}))
    time_machine.move_to(second.expires_at, tick=False)
    with pytest.raises(Conflict) as caught:
        packs.book_with_credit(one_to_one(mentor).id, learner, purchase_id=second.id)
    assert caught.value.code == "pack_expired"


def test_pack_fields_are_checked(mentor, learner):
    for bad in (
        {"credits": 0},
        {"credits": 51},
        {"price_paise": 499},  # five credits need at least ₹5
        {"valid_days": 0},
        {"title": " "},
        {"price_paise": "2000"},
        {"one_to_one_only": "yes"},
    ):
        with pytest.raises(ValidationError):
            packs.create_pack(mentor, PACK | bad)
    with pytest.raises(PermissionDenied) as caught:
        packs.create_pack(learner, PACK)
    assert caught.value.code == "not_mentor"
    pack = packs.create_pack(mentor, PACK)
    with pytest.raises(Conflict):
        packs.start_pack_payment(mentor, pack.id)
    packs.deactivate_pack(mentor, pack.id)
    with pytest.raises(NotFound):
        packs.start_pack_payment(learner, pack.id)


def test_five_bookings_at_once_with_two_credits_left_make_exactly_two(threaded_app):
    """On PostgreSQL with TEST_DATABASE_URL (the purchase's row lock), else a SQLite file."""
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    learner = UserFactory()
    purchase = buy(learner, packs.create_pack(mentor, PACK | {"credits": 2, "price_paise": 100_000}))
    session_ids = [one_to_one(mentor).id for _ in range(5)]
    purchase_id, learner_id = purchase.id, learner.id
    db.session.remove()

    def attempt(session_id):
        return lambda user: ("booked", packs.book_with_credit(session_id, user)[0].id)

    outcomes = at_once(threaded_app, [(learner_id, attempt(session_id)) for session_id in session_ids])
    assert len(outcomes) == 5
    assert sorted(o[0] for o in outcomes) == ["booked", "booked", "refused", "refused", "refused"]
    assert {o[1] for o in outcomes if o[0] == "refused"} == {"no_credits_left"}
    purchase = fresh(PackPurchase, purchase_id)
    assert purchase.credits_used == 2
    assert db.session.scalar(select(func.count(PackCredit.id))) == 2
    assert db.session.scalar(select(func.sum(PackCredit.value_paise))) == 100_000


def test_suspending_the_mentor_refunds_unused_credits_and_stops_sales(make_user, mentor, learner):
    admin = make_user(role="admin", email="admin@example.com")
    pack = packs.create_pack(mentor, PACK | {"credits": 3, "price_paise": 100_000})
    purchase = buy(learner, pack)
    session = one_to_one(mentor)
    packs.book_with_credit(session.id, learner)
    admin_service.suspend_user(admin, mentor.id, "Repeated no-shows")
    outbox.dispatch()  # as the request's end does
    purchase = fresh(PackPurchase, purchase.id)
    assert purchase.status == "cancelled" and not fresh(SessionPack, pack.id).active
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == purchase.payment_id))
    assert refund.amount_paise == 100_000 - 33_333 and refund.status == "processed"
    # The booked credit follows its session: cancelled, it is refunded too.
    session_service.cancel_session(admin, session.id, reason="Mentor suspended")
    payment = fresh(Payment, purchase.payment_id)
    assert payment.status == "refunded" and ledger.check_payment_invariant(payment) == []


def test_a_mentor_deleting_their_account_refunds_their_learners_unused_credits(mentor, learner):
    purchase = buy(learner, packs.create_pack(mentor, PACK))
    packs.book_with_credit(one_to_one(mentor).id, learner)
    your_data.delete_account(mentor, DEFAULT_PASSWORD, "DELETE")
    payment = fresh(Payment, purchase.payment_id)
    # The four unused credits go back; the booked one follows its session (kept for an admin).
    assert fresh(PackPurchase, purchase.id).status == "cancelled" and payment.refunded_paise == 160_000
    assert ledger.check_payment_invariant(payment) == []
    assert ledger.payment_balance(payment.id)["held_release"] == -160_000  # 40,000 still held
