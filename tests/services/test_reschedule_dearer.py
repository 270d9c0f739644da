"""A learner moves a booking to a dearer session by paying the difference: a move order holds a
seat of the target, its capture moves the booking once, and every way it can go wrong (a lapsed
hold, a full target, a cancellation meanwhile, races) keeps seats, bookings and money exact."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict
from peerlearn.extensions import db
from peerlearn.models import (
    Booking,
    LearningSession,
    LedgerEntry,
    Notification,
    Payment,
    Refund,
    utcnow,
)
from peerlearn.models.payment import MoveOrder
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import ledger, move_orders, packs, webhooks
from peerlearn.services import payments as payment_service
from peerlearn.services import reschedule as reschedule_service
from peerlearn.services import sessions as session_service
from tests.factories import paid_booking
from tests.races import at_once
from tests.support.booking import make_session
from tests.support.webhooks import Receiver

LATER = timedelta(days=5)


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


def seats(*session_ids):
    db.session.expire_all()
    return [db.session.get(LearningSession, session_id).seats_taken for session_id in session_ids]


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def pay(learner, order):
    """Pay a move order through the dev gateway and verify it, as the learner's browser would."""
    remote, signature = get_gateway().pay(order.payment.order_id)
    db.session.commit()
    return payment_service.verify_checkout(
        learner, order_id=order.payment.order_id, payment_id=remote.id, signature=signature
    )


def dearer_pair(mentor, learner, *, old_price=50000, new_price=80000, **target):
    old = make_session(mentor, price_paise=old_price)
    new = make_session(mentor, price_paise=new_price, starts_at=utcnow() + LATER, **target)
    booking, payment = paid_booking(old, learner)
    return old, new, booking, payment


def test_choosing_a_dearer_session_opens_an_order_for_the_difference_and_holds_a_seat(app, mentor, make_user):
    learner = make_user()
    old, new, booking, _payment = dearer_pair(mentor, learner)

    [option] = reschedule_service.targets(booking)
    assert (option["difference_paise"], option["charged"]) == (30000, True)
    _booking, refund, moved, order = move_orders.request_move(learner, booking.id, new.id)

    assert order is not None and refund is None and not moved
    assert (order.payment.purpose, order.payment.amount_paise, order.payment.status) == (
        "move",
        30000,
        "created",
    )
    assert order.payment.booking_id == booking.id and order.to_session_id == new.id
    hold = app.config["BOOKING_HOLD_MINUTES"]
    assert order.hold_expires_at - utcnow() <= timedelta(minutes=hold)
    # The learner's seat stays theirs; a seat of the target is held for them meanwhile.
    assert fresh(Booking, booking.id).session_id == old.id
    assert seats(old.id, new.id) == [1, 1]
    # Asking again answers with the same order.
    again = move_orders.open_move_order(learner, booking.id, new.id)
    assert again.id == order.id and seats(new.id) == [1]


def test_paying_moves_the_booking_and_the_difference_earns_on_the_new_session(mentor, make_user):
    learner = make_user()
    old, new, booking, original = dearer_pair(mentor, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)

    difference = pay(learner, order)

    moved = fresh(Booking, booking.id)
    assert difference.status == "captured"
    assert moved.session_id == new.id and moved.status == "confirmed" and moved.moved_at is not None
    assert moved.amount_paise == 80000  # what the seat cost in all
    assert seats(old.id, new.id) == [0, 1]
    assert fresh(MoveOrder, order.id).status == "moved"
    split = ledger.payment_balance(difference.id)
    fee = ledger.platform_fee(30000)
    assert split == {"payment": 30000, "platform_fee": fee, "mentor_earning": 30000 - fee}
    for payment_id in (original.id, difference.id):
        on = set(
            db.session.scalars(select(LedgerEntry.session_id).where(LedgerEntry.payment_id == payment_id))
        )
        assert on == {new.id}  # settlement of the new session pays both
    assert ledger.all_payments_balance() == []
    told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "session_rescheduled"))
    assert sorted(told) == sorted([learner.id, mentor.id])
    # The next move counts from the new list price.
    assert reschedule_service.list_price(moved) == 80000


