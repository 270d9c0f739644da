"""Settlement by attendance: a session is held only when its mentor was really in the room.

Nobody ends a session for all before its start; held sessions complete and start settling,
sessions not held are cancelled, every payment of theirs (seats and gifts) refunded in full, the
learners told and the mentor struck; three strikes in 90 days suspend publishing.
"""

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import (
    AuditEntry,
    Booking,
    LearningSession,
    LedgerEntry,
    MentorStrike,
    Notification,
    OutboundEmail,
    Payment,
    Refund,
    User,
    utcnow,
)
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import checkout as gift_checkout
from peerlearn.services import ledger, settlement
from peerlearn.services import payments as payment_service
from peerlearn.services import room as room_service
from peerlearn.services import sessions as session_service
from tests.factories import make_session, paid_booking


def send_gift(session, learner, amount_paise):
    """A learner in the room sends the mentor a gift and pays for it through the dev gateway."""
    gift, payment = gift_checkout.create_gift(learner, session.id, amount_paise)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    gift = gift_checkout.verify_gift(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    assert gift.status == "paid"
    return db.session.get(Payment, payment.id)


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


@pytest.fixture
def people(make_user):
    return {
        "mentor": make_user(email="mentor@example.com", role="mentor", name="Meera Mentor"),
        "ana": make_user(email="ana@example.com", name="Ana Learner"),
        "ben": make_user(email="ben@example.com", name="Ben Learner"),
    }


@pytest.fixture
def soon(people, time_machine):
    """The issue's market: a ₹199 session published to start in ten minutes, Ana's paid seat."""
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = session_service.create_session(
        people["mentor"],
        {
            "title": "Quick Flask help",
            "category": "Programming",
            "starts_at": now + timedelta(minutes=10),
            "duration_minutes": 30,
            "price_paise": 19900,
        },
        publish=True,
    )
    booking, payment = paid_booking(session, people["ana"])
    assert booking.status == "confirmed" and payment.status == "captured"
    return session, booking, payment


def test_ending_for_all_before_the_start_is_refused_and_changes_nothing(people, soon, time_machine):
    session, booking, payment = soon
    mentor, ana = people["mentor"], people["ana"]
    room_service.start(mentor, session.id)  # Go live, ten minutes before the start
    room_service.record_join(session.id, mentor.id, "sid-mentor")
    room_service.record_join(session.id, ana.id, "sid-ana")
    gift = send_gift(session, ana, 5000)
    entries_before = count(LedgerEntry)
    time_machine.shift(timedelta(seconds=30))  # 9½ minutes before the start

    with pytest.raises(Conflict) as refused:
        room_service.end(mentor, session.id)
    assert refused.value.code == "too_early"
    # In the mentor's own time (Asia/Kolkata), when they may end it.
    start = session.starts_at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert f"once it has started (at {start.strftime('%I:%M %p').lstrip('0')})" in refused.value.message

    session = fresh(LearningSession, session.id)
    assert session.status == "live" and session.ended_at is None and session.settles_at is None
    assert fresh(Booking, booking.id).status == "confirmed"
    assert fresh(Payment, payment.id).status == fresh(Payment, gift.id).status == "captured"
    assert count(Refund) == 0 and count(MentorStrike) == 0 and count(LedgerEntry) == entries_before
    assert room_service.entry_refusal(ana, session) is None  # the room stays open


def test_a_mentor_who_left_after_40_percent_refunds_everyone_at_the_end_of_grace(app, people, time_machine):
    """Threshold 50 %: Meera is in the room for 24 of 60 minutes. When the grace period ends the
    session is cancelled as not held, every payment of it refunded in full (two seats, a gift and
    what Ben's late cancellation kept), the learners told, Meera struck once."""
    assert app.config["HELD_MIN_PERCENT"] == 50
    mentor, ana, ben = people["mentor"], people["ana"], people["ben"]
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = make_session(mentor, starts_at=now + timedelta(days=2), duration_minutes=60, price_paise=49900)
    _, ana_payment = paid_booking(session, ana)
    ben_booking, ben_payment = paid_booking(session, ben)
    time_machine.move_to(session.starts_at - timedelta(hours=3), tick=False)
    assert booking_service.cancel(ben_booking, ben) is None  # late: Meera would keep all of it

    time_machine.move_to(session.starts_at - timedelta(minutes=2), tick=False)
    room_service.start(mentor, session.id)
    room_service.record_join(session.id, mentor.id, "sid-mentor")
    room_service.record_join(session.id, ana.id, "sid-ana")
    time_machine.move_to(session.starts_at + timedelta(minutes=10), tick=False)
    gift_payment = send_gift(session, ana, 20000)
    time_machine.move_to(session.starts_at + timedelta(minutes=24), tick=False)
    assert room_service.record_leave(session.id, mentor.id, "sid-mentor")  # 40 % of the slot

    time_machine.move_to(room_service.closes_at(session) - timedelta(seconds=1), tick=False)
    assert session_service.complete_due_sessions() == 0  # still in the grace period
    assert fresh(LearningSession, session.id).status == "live" and count(Refund) == 0
    time_machine.move_to(room_service.closes_at(session), tick=False)
    assert session_service.complete_due_sessions() == 1

    session = fresh(LearningSession, session.id)
    assert session.status == "cancelled" and session.mentor_present_minutes == 24
    assert session.settles_at is None and session.seats_taken == 0
    assert session.cancel_reason == (
        "Not held: the mentor was in the room for 24 of its 60 minutes (at least 30 minutes are needed). "
        "Everyone who paid is refunded in full."
    )
    assert settlement.was_not_held(session)
    for person in (ana, mentor):  # the room says why it is closed
        refusal = room_service.entry_refusal(person, session)
        assert refusal.code == "session_ended" and "It was not held" in refusal.message
    assert [b.status for b in db.session.scalars(select(Booking).order_by(Booking.id))] == [
        "cancelled",
        "cancelled",
    ]
    for payment in (ana_payment, ben_payment, gift_payment):
        payment = fresh(Payment, payment.id)
        assert payment.status == "refunded" and payment.refunded_paise == payment.amount_paise
    assert count(Refund) == 3 and count(Refund, Refund.status == "processed") == 3
    assert ledger.all_payments_balance() == []
    # Nothing left to Meera: every earning of the session reversed.
    assert (
        db.session.scalar(
            select(func.sum(LedgerEntry.amount_paise)).where(
                LedgerEntry.mentor_id == mentor.id,
                LedgerEntry.kind.in_(("mentor_earning", "earning_reversal")),
            )
        )
        == 0
    )
    [strike] = db.session.scalars(select(MentorStrike)).all()
    assert (
        strike.mentor_id == mentor.id and strike.session_id == session.id and "24 of its 60" in strike.reason
    )
    assert fresh(User, mentor.id).publishing_suspended_at is None  # one strike of three
    # Ana (seated) is told; Ben had cancelled and hears of his refund; Meera hears of the strike.
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "session_not_held")
    ).all()
    assert sorted(told) == sorted([ana.id, mentor.id])
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "session_not_held"))
    assert email.subject == f"Not held: {session.title}" and email.user_id == ana.id

    # A second sweep, or a late End, changes nothing.
    time_machine.shift(timedelta(minutes=5))
    assert session_service.complete_due_sessions() == 0
    assert room_service.end(mentor, session.id).status == "cancelled"
    assert count(Refund) == 3 and count(MentorStrike) == 1


