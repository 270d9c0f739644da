"""Coupons: applied on the server at order time, limits that hold, and a ledger that says who
funded the discount."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import Booking, Coupon, CouponRedemption, Payment, utcnow
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import coupons, ledger
from peerlearn.services import payments as payment_service
from tests.races import at_once
from tests.support.booking import make_session

PRICE = 100_000  # ₹1,000


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", email="admin@example.com")


@pytest.fixture
def fee_12(app):
    app.config["PLATFORM_FEE_PERCENT"] = 12


def mentor_coupon(mentor, **fields):
    fields = {"code": "WELCOME10", "kind": "percent", "value": 10} | fields
    return coupons.create(mentor, fields)


def platform_coupon(admin, **fields):
    fields = {"code": "PEER5", "kind": "percent", "value": 5} | fields
    return coupons.create(admin, fields, platform=True)


def pay(learner, booking):
    """Pay the booking's current order through the dev gateway, as the learner's browser would."""
    payment = payment_service.start_booking_payment(learner, booking.id)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    return payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )


def split(payment):
    totals = ledger.payment_balance(payment.id)
    return totals["payment"], totals["platform_fee"], totals["mentor_earning"]


def test_a_mentor_coupon_is_funded_from_the_mentor_share(fee_12, mentor, make_user):
    session = make_session(mentor, price_paise=PRICE)
    learner = make_user()
    mentor_coupon(mentor)
    booking, _ = booking_service.book(session.id, learner)
    redemption = coupons.apply_to_booking(learner, booking.id, " welcome10 ")
    assert (redemption.discount_paise, redemption.funded_by, redemption.status) == (10_000, "mentor", "held")
    payment = pay(learner, booking)
    assert payment.amount_paise == 90_000 and payment.status == "captured"
    # The fee is the one on the list price; the mentor's share pays the whole discount.
    assert split(payment) == (90_000, 12_000, 78_000)
    db.session.refresh(redemption)
    assert redemption.status == "used" and redemption.payment_id == payment.id
    assert ledger.check_payment_invariant(payment) == []


def test_a_platform_coupon_is_funded_from_the_fee_and_capped_at_it(fee_12, mentor, admin, make_user):
    session = make_session(mentor, price_paise=PRICE)
    learner = make_user()
    platform_coupon(admin, code="HALFOFF", value=50)
    booking, _ = booking_service.book(session.id, learner)
    redemption = coupons.apply_to_booking(learner, booking.id, "halfoff")
    # 50% would be ₹500, more than the ₹120 fee that funds it.
    assert redemption.discount_paise == 12_000 and redemption.funded_by == "platform"
    payment = pay(learner, booking)
    assert split(payment) == (88_000, 0, 88_000)  # the mentor earns what the list price earns


def test_the_price_preview_matches_what_is_charged(fee_12, mentor, admin, make_user):
    session = make_session(mentor, price_paise=PRICE)
    learner = make_user()
    platform_coupon(admin, code="FLAT50", kind="fixed", value=5_000)
    quote = coupons.preview(learner, session.id, "flat50")
    assert quote == {
        "code": "FLAT50",
        "funded_by": "platform",
        "list_price_paise": PRICE,
        "discount_paise": 5_000,
        "price_paise": 95_000,
        "currency": "INR",
    }
    booking, _ = booking_service.book(session.id, learner)
    coupons.apply_to_booking(learner, booking.id, "FLAT50")
    assert pay(learner, booking).amount_paise == quote["price_paise"]
    assert coupons.preview(make_user(), session.id, "FLAT50")["price_paise"] == 95_000


def test_an_order_opened_before_the_coupon_is_set_aside(fee_12, mentor, make_user):
    session = make_session(mentor, price_paise=PRICE)
    learner = make_user()
    mentor_coupon(mentor)
    booking, _ = booking_service.book(session.id, learner)
    old = payment_service.start_booking_payment(learner, booking.id)
    assert old.amount_paise == PRICE
    coupons.apply_to_booking(learner, booking.id, "WELCOME10")
    new = payment_service.start_booking_payment(learner, booking.id)
    assert new.id != old.id and new.amount_paise == 90_000
    db.session.refresh(old)
    assert old.status == "failed"


def test_a_full_discount_confirms_the_booking_without_a_payment(mentor, make_user):
    session = make_session(mentor, price_paise=PRICE)
    learner = make_user()
    mentor_coupon(mentor, code="FREEBIE", value=100)
    booking, _ = booking_service.book(session.id, learner)
    redemption = coupons.apply_to_booking(learner, booking.id, "FREEBIE")
    db.session.refresh(booking)
    assert booking.status == "confirmed" and booking.amount_paise == 0
    assert redemption.status == "used" and redemption.payment_id is None
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def refusal(learner, booking_id, code):
    with pytest.raises(ValidationError) as caught:
        coupons.apply_to_booking(learner, booking_id, code)
    assert caught.value.fields["code"]  # shown beside the field
    return caught.value.message


def test_refusals_say_why_and_change_nothing(mentor, make_user):
    session = make_session(mentor, price_paise=PRICE)
    other = make_user(role="mentor")
    learner = make_user()
    now = utcnow()
    mentor_coupon(other, code="OTHERS")
    mentor_coupon(mentor, code="OLD", expires_at=now - timedelta(days=1), starts_at=now - timedelta(days=9))
    mentor_coupon(mentor, code="SOON", starts_at=now + timedelta(days=1))
    mentor_coupon(mentor, code="BIGONLY", min_price_paise=PRICE + 1)
    off = mentor_coupon(mentor, code="OFF")
    coupons.deactivate(mentor, off.id)
    booking, _ = booking_service.book(session.id, learner)
    assert refusal(learner, booking.id, "others") == "This coupon is for another mentor's sessions."
    assert refusal(learner, booking.id, "old") == "This coupon has expired."
    assert refusal(learner, booking.id, "soon") == "This coupon can't be used yet."
    assert refusal(learner, booking.id, "bigonly") == "This coupon is for sessions of ₹1,000.01 or more."
    assert refusal(learner, booking.id, "off") == "This coupon is no longer active."
    assert refusal(learner, booking.id, "NOPE123") == "That is not a coupon code we know."
    assert refusal(learner, booking.id, "'; drop--") == "That is not a coupon code we know."
    assert refusal(learner, booking.id, "") == "Enter a coupon code."
    db.session.refresh(booking)
    assert booking.amount_paise == PRICE
    assert db.session.scalar(select(func.count(CouponRedemption.id))) == 0
    assert all(c.redeemed_count == 0 for c in db.session.scalars(select(Coupon)))


def test_one_use_per_learner(mentor, make_user):
    first = make_session(mentor, price_paise=PRICE)
    second = make_session(mentor, price_paise=PRICE)
    learner = make_user()
    mentor_coupon(mentor, max_per_learner=1)
    booking, _ = booking_service.book(first.id, learner)
    coupons.apply_to_booking(learner, booking.id, "WELCOME10")
    pay(learner, booking)
    again, _ = booking_service.book(second.id, learner)
    assert refusal(learner, again.id, "WELCOME10") == "You have already used this coupon (once per learner)."
    other_booking, _ = booking_service.book(second.id, make_user())
    assert coupons.apply_to_booking(other_booking.learner, other_booking.id, "WELCOME10").status == "held"


def test_first_session_only(mentor, admin, make_user):
    earlier = make_session(mentor, price_paise=PRICE)
    later = make_session(mentor, price_paise=PRICE)
    elsewhere = make_session(make_user(role="mentor"), price_paise=PRICE)
    learner = make_user()
    mentor_coupon(mentor, code="FIRSTTIME", first_session_only=True)
    platform_coupon(admin, code="NEWHERE", first_session_only=True)
    booking, _ = booking_service.book(earlier.id, learner)
    pay(learner, booking)
    with_mentor, _ = booking_service.book(later.id, learner)
    assert refusal(learner, with_mentor.id, "FIRSTTIME") == (
        "This coupon is for a learner's first session with this mentor."
    )
    assert refusal(learner, with_mentor.id, "NEWHERE") == (
        "This coupon is for a learner's first session on PeerLearn."
    )
    # A mentor's "first session" is first with them: another mentor's coupon still applies.
    mentor_coupon(elsewhere.mentor, code="FIRSTWITHME", first_session_only=True)
    other, _ = booking_service.book(elsewhere.id, learner)
    assert coupons.apply_to_booking(learner, other.id, "FIRSTWITHME").status == "held"


def test_a_lapsed_hold_gives_its_use_back(mentor, make_user):
    session = make_session(mentor, price_paise=PRICE)
    first, second = make_user(), make_user()
    coupon = mentor_coupon(mentor, max_redemptions=1)
    booking, _ = booking_service.book(session.id, first)
    held = coupons.apply_to_booking(first, booking.id, "WELCOME10")
    other, _ = booking_service.book(session.id, second)
    assert refusal(second, other.id, "WELCOME10") == "This coupon has been fully used."
    assert [(used, held) for _, used, held in coupons.coupons_of(mentor)] == [(0, 1)]
    booking.hold_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    # Lapsed: no longer counted, nor shown as awaiting payment, before anyone applies it again.
    assert [(used, held) for _, used, held in coupons.coupons_of(mentor)] == [(0, 0)]
    assert coupons.preview(second, session.id, "WELCOME10")["discount_paise"] == 10_000
    booking_service.expire_holds()
    assert coupons.apply_to_booking(second, other.id, "WELCOME10").status == "held"
    db.session.refresh(held)
    db.session.refresh(coupon)
    assert held.status == "released" and coupon.redeemed_count == 1


def test_a_second_coupon_on_one_booking_is_refused(mentor, admin, make_user):
    session = make_session(mentor, price_paise=PRICE)
    learner = make_user()
    mentor_coupon(mentor)
    platform_coupon(admin)
    booking, _ = booking_service.book(session.id, learner)
    coupons.apply_to_booking(learner, booking.id, "WELCOME10")
    assert refusal(learner, booking.id, "PEER5") == "A coupon is already applied to this booking."


def test_refunds_of_a_discounted_payment_return_what_was_paid(fee_12, mentor, make_user):
    session = make_session(mentor, price_paise=PRICE)
    learner = make_user()
    mentor_coupon(mentor, code="QUARTER", value=25)
    booking, _ = booking_service.book(session.id, learner)
    coupons.apply_to_booking(learner, booking.id, "QUARTER")
    payment = pay(learner, booking)
    db.session.refresh(booking)
    assert booking.amount_paise == 75_000
    refund = booking_service.cancel(booking, learner)  # well before the start: a full refund
    db.session.refresh(refund)
    assert refund.amount_paise == 75_000 and refund.status == "processed"
    totals = ledger.payment_balance(payment.id)
    assert totals["platform_fee"] + totals["fee_reversal"] == 0
    assert totals["mentor_earning"] + totals["earning_reversal"] == 0
    assert ledger.check_payment_invariant(payment) == []


def test_owners_manage_only_their_coupons(mentor, admin, make_user):
    learner = make_user()
    with pytest.raises(PermissionDenied) as caught:
        coupons.create(learner, {"code": "MINE", "kind": "percent", "value": 5})
    assert caught.value.code == "not_a_mentor"
    with pytest.raises(PermissionDenied) as caught:
        coupons.create(mentor, {"code": "PLAT", "kind": "percent", "value": 5}, platform=True)
    assert caught.value.code == "not_an_admin"
    coupon = mentor_coupon(mentor)
    with pytest.raises(ValidationError) as caught:
        mentor_coupon(make_user(role="mentor"), code="welcome10")
    assert caught.value.fields == {"code": ["That code is taken."]}
    with pytest.raises(ValidationError) as caught:
        coupons.create(mentor, {"code": "x", "kind": "percent", "value": 101})
    assert set(caught.value.fields) == {"code", "value"}
    with pytest.raises(NotFound):
        coupons.deactivate(make_user(role="mentor"), coupon.id)
    assert [(c.code, used, held) for c, used, held in coupons.coupons_of(mentor)] == [("WELCOME10", 0, 0)]


def _redeem_all(app, session_ids_by_learner):
    def attempt(learner_id):
        def call(learner):
            try:
                return (
                    "applied",
                    coupons.apply_to_booking(learner, session_ids_by_learner[learner_id], "RUSH"),
                )
            except ValidationError as exc:
                return ("refused", exc.message)

        return call

    return at_once(app, [(learner_id, attempt(learner_id)) for learner_id in session_ids_by_learner])


def test_twenty_learners_at_once_redeem_a_five_use_coupon_five_times(threaded_app):
    """On PostgreSQL with TEST_DATABASE_URL (the row lock), else on a SQLite file (the write lock)."""
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    coupon_id = mentor_coupon(mentor, code="RUSH", max_redemptions=5).id
    session = make_session(mentor, price_paise=PRICE, capacity=20)
    bookings = {}
    for _ in range(20):
        learner = UserFactory()
        bookings[learner.id] = booking_service.book(session.id, learner)[0].id
    db.session.remove()
    outcomes = _redeem_all(threaded_app, bookings)
    assert len(outcomes) == 20
    applied = [o for o in outcomes if o[0] == "applied"]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(applied) == 5 and {message for _, message in refused} == {"This coupon has been fully used."}
    assert db.session.get(Coupon, coupon_id).redeemed_count == 5
    assert db.session.scalar(select(func.count(CouponRedemption.id))) == 5
    discounted = db.session.scalar(select(func.count(Booking.id)).where(Booking.amount_paise == 90_000))
    assert discounted == 5


def test_one_learner_racing_on_two_bookings_uses_a_one_per_learner_coupon_once(threaded_app):
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    mentor_coupon(mentor, code="RUSH", max_per_learner=1)
    learner = UserFactory()
    learner_id = learner.id
    bookings = [
        booking_service.book(make_session(mentor, price_paise=PRICE).id, learner)[0].id for _ in range(4)
    ]
    db.session.remove()

    def attempt(booking_id):
        def call(user):
            try:
                return ("applied", coupons.apply_to_booking(user, booking_id, "RUSH").id)
            except ValidationError as exc:
                return ("refused", exc.message)

        return call

    outcomes = at_once(threaded_app, [(learner_id, attempt(booking_id)) for booking_id in bookings])
    assert sorted(kind for kind, _ in outcomes) == ["applied"] + ["refused"] * 3
    assert db.session.scalar(select(func.count(CouponRedemption.id))) == 1