def test_a_capture_verified_twice_and_sent_by_webhook_moves_once(client, mentor, make_user):
    learner = make_user()
    old, new, booking, _payment = dearer_pair(mentor, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    remote, signature = get_gateway().pay(order.payment.order_id)
    db.session.commit()
    for _ in range(2):
        payment_service.verify_checkout(
            learner, order_id=order.payment.order_id, payment_id=remote.id, signature=signature
        )
    body, hook_signature, event_id = get_gateway().webhook_payload("payment.captured", remote)
    for suffix in ("", "-again"):
        response = client.post(
            "/payments/webhooks/razorpay",
            data=body,
            content_type="application/json",
            headers={"X-Razorpay-Signature": hook_signature, "X-Razorpay-Event-Id": event_id + suffix},
        )
        assert response.status_code == 200

    assert seats(old.id, new.id) == [0, 1]
    assert fresh(Booking, booking.id).amount_paise == 80000
    assert (
        db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.payment_id == order.payment_id)
        )
        == 3
    )
    moved_notices = db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == learner.id, Notification.kind == "session_rescheduled"
        )
    )
    assert moved_notices == 1


def test_a_lapsed_order_gives_the_held_seat_back_and_keeps_the_booking(app, mentor, make_user):
    learner = make_user()
    old, new, booking, _payment = dearer_pair(mentor, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    assert seats(old.id, new.id) == [1, 1]

    later = utcnow() + timedelta(minutes=app.config["BOOKING_HOLD_MINUTES"] + 1)
    assert move_orders.lapse_expired_holds(now=utcnow()) == 0
    assert move_orders.lapse_expired_holds(now=later) == 1
    assert move_orders.lapse_expired_holds(now=later) == 0

    assert seats(old.id, new.id) == [1, 0]
    assert fresh(MoveOrder, order.id).status == "lapsed"
    kept = fresh(Booking, booking.id)
    assert kept.session_id == old.id and kept.status == "confirmed" and kept.amount_paise == 50000
    # Paid late while a seat is still free: it moves after all.
    pay(learner, fresh(MoveOrder, order.id))
    assert fresh(Booking, booking.id).session_id == new.id
    assert seats(old.id, new.id) == [0, 1]


def test_a_lapsed_order_paid_when_the_target_is_full_is_refunded(app, mentor, make_user):
    learner = make_user()
    old, new, booking, _payment = dearer_pair(mentor, learner, capacity=1)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    move_orders.lapse_expired_holds(now=utcnow() + timedelta(minutes=app.config["BOOKING_HOLD_MINUTES"] + 1))
    paid_booking(db.session.get(LearningSession, new.id), make_user())  # someone takes the freed seat

    difference = pay(learner, fresh(MoveOrder, order.id))

    assert fresh(Payment, difference.id).status == "refunded"
    assert fresh(Booking, booking.id).session_id == old.id
    assert seats(old.id, new.id) == [1, 1]
    assert fresh(MoveOrder, order.id).status == "refunded"
    assert ledger.all_payments_balance() == []


def test_a_full_target_is_refused_before_any_order(mentor, make_user):
    learner = make_user()
    old, new, booking, _payment = dearer_pair(mentor, learner, capacity=1, seats_taken=1)
    with pytest.raises(Conflict) as refused:
        move_orders.request_move(learner, booking.id, new.id)
    assert refused.value.code == "session_full"
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.purpose == "move")) == 0
    assert seats(old.id, new.id) == [1, 1]


