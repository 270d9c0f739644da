"""Time-driven work runs by itself: holds expire, sessions complete, open orders reconcile."""

from datetime import timedelta

from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, utcnow
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import payments as payment_service
from peerlearn.tasks import QUEUES
from peerlearn.tasks.periodic import PERIODIC_JOBS, run_all_once
from tests.support.booking import make_session


def test_one_sweep_expires_completes_and_reconciles(make_user, time_machine):
    time_machine.move_to(utcnow())
    mentor = make_user(role="mentor")
    paid = make_session(mentor, price_paise=20000, starts_at=utcnow() + timedelta(days=2))
    soon_over = make_session(mentor, starts_at=utcnow() + timedelta(hours=1), duration_minutes=30)
    abandoned, paid_but_unverified = make_user(), make_user()
    hold, _ = booking_service.book(paid.id, abandoned)
    other, _ = booking_service.book(paid.id, paid_but_unverified)
    payment = payment_service.start_booking_payment(paid_but_unverified, other.id)
    get_gateway().pay(payment.order_id)
    db.session.commit()

    ids = {"hold": hold.id, "other": other.id, "soon_over": soon_over.id, "paid": paid.id}
    time_machine.shift(timedelta(hours=2, minutes=5))
    results = run_all_once()
    assert results["expire_holds"] == 2  # both holds ran out; the paid one is then recovered
    assert results["complete_sessions"] == 1
    db.session.expire_all()
    assert db.session.get(Booking, ids["hold"]).status == "expired"
    assert db.session.get(Booking, ids["other"]).status == "confirmed"  # recovered by the reconciler
    # Settled by the sweep: its mentor never came, so it was not held (it used to complete).
    assert db.session.get(LearningSession, ids["soon_over"]).status == "cancelled"
    assert db.session.get(LearningSession, ids["paid"]).seats_taken == 1
    # A second sweep finds nothing left to do.
    again = run_all_once()
    assert again["expire_holds"] == 0 and again["complete_sessions"] == 0


def test_every_periodic_job_has_a_queue_and_interval():
    for func, queue, interval in PERIODIC_JOBS:
        assert queue in QUEUES and interval >= 60, func


def test_sweep_and_reconcile_commands(runner):
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and "expire_holds: 0" in result.output
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0 and "Checked 0 open order(s)" in result.output
    result = runner.invoke(args=["payments", "reconcile", "--order", "order_missing00000"])
    assert result.exit_code != 0 and "No payment" in result.output
