"""Waitlist order under concurrency: seats freed at once go to the first in line, one each, and
no seat is offered twice, whatever order the transactions commit in.

The races run on a SQLite file, or on PostgreSQL when TEST_DATABASE_URL is set (where the
session's row lock is what orders the offers)."""

from collections import Counter

from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import ACTIVE_BOOKING_STATUSES, Booking, LearningSession, WaitlistEntry
from peerlearn.services import booking as booking_service
from peerlearn.services import waitlist
from tests.factories import UserFactory, make_session
from tests.races import at_once


def _full_session(capacity, waiting):
    """A paid session whose seats are held by learners yet to pay, and ``waiting`` learners in its
    line, joined one after another. Returns (session id, [(holder id, booking id)], [waiter ids])."""
    mentor = UserFactory(role="mentor")
    session = make_session(mentor, title="Popular class", capacity=capacity, price_paise=50000)
    holders = []
    for _ in range(capacity):
        holder = UserFactory()
        booking, _created = booking_service.book(session.id, holder)
        holders.append((holder.id, booking.id))
    waiters = []
    for _ in range(waiting):
        learner = UserFactory()
        waitlist.join(session.id, learner)
        waiters.append(learner.id)
    session_id = session.id
    db.session.remove()
    return session_id, holders, waiters


def _cancel(booking_id):
    def call(user):
        booking_service.cancel(db.session.get(Booking, booking_id), user)
        return ("cancelled", booking_id)

    return call


def _join(session_id):
    def call(user):
        entry, _created = waitlist.join(session_id, user)
        return ("joined", entry.status)

    return call


def _entries(session_id):
    db.session.expire_all()
    return db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.session_id == session_id).order_by(WaitlistEntry.id)
    ).all()


def _check_seats(session_id):
    """Seats counted equal active bookings, none over capacity, one active booking per learner, and
    every offer its own booking held for its own learner."""
    session = db.session.get(LearningSession, session_id)
    active = db.session.scalars(
        select(Booking).where(Booking.session_id == session_id, Booking.status.in_(ACTIVE_BOOKING_STATUSES))
    ).all()
    assert session.seats_taken == len(active) <= session.capacity
    assert max(Counter(booking.learner_id for booking in active).values()) == 1
    offers = [entry for entry in _entries(session_id) if entry.status == "offered"]
    assert len({entry.booking_id for entry in offers}) == len(offers)
    by_id = {booking.id: booking for booking in active}
    for entry in offers:
        held = by_id[entry.booking_id]
        assert held.learner_id == entry.learner_id and held.status == "pending_payment"
    return session, active


def test_two_seats_freed_at_once_go_to_the_first_two_in_line(threaded_app):
    session_id, holders, waiters = _full_session(capacity=2, waiting=5)

    outcomes = at_once(threaded_app, [(holder, _cancel(booking)) for holder, booking in holders])

    assert sorted(outcomes) == sorted(("cancelled", booking) for _holder, booking in holders)
    statuses = {entry.learner_id: entry.status for entry in _entries(session_id)}
    assert [statuses[waiter] for waiter in waiters] == ["offered", "offered", "waiting", "waiting", "waiting"]
    session, active = _check_seats(session_id)
    assert session.seats_taken == 2 and {booking.learner_id for booking in active} == set(waiters[:2])


def test_ten_seat_frees_and_joins_at_once_never_offer_a_seat_twice(threaded_app):
    """Five holders cancel while five more learners join the line, all at once: the five freed
    seats go to the five who were first in line before, and the newcomers wait behind the rest."""
    session_id, holders, waiters = _full_session(capacity=5, waiting=7)
    newcomers = [UserFactory().id for _ in range(5)]
    db.session.remove()

    attempts = [(holder, _cancel(booking)) for holder, booking in holders]
    attempts += [(learner, _join(session_id)) for learner in newcomers]
    outcomes = at_once(threaded_app, attempts)

    assert Counter(outcome[0] for outcome in outcomes) == {"cancelled": 5, "joined": 5}
    entries = _entries(session_id)
    statuses = {entry.learner_id: entry.status for entry in entries}
    assert [statuses[waiter] for waiter in waiters] == ["offered"] * 5 + ["waiting"] * 2
    assert all(statuses[learner] == "waiting" for learner in newcomers)
    # The newcomers joined behind everyone who was already waiting.
    order = [entry.learner_id for entry in entries]
    assert max(order.index(waiter) for waiter in waiters) < min(order.index(learner) for learner in newcomers)
    session, active = _check_seats(session_id)
    assert session.seats_taken == 5 and {booking.learner_id for booking in active} == set(waiters[:5])
    assert (
        db.session.scalar(select(func.count(WaitlistEntry.id)).where(WaitlistEntry.status == "offered")) == 5
    )


def test_offers_lapsing_while_more_seats_free_pass_on_in_order(threaded_app):
    """Three offers lapse in the expiry sweep (with the two holds left, which lapse by then too)
    while those two holders cancel: five seats freed through two paths at once, each offered
    once, to the next five in line."""
    session_id, holders, waiters = _full_session(capacity=5, waiting=10)
    for holder_id, booking_id in holders[:3]:  # three seats go to the first three in line
        booking = db.session.get(Booking, booking_id)
        booking_service.cancel(booking, booking.learner)
        assert booking.learner_id == holder_id
    lapse_at = max(entry.offer_expires_at for entry in _entries(session_id) if entry.status == "offered")
    db.session.remove()

    def sweep(_user):
        return ("swept", booking_service.expire_holds(now=lapse_at))

    attempts = [(holder, _cancel(booking)) for holder, booking in holders[3:]]
    attempts.append((waiters[-1], sweep))
    outcomes = at_once(threaded_app, attempts)

    assert {outcome[0] for outcome in outcomes} <= {"cancelled", "refused", "swept"}
    statuses = {entry.learner_id: entry.status for entry in _entries(session_id)}
    assert [statuses[waiter] for waiter in waiters] == ["passed"] * 3 + ["offered"] * 5 + ["waiting"] * 2
    session, active = _check_seats(session_id)
    assert session.seats_taken == 5 and {booking.learner_id for booking in active} == set(waiters[3:8])