def test_a_booking_cancelled_while_the_order_is_open_gets_the_difference_back(mentor, make_user):
    learner = make_user()
    old, new, booking, original = dearer_pair(mentor, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    booking_service.cancel(fresh(Booking, booking.id), learner)

    difference = pay(learner, order)

    difference = fresh(Payment, difference.id)
    assert difference.status == "refunded" and difference.refunded_paise == 30000
    assert fresh(Payment, original.id).status == "refunded"  # cancelled in the full-refund window
    assert fresh(Booking, booking.id).status == "cancelled"
    assert seats(old.id, new.id) == [0, 0]  # the held seat went back too
    notice = db.session.scalar(
        select(Notification).where(
            Notification.user_id == learner.id, Notification.title == "Your booking did not move"
        )
    )
    assert notice is not None and "₹300" in notice.body
    assert ledger.all_payments_balance() == []


def test_cancelling_a_moved_booking_refunds_both_payments(mentor, make_user):
    learner = make_user()
    _old, new, booking, original = dearer_pair(mentor, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    difference = pay(learner, order)

    booking_service.cancel(fresh(Booking, booking.id), learner)

    assert fresh(Payment, original.id).refunded_paise == 50000
    assert fresh(Payment, difference.id).refunded_paise == 30000
    assert seats(new.id) == [0]
    assert ledger.all_payments_balance() == []


def test_a_late_cancellation_refunds_the_policys_share_of_the_whole_price(app, mentor, make_user):
    app.config["LATE_CANCEL_REFUND_PERCENT"] = 50
    learner = make_user()
    _old, new, booking, original = dearer_pair(mentor, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    difference = pay(learner, order)

    booking_service.cancel(fresh(Booking, booking.id), learner, now=new.starts_at - timedelta(hours=2))

    refunded = fresh(Payment, original.id).refunded_paise + fresh(Payment, difference.id).refunded_paise
    assert refunded == 40000  # half of ₹800, whichever payment it comes from
    assert ledger.all_payments_balance() == []


def test_a_target_that_is_not_held_refunds_both_payments(mentor, make_user):
    learner = make_user()
    _old, new, booking, original = dearer_pair(mentor, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    difference = pay(learner, order)

    session_service.cancel_session(mentor, new.id, reason="Unwell")

    assert fresh(Payment, original.id).status == "refunded"
    assert fresh(Payment, difference.id).status == "refunded"
    assert ledger.all_payments_balance() == []


def test_choosing_another_session_replaces_the_open_order(mentor, make_user):
    learner = make_user()
    old, first, booking, _payment = dearer_pair(mentor, learner)
    second = make_session(mentor, price_paise=90000, starts_at=utcnow() + LATER + timedelta(days=1))
    _b, _r, _m, one = move_orders.request_move(learner, booking.id, first.id)
    _b, _r, _m, other = move_orders.request_move(learner, booking.id, second.id)

    assert other.id != one.id and other.payment.amount_paise == 40000
    assert fresh(MoveOrder, one.id).status == "lapsed"
    assert seats(old.id, first.id, second.id) == [1, 0, 1]
    # The first order paid after all (another tab): refunded, since the learner chose again.
    replaced = pay(learner, fresh(MoveOrder, one.id))
    assert fresh(Payment, replaced.id).status == "refunded"
    assert fresh(Booking, booking.id).session_id == old.id
    pay(learner, fresh(MoveOrder, other.id))
    assert fresh(Booking, booking.id).session_id == second.id
    assert seats(old.id, first.id, second.id) == [0, 0, 1]
    assert ledger.all_payments_balance() == []


def test_two_learners_racing_for_the_last_seat_one_order_holds_it(threaded_app):
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    target = make_session(mentor, capacity=1, price_paise=90000, starts_at=utcnow() + LATER)
    plan = {}
    sources = []
    for _ in range(2):
        learner = UserFactory()
        source = make_session(mentor, price_paise=50000)
        booking, _payment = paid_booking(source, learner)
        plan[learner.id] = booking.id
        sources.append(source.id)
    target_id = target.id
    db.session.remove()

    def order(learner):
        _b, _r, _m, opened = move_orders.request_move(learner, plan[learner.id], target_id)
        return ("ordered", opened.id)

    outcomes = at_once(threaded_app, [(learner_id, order) for learner_id in plan])
    assert sorted(kind for kind, _ in outcomes) == ["ordered", "refused"]
    assert [code for kind, code in outcomes if kind == "refused"] == ["session_full"]
    assert seats(*sources, target_id) == [1, 1, 1]
    assert db.session.scalar(select(func.count(MoveOrder.id))) == 1


def test_a_payment_racing_a_cancellation_keeps_seats_and_money_exact(threaded_app):
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    learner = UserFactory()
    old = make_session(mentor, price_paise=50000)
    new = make_session(mentor, price_paise=80000, starts_at=utcnow() + LATER)
    booking, original = paid_booking(old, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    remote, signature = get_gateway().pay(order.payment.order_id)
    db.session.commit()
    ids = {"booking": booking.id, "order": order.payment.order_id}
    old_id, new_id, original_id, difference_id = old.id, new.id, original.id, order.payment_id
    db.session.remove()

    def cancel(user):
        booking_service.cancel(db.session.get(Booking, ids["booking"]), user)
        return ("cancelled", None)

    def capture(user):
        payment_service.verify_checkout(
            user, order_id=ids["order"], payment_id=remote.id, signature=signature
        )
        return ("captured", None)

    outcomes = at_once(threaded_app, [(learner.id, cancel), (learner.id, capture)])
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds in (["cancelled", "captured"], ["captured", "refused"]), outcomes
    booking = db.session.get(Booking, ids["booking"])
    if kinds == ["captured", "refused"]:
        # The cancellation had read the booking before the move committed (SQLite locks nothing
        # before its first write): it is refused as changed, and the moved booking stands.
        assert [code for kind, code in outcomes if kind == "refused"] == ["booking_changed"]
        assert booking.status == "confirmed" and booking.session_id == new_id
        assert seats(old_id, new_id) == [0, 1]
        booking_service.cancel(booking, db.session.get(type(learner), learner.id))
    assert seats(old_id, new_id) == [0, 0]
    assert db.session.get(Booking, ids["booking"]).status == "cancelled"
    # Cancelled in the full-refund window, before or after it moved: everything goes back.
    assert db.session.get(Payment, original_id).refunded_paise == 50000
    assert db.session.get(Payment, difference_id).refunded_paise == 30000
    assert ledger.all_payments_balance() == []


def test_a_credit_booking_moves_with_its_credit_and_no_money(mentor, make_user):
    learner = make_user()
    pack = packs.create_pack(
        mentor,
        {
            "title": "Five sessions",
            "credits": 5,
            "price_paise": 200_000,
            "valid_days": 30,
            "one_to_one_only": False,
            "max_session_price_paise": 70000,
        },
    )
    pack_payment = packs.start_pack_payment(learner, pack.id)
    remote, signature = get_gateway().pay(pack_payment.order_id)
    db.session.commit()
    pack_payment = payment_service.verify_checkout(
        learner, order_id=pack_payment.order_id, payment_id=remote.id, signature=signature
    )
    purchase = packs.purchase_for_payment(pack_payment)
    old = make_session(mentor, price_paise=40000, capacity=1)
    new = make_session(mentor, price_paise=60000, capacity=1, starts_at=utcnow() + LATER)
    dear = make_session(mentor, price_paise=90000, capacity=1, starts_at=utcnow() + LATER + timedelta(days=1))
    booking, _ = packs.book_with_credit(old.id, learner)

    assert [(o["session"].id, o["difference_paise"]) for o in reschedule_service.targets(booking)] == [
        (new.id, 0)
    ]
    with pytest.raises(Conflict) as refused:
        move_orders.request_move(learner, booking.id, dear.id)
    assert refused.value.code == "pack_not_eligible"

    moved, refund, did_move, order = move_orders.request_move(learner, booking.id, new.id)

    assert did_move and refund is None and order is None and moved.session_id == new.id
    assert packs.credit_for_booking(booking.id).purchase_id == purchase.id
    assert fresh(type(purchase), purchase.id).credits_used == 1
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.purpose == "move")) == 0
    assert seats(old.id, new.id) == [0, 1]


def test_integrators_hear_of_every_move(mentor, make_user):
    learner = make_user(name="Asha Learner")
    with Receiver() as receiver:
        webhooks.create_endpoint(
            mentor, url=receiver.url, event_types=["booking.rescheduled"], description="CRM"
        )
        old, new, booking, _payment = dearer_pair(mentor, learner)
        _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
        assert receiver.requests == []  # nothing moved yet
        pay(learner, order)

        [request] = receiver.requests
    payload = json.loads(request.body)
    assert payload["type"] == "booking.rescheduled"
    assert payload["data"]["booking"]["id"] == booking.id
    assert payload["data"]["session"]["id"] == new.id and payload["data"]["from_session"]["id"] == old.id
    assert payload["data"]["refund_paise"] == 0


def test_refunds_are_recorded_against_the_payment_they_came_from(mentor, make_user):
    learner = make_user()
    _old, new, booking, original = dearer_pair(mentor, learner)
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    difference = pay(learner, order)
    booking_service.cancel(fresh(Booking, booking.id), learner)
    by_payment = dict(
        db.session.execute(
            select(Refund.payment_id, func.sum(Refund.amount_paise)).group_by(Refund.payment_id)
        ).all()
    )
    assert by_payment == {original.id: 50000, difference.id: 30000}


def test_the_admin_overview_counts_a_paid_difference_in_what_was_paid_for_seats(mentor, make_user):
    from peerlearn.services import dashboards

    learner = make_user()
    _old, new, booking, _original = dearer_pair(mentor, learner)
    before = dashboards.admin_dashboard()["gross_booking_value_paise"]
    _b, _r, _m, order = move_orders.request_move(learner, booking.id, new.id)
    pay(learner, order)

    assert dashboards.admin_dashboard()["gross_booking_value_paise"] == before + 30000
