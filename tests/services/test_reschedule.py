"""A learner moves their booking to another session of the same mentor: one seat moves in one
transaction, a cheaper session refunds the difference, and the calendar follows."""

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, NotFound
from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, LedgerEntry, Notification, Payment, Refund, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import calendar, ledger
from peerlearn.services import reschedule as reschedule_service
from tests.factories import paid_booking
from tests.races import at_once
from tests.support.booking import make_session


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


def seats(*session_ids):
    db.session.expire_all()
    return [db.session.get(LearningSession, session_id).seats_taken for session_id in session_ids]


def free_booking(session, learner):
    booking, _ = booking_service.book(session.id, learner)
    return booking


def test_a_move_takes_one_seat_and_gives_one_back(mentor, make_user):
    old = make_session(mentor)
    new = make_session(mentor, starts_at=utcnow() + timedelta(days=5))
    learner = make_user()
    booking = free_booking(old, learner)
    assert seats(old.id, new.id) == [1, 0]

    moved, refund, did_move = reschedule_service.reschedule(learner, booking.id, new.id)

    assert did_move and refund is None and moved.id == booking.id
    assert moved.session_id == new.id and moved.status == "confirmed" and moved.moved_at is not None
    assert seats(old.id, new.id) == [0, 1]
    assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_the_same_request_twice_moves_once(mentor, make_user):
    old = make_session(mentor)
    new = make_session(mentor, starts_at=utcnow() + timedelta(days=5))
    learner = make_user()
    booking = free_booking(old, learner)
    reschedule_service.reschedule(learner, booking.id, new.id)
    again, refund, did_move = reschedule_service.reschedule(learner, booking.id, new.id)
    assert not did_move and refund is None and again.session_id == new.id
    assert seats(old.id, new.id) == [0, 1]


def test_a_failure_midway_leaves_both_sessions_as_they_were(mentor, make_user, monkeypatch):
    old = make_session(mentor)
    new = make_session(mentor, starts_at=utcnow() + timedelta(days=5))
    learner = make_user()
    booking = free_booking(old, learner)

    def broken(_session_id):
        raise RuntimeError("the database went away")

    # The target's seat is taken and the booking moved when the old seat's release fails.
    monkeypatch.setattr(reschedule_service, "release_seat", broken)
    with pytest.raises(RuntimeError):
        reschedule_service.reschedule(learner, booking.id, new.id)
    db.session.rollback()
    assert seats(old.id, new.id) == [1, 0]
    assert db.session.get(Booking, booking.id).session_id == old.id


@pytest.mark.parametrize(
    ("target_overrides", "error", "code"),
    [
        ({"status": "draft"}, NotFound, "not_found"),
        ({"status": "cancelled"}, Conflict, "session_started"),
        ({"capacity": 1, "seats_taken": 1}, Conflict, "session_full"),
        ({"price_paise": 20000}, Conflict, "reschedule_costs_more"),
    ],
)
def test_a_target_that_cannot_take_the_seat_is_refused(mentor, make_user, target_overrides, error, code):
    old = make_session(mentor)
    new = make_session(mentor, starts_at=utcnow() + timedelta(days=5), **target_overrides)
    learner = make_user()
    booking = free_booking(old, learner)
    with pytest.raises(error) as refused:
        reschedule_service.reschedule(learner, booking.id, new.id)
    assert refused.value.code == code
    assert db.session.get(Booking, booking.id).session_id == old.id
    assert seats(old.id)[0] == 1


def test_another_mentors_session_is_refused(mentor, make_user):
    old = make_session(mentor)
    elsewhere = make_session(make_user(role="mentor"))
    learner = make_user()
    booking = free_booking(old, learner)
    with pytest.raises(Conflict) as refused:
        reschedule_service.reschedule(learner, booking.id, elsewhere.id)
    assert refused.value.code == "other_mentor"
    assert seats(old.id, elsewhere.id) == [1, 0]


def test_outside_the_window_is_refused(app, mentor, make_user):
    app.config["FULL_REFUND_HOURS"] = 24
    old = make_session(mentor, starts_at=utcnow() + timedelta(hours=30))
    new = make_session(mentor, starts_at=utcnow() + timedelta(days=5))
    learner = make_user()
    booking = free_booking(old, learner)
    with pytest.raises(Conflict) as refused:
        reschedule_service.reschedule(learner, booking.id, new.id, now=utcnow() + timedelta(hours=7))
    assert refused.value.code == "reschedule_window_closed"
    assert seats(old.id, new.id) == [1, 0]
    assert reschedule_service.targets(booking, now=utcnow() + timedelta(hours=7)) == []


