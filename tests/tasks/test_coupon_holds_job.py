"""The periodic release_coupon_holds: a coupon's use held by an order that lapsed is given back
by the job, before anyone applies the coupon again."""

from datetime import timedelta

from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Coupon, CouponRedemption, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import coupons
from peerlearn.tasks.periodic import PERIODIC_JOBS, release_coupon_holds, run_all_once
from tests.races import at_once
from tests.support.booking import make_session


def held_coupon(make_user, code):
    mentor = make_user(role="mentor")
    session = make_session(mentor, price_paise=100_000)
    coupon = coupons.create(mentor, {"code": code, "kind": "percent", "value": 10, "max_redemptions": 1})
    learner = make_user()
    booking, _ = booking_service.book(session.id, learner)
    coupons.apply_to_booking(learner, booking.id, code)
    return coupon.id, booking


def statuses(coupon_id):
    return db.session.scalars(
        select(CouponRedemption.status).where(CouponRedemption.coupon_id == coupon_id)
    ).all()


def count(coupon_id):
    return db.session.get(Coupon, coupon_id, populate_existing=True).redeemed_count


def test_the_job_frees_a_lapsed_hold_and_leaves_a_live_one(make_user, time_machine):
    time_machine.move_to(utcnow())
    lapsed_id, lapsed = held_coupon(make_user, "LAPSING")
    live_id, _ = held_coupon(make_user, "STILLHELD")
    lapsed.hold_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert count(lapsed_id) == 1  # lazily released only: still counted until the job runs

    assert release_coupon_holds() == 1
    db.session.expire_all()
    assert statuses(lapsed_id) == ["released"] and count(lapsed_id) == 0
    assert statuses(live_id) == ["held"] and count(live_id) == 1
    assert release_coupon_holds() == 0  # once


def test_the_sweep_frees_holds_whose_booking_expired(make_user, time_machine):
    time_machine.move_to(utcnow())
    coupon_id, _ = held_coupon(make_user, "SWEPT")
    time_machine.shift(timedelta(minutes=30))  # past the seat hold
    results = run_all_once()
    assert results["release_coupon_holds"] == 1
    assert statuses(coupon_id) == ["released"] and count(coupon_id) == 0


def test_the_job_runs_every_few_minutes():
    intervals = {func.__name__: interval for func, _queue, interval in PERIODIC_JOBS}
    assert intervals["release_coupon_holds"] <= 300


def test_the_job_twice_and_a_learner_applying_at_once_count_the_freed_use_once(threaded_app):
    """On PostgreSQL with TEST_DATABASE_URL (the coupon's row lock), else on a SQLite file."""
    from tests.factories import UserFactory

    mentor, first, second = UserFactory(role="mentor"), UserFactory(), UserFactory()
    session = make_session(mentor, price_paise=100_000)
    coupon_id = coupons.create(
        mentor, {"code": "RACEFREE", "kind": "percent", "value": 10, "max_redemptions": 1}
    ).id
    lapsed, _ = booking_service.book(session.id, first)
    coupons.apply_to_booking(first, lapsed.id, "RACEFREE")
    lapsed.hold_expires_at = utcnow() - timedelta(seconds=1)
    waiting, _ = booking_service.book(session.id, second)
    waiting_id, second_id = waiting.id, second.id
    db.session.commit()
    db.session.remove()

    def run_job(_user):
        return ("job", release_coupon_holds())

    def apply(user):
        return ("applied", coupons.apply_to_booking(user, waiting_id, "RACEFREE").status)

    outcomes = at_once(threaded_app, [(second_id, run_job), (second_id, run_job), (second_id, apply)])
    assert ("applied", "held") in outcomes
    assert sum(result for kind, result in outcomes if kind == "job") <= 1  # released once at most
    assert sorted(statuses(coupon_id)) == ["held", "released"]
    assert count(coupon_id) == 1