def test_ending_after_the_start_with_the_mentor_there_half_the_time_completes_it(app, people, time_machine):
    mentor, ana = people["mentor"], people["ana"]
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = make_session(mentor, starts_at=now + timedelta(days=1), duration_minutes=60, price_paise=30000)
    booking, payment = paid_booking(session, ana)
    time_machine.move_to(session.starts_at - timedelta(minutes=5), tick=False)
    room_service.start(mentor, session.id)
    room_service.record_join(session.id, mentor.id, "sid-mentor")
    room_service.record_join(session.id, ana.id, "sid-ana")
    ended_at = session.starts_at + timedelta(minutes=30)  # early, but half of the slot
    time_machine.move_to(ended_at, tick=False)

    session = room_service.end(mentor, session.id)
    assert session.status == "completed" and session.ended_at == ended_at
    assert session.mentor_present_minutes == 30
    assert session.settles_at == ended_at + timedelta(hours=app.config["SETTLEMENT_HOURS"])
    assert fresh(Booking, booking.id).status == "attended"
    assert fresh(Payment, payment.id).status == "captured" and count(Refund) == 0 and count(MentorStrike) == 0
    assert settlement.ended_message(session) == "Session ended for everyone. Thanks for teaching!"


def test_ending_before_half_of_the_slot_is_not_held(people, time_machine):
    mentor, ana = people["mentor"], people["ana"]
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = make_session(mentor, starts_at=now + timedelta(days=1), duration_minutes=60, price_paise=30000)
    _booking, payment = paid_booking(session, ana)
    time_machine.move_to(session.starts_at, tick=False)
    room_service.start(mentor, session.id)
    room_service.record_join(session.id, mentor.id, "sid-mentor")
    time_machine.move_to(session.starts_at + timedelta(minutes=29, seconds=59), tick=False)

    session = room_service.end(mentor, session.id)
    assert session.status == "cancelled" and session.mentor_present_minutes == 29
    assert fresh(Payment, payment.id).status == "refunded" and count(MentorStrike) == 1
    assert "counts as not held" in settlement.ended_message(session)