def test_someone_elses_booking_is_not_found(mentor, make_user):
    old = make_session(mentor)
    new = make_session(mentor, starts_at=utcnow() + timedelta(days=5))
    booking = free_booking(old, make_user())
    with pytest.raises(NotFound):
        reschedule_service.reschedule(make_user(), booking.id, new.id)


def test_a_booking_already_in_the_target_is_refused(mentor, make_user):
    old = make_session(mentor)
    new = make_session(mentor, starts_at=utcnow() + timedelta(days=5))
    learner = make_user()
    booking = free_booking(old, learner)
    free_booking(new, learner)
    with pytest.raises(Conflict) as refused:
        reschedule_service.reschedule(learner, booking.id, new.id)
    assert refused.value.code == "already_booked"
    assert seats(old.id, new.id) == [1, 1]


def test_a_cheaper_session_refunds_the_difference_and_the_ledger_balances(mentor, make_user):
    old = make_session(mentor, price_paise=100000)
    new = make_session(mentor, price_paise=60000, starts_at=utcnow() + timedelta(days=5))
    learner = make_user()
    booking, payment = paid_booking(old, learner)

    assert [option["difference_paise"] for option in reschedule_service.targets(booking)] == [-40000]
    _moved, refund, _ = reschedule_service.reschedule(learner, booking.id, new.id)

    assert refund is not None and refund.amount_paise == 40000
    db.session.expire_all()
    refund = db.session.get(Refund, refund.id)
    payment = db.session.get(Payment, payment.id)
    assert refund.status == "processed" and payment.status == "partially_refunded"
    assert payment.refunded_paise == 40000 and db.session.get(Booking, booking.id).amount_paise == 60000
    assert ledger.check_payment_invariant(payment) == []
    # The money follows the seat: the new session's settlement pays the mentor for it.
    sessions = set(
        db.session.scalars(select(LedgerEntry.session_id).where(LedgerEntry.payment_id == payment.id))
    )
    assert sessions == {new.id}
    assert seats(old.id, new.id) == [0, 1]
    # Cancelling later gives back at most what is still paid.
    assert booking_service.refund_due(db.session.get(Booking, booking.id), learner) == 60000


def test_the_same_price_moves_without_money(mentor, make_user):
    old = make_session(mentor, price_paise=50000)
    new = make_session(mentor, price_paise=50000, starts_at=utcnow() + timedelta(days=5))
    learner = make_user()
    booking, payment = paid_booking(old, learner)
    _moved, refund, did_move = reschedule_service.reschedule(learner, booking.id, new.id)
    assert did_move and refund is None
    assert db.session.get(Payment, payment.id).refunded_paise == 0
    assert ledger.check_payment_invariant(payment) == []


def test_learner_and_mentor_are_told_and_the_calendar_shows_the_new_time(mentor, make_user):
    old = make_session(mentor, schedule_version=3)
    new = make_session(mentor, starts_at=(utcnow() + timedelta(days=6)).replace(microsecond=0))
    learner = make_user()
    booking = free_booking(old, learner)
    before = Calendar.from_ical(calendar.booking_ics(booking)).walk("VEVENT")[0]

    moved, _refund, _ = reschedule_service.reschedule(learner, booking.id, new.id)

    after = Calendar.from_ical(calendar.booking_ics(moved)).walk("VEVENT")[0]
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) > int(before["sequence"])
    assert after.decoded("dtstart") == new.starts_at
    [feed_event] = Calendar.from_ical(calendar.feed_ics(learner)).walk("VEVENT")
    assert feed_event.decoded("dtstart") == new.starts_at
    told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "session_rescheduled"))
    assert sorted(told) == sorted([learner.id, mentor.id])


def test_racing_for_the_last_seat_one_moves_and_the_other_keeps_their_seat(threaded_app):
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    first = make_session(mentor)
    second = make_session(mentor, starts_at=utcnow() + timedelta(days=4))
    target = make_session(mentor, capacity=1, starts_at=utcnow() + timedelta(days=5))
    a, b = UserFactory(), UserFactory()
    moves = {
        a.id: free_booking(first, a).id,
        b.id: free_booking(second, b).id,
    }
    target_id = target.id
    first_id, second_id = first.id, second.id
    db.session.remove()

    def move(learner):
        booking, _refund, _moved = reschedule_service.reschedule(learner, moves[learner.id], target_id)
        return ("moved", booking.id)

    outcomes = at_once(threaded_app, [(learner_id, move) for learner_id in moves])
    assert sorted(kind for kind, _ in outcomes) == ["moved", "refused"]
    assert [code for kind, code in outcomes if kind == "refused"] == ["session_full"]
    [(_, winner)] = [o for o in outcomes if o[0] == "moved"]
    loser = next(booking_id for booking_id in moves.values() if booking_id != winner)
    db.session.expire_all()
    assert db.session.get(Booking, winner).session_id == target_id
    assert db.session.get(Booking, loser).session_id in (first_id, second_id)
    assert db.session.get(Booking, loser).status == "confirmed"
    taken = seats(first_id, second_id, target_id)
    assert taken[2] == 1 and sum(taken) == 2