def test_a_free_session_its_mentor_missed_is_not_held_too(people, time_machine):
    mentor, ana = people["mentor"], people["ana"]
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = make_session(mentor, starts_at=now + timedelta(hours=1), duration_minutes=30)
    booking, _ = booking_service.book(session.id, ana)
    time_machine.move_to(room_service.closes_at(session), tick=False)
    assert session_service.complete_due_sessions() == 1
    assert fresh(LearningSession, session.id).status == "cancelled"
    assert fresh(Booking, booking.id).status == "cancelled" and count(Refund) == 0
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == ana.id, Notification.kind == "session_not_held")
    )
    assert "didn't come to the room" in note.body and "nothing to refund" in note.body


def strike_once(mentor, when, time_machine):
    """A session of ``mentor`` at ``when`` that they never come to, swept: one strike."""
    time_machine.move_to(when - timedelta(days=1), tick=False)
    session = make_session(mentor, starts_at=when, duration_minutes=30)
    time_machine.move_to(room_service.closes_at(session), tick=False)
    assert session_service.complete_due_sessions() == 1
    return session


def test_three_strikes_in_90_days_suspend_publishing_until_an_admin_lifts_it(
    app, people, make_user, time_machine
):
    from peerlearn.services import admin as admin_service

    assert (app.config["STRIKE_LIMIT"], app.config["STRIKE_WINDOW_DAYS"]) == (3, 90)
    mentor = people["mentor"]
    start = utcnow().replace(microsecond=0)
    strike_once(mentor, start - timedelta(days=200), time_machine)  # long ago: outside the window
    strike_once(mentor, start, time_machine)
    strike_once(mentor, start + timedelta(days=40), time_machine)
    assert count(MentorStrike) == 3 and fresh(User, mentor.id).publishing_suspended_at is None
    third = strike_once(mentor, start + timedelta(days=85), time_machine)
    mentor = fresh(User, mentor.id)
    assert mentor.publishing_suspended_at == room_service.closes_at(third)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mentor.publishing_suspend"))
    assert entry.actor_id is None and entry.target_id == mentor.id and entry.details["strikes"] == 3
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == mentor.id).order_by(Notification.id.desc())
    )
    assert "can't publish new sessions until an admin" in note.body

    data = {"title": "Another go", "category": "Programming", "starts_at": utcnow() + timedelta(days=2)}
    with pytest.raises(PermissionDenied) as refused:
        session_service.create_session(mentor, data, publish=True)
    assert refused.value.code == "publishing_suspended"
    assert "an admin can lift" in refused.value.message
    draft = session_service.create_session(mentor, data)  # drafts are still fine
    with pytest.raises(PermissionDenied) as refused:
        session_service.publish_session(mentor, draft.id)
    assert refused.value.code == "publishing_suspended"
    assert fresh(LearningSession, draft.id).status == "draft"

    admin = make_user(role="admin", email="admin@example.com")
    with pytest.raises(ValidationError) as no_reason:
        admin_service.lift_publishing_suspension(admin, mentor.id, "  ")
    assert no_reason.value.fields == {"reason": ["A reason is required."]}
    admin_service.lift_publishing_suspension(admin, mentor.id, "Talked it through; network trouble")
    mentor = fresh(User, mentor.id)
    assert mentor.publishing_suspended_at is None
    [lift] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mentor.publishing_restore"))
    assert lift.actor_id == admin.id and lift.details["reason"] == "Talked it through; network trouble"
    with pytest.raises(Conflict):  # lifted once
        admin_service.lift_publishing_suspension(admin, mentor.id, "again")
    assert session_service.publish_session(mentor, draft.id).status == "scheduled"
    assert count(MentorStrike) == 4  # the strikes stay on record


def test_a_mentor_cancelling_refunds_gifts_and_what_late_cancellations_kept(people, time_machine):
    mentor, ana, ben = people["mentor"], people["ana"], people["ben"]
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = make_session(mentor, starts_at=now + timedelta(days=1), duration_minutes=60, price_paise=49900)
    _, ana_payment = paid_booking(session, ana)
    ben_booking, ben_payment = paid_booking(session, ben)
    time_machine.move_to(session.starts_at - timedelta(hours=1), tick=False)
    assert booking_service.cancel(ben_booking, ben) is None  # late: kept in full
    time_machine.move_to(session.starts_at - timedelta(minutes=10), tick=False)
    room_service.start(mentor, session.id)
    gift_payment = send_gift(session, ana, 10000)

    session_service.cancel_session(mentor, session.id, reason="Power cut")
    for payment in (ana_payment, ben_payment, gift_payment):
        payment = fresh(Payment, payment.id)
        assert payment.status == "refunded" and payment.refunded_paise == payment.amount_paise
    assert count(Refund) == 3 and ledger.all_payments_balance() == []
    assert count(MentorStrike) == 0  # cancelling is not a strike


def test_a_gift_captured_after_the_session_was_not_held_goes_back(people, time_machine):
    mentor, ana = people["mentor"], people["ana"]
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = make_session(mentor, starts_at=now + timedelta(hours=1), duration_minutes=30)
    booking_service.book(session.id, ana)
    time_machine.move_to(session.starts_at + timedelta(minutes=1), tick=False)
    _gift, payment = gift_checkout.create_gift(ana, session.id, 5000)
    time_machine.move_to(room_service.closes_at(session), tick=False)
    assert session_service.complete_due_sessions() == 1  # not held, before the gift was paid
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    gift_checkout.verify_gift(ana, order_id=payment.order_id, payment_id=remote.id, signature=signature)
    payment = fresh(Payment, payment.id)
    assert payment.status == "refunded" and ledger.all_payments_balance() == []


def test_end_and_the_sweep_racing_settle_once(threaded_app, time_machine):
    """The mentor's End and the sweep at the same moment: one settles, the other finds it done."""
    from tests.factories import UserFactory

    app = threaded_app
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    mentor = UserFactory(role="mentor")
    learners = [UserFactory() for _ in range(2)]
    session = make_session(mentor, starts_at=now + timedelta(days=1), duration_minutes=30, price_paise=20000)
    for learner in learners:
        paid_booking(session, learner)
    time_machine.move_to(room_service.closes_at(session), tick=False)
    session_id, mentor_id = session.id, mentor.id
    db.session.remove()
    results, errors = [], []
    barrier = threading.Barrier(4)

    def end():
        with app.app_context():
            try:
                barrier.wait(10)
                results.append(room_service.end(db.session.get(User, mentor_id), session_id).status)
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    def sweep():
        with app.app_context():
            try:
                barrier.wait(10)
                results.append(session_service.complete_due_sessions())
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=t) for t in (end, end, sweep, sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(map(str, results)) == ["0", "1", "cancelled", "cancelled"] or sorted(map(str, results)) == [
        "0",
        "0",
        "cancelled",
        "cancelled",
    ]
    assert db.session.get(LearningSession, session_id).status == "cancelled"
    assert count(MentorStrike) == 1 and count(Refund) == 2
    # A refund whose sending lost a race for SQLite's write lock stays pending: the reconciler
    # sends it, with the same idempotency key.
    payment_service.reconcile_open_payments()
    assert count(Refund, Refund.status == "processed") == 2 and ledger.all_payments_balance() == []
    assert count(Notification, Notification.kind == "session_not_held") == 3  # two learners, the mentor