def test_the_new_session_gets_its_own_reminders(app, mentor, make_user):
    from peerlearn.models import SessionReminder
    from peerlearn.services import reminders

    start = utcnow() + timedelta(days=3)
    old = make_session(mentor, starts_at=start)
    new = make_session(mentor, starts_at=start + timedelta(days=2))
    learner = make_user()
    booking = free_booking(old, learner)
    # The mentor moved the old session, so the booking may move until the start.
    booking.rescheduled_at = booking.confirmed_at
    db.session.commit()
    day_before = start - timedelta(hours=23)
    reminders.send_due_reminders(day_before)
    assert db.session.scalar(select(func.count(SessionReminder.id))) == 1

    reschedule_service.reschedule(learner, booking.id, new.id, now=day_before)

    assert db.session.scalar(select(func.count(SessionReminder.id))) == 0
    reminders.send_due_reminders(new.starts_at - timedelta(hours=23))
    [sent] = db.session.scalars(select(SessionReminder)).all()
    assert sent.starts_at == new.starts_at


def test_the_freed_seat_is_offered_to_the_old_sessions_waitlist(mentor, make_user):
    from peerlearn.models import WaitlistEntry
    from peerlearn.services import waitlist

    old = make_session(mentor, capacity=1, price_paise=30000)
    new = make_session(mentor, price_paise=30000, starts_at=utcnow() + timedelta(days=5))
    learner, waiting = make_user(), make_user()
    booking, _payment = paid_booking(old, learner)
    waitlist.join(old.id, waiting)

    reschedule_service.reschedule(learner, booking.id, new.id)

    entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.learner_id == waiting.id))
    assert entry.status == "offered"
    assert seats(old.id, new.id) == [1, 1]  # the old seat is held for the learner in line


def test_with_a_coupon_the_difference_is_on_list_prices_and_the_discount_stays(mentor, make_user):
    from peerlearn.payments import get_gateway
    from peerlearn.services import coupons
    from peerlearn.services import payments as payment_service

    old = make_session(mentor, price_paise=100000)
    new = make_session(mentor, price_paise=80000, starts_at=utcnow() + timedelta(days=5))
    learner = make_user()
    coupons.create(mentor, {"code": "WELCOME10", "kind": "percent", "value": 10})
    booking, _ = booking_service.book(old.id, learner)
    coupons.apply_to_booking(learner, booking.id, "welcome10")
    payment = payment_service.start_booking_payment(learner, booking.id)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment = payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    assert payment.amount_paise == 90000

    _moved, refund, _ = reschedule_service.reschedule(learner, booking.id, new.id)

    # ₹1,000 → ₹800 at list price: ₹200 back; the ₹100 discount stays with the payment.
    assert refund.amount_paise == 20000
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).amount_paise == 70000
    assert ledger.check_payment_invariant(db.session.get(Payment, payment.id)) == []


def test_two_moves_in_opposite_directions_both_go_through(threaded_app):
    """Both sessions are locked in id order, so swapping seats at once never deadlocks."""
    from tests.factories import UserFactory

    mentor = UserFactory(role="mentor")
    first = make_session(mentor)
    second = make_session(mentor, starts_at=utcnow() + timedelta(days=4))
    a, b = UserFactory(), UserFactory()
    plan = {
        a.id: (free_booking(first, a).id, second.id),
        b.id: (free_booking(second, b).id, first.id),
    }
    first_id, second_id = first.id, second.id
    db.session.remove()

    def move(learner):
        booking_id, target_id = plan[learner.id]
        booking, _refund, moved = reschedule_service.reschedule(learner, booking_id, target_id)
        return ("moved", booking.session_id == target_id and moved)

    outcomes = at_once(threaded_app, [(learner_id, move) for learner_id in plan])
    assert outcomes == [("moved", True), ("moved", True)]
    assert seats(first_id, second_id) == [1, 1]
