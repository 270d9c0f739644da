"""Waitlists: who may join, where they stand, and a freed seat offered to the first in line,
held while they pay, passed on when they don't."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.exceptions import Conflict, NotFound
from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, Notification, OutboundEmail, WaitlistEntry, utcnow
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import payments as payment_service
from peerlearn.services import sessions as session_service
from peerlearn.services import waitlist
from tests.factories import UserFactory, make_session

PAY_PATH = "/bookings/{}/pay"


@pytest.fixture
def mentor(app):
    return UserFactory(role="mentor", email="mentor@example.com")


def full_session(mentor, *, capacity=1, price_paise=50000, **overrides):
    """A session whose ``capacity`` seats are held by learners who have yet to pay."""
    session = make_session(
        mentor, title="Busy class", capacity=capacity, price_paise=price_paise, **overrides
    )
    holders = [UserFactory() for _ in range(capacity)]
    bookings = [booking_service.book(session.id, holder)[0] for holder in holders]
    return session, list(zip(holders, bookings, strict=True))


def entry_of(learner, session):
    db.session.expire_all()
    return db.session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.learner_id == learner.id, WaitlistEntry.session_id == session.id)
        .order_by(WaitlistEntry.id.desc())
    )


def seats_taken(session):
    db.session.expire_all()
    return db.session.get(LearningSession, session.id).seats_taken


def test_ordinals():
    assert [waitlist.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip


def test_learners_join_a_full_session_in_order_and_see_their_place(mentor):
    session, _ = full_session(mentor)
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    for learner in (first, second, third):
        entry, created = waitlist.join(session.id, learner)
        assert created and entry.status == "waiting"
    again, created = waitlist.join(session.id, second)
    assert not created and again.id == entry_of(second, session).id
    assert waitlist.status(third, session.id)["position_text"] == "You're 3rd in line"
    waitlist.leave(session.id, first)
    assert entry_of(first, session).status == "left"
    assert waitlist.status(third, session.id)["position_text"] == "You're 2nd in line"
    assert waitlist.status(second, session.id)["position"] == 1
    assert waitlist.waiting_count(session.id) == 2
    with pytest.raises(NotFound):
        waitlist.leave(session.id, first)  # not in line any more


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("not_full", "not_full"),
        ("own", "own_session"),
        ("booked", "already_booked"),
        ("cancelled", "session_cancelled"),
        ("started", "session_started"),
    ],
)
def test_who_cannot_join(mentor, case, code):
    session, holders = full_session(mentor, capacity=2)
    learner = UserFactory()
    if case == "not_full":
        booking_service.cancel(holders[0][1], holders[0][0])
    elif case == "own":
        learner = mentor
    elif case == "booked":
        learner = holders[0][0]
    elif case == "cancelled":
        session.status = "cancelled"
        db.session.commit()
    elif case == "started":
        session.starts_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    with pytest.raises(Conflict) as refused:
        waitlist.join(session.id, learner)
    assert refused.value.code == code
    assert db.session.scalar(select(WaitlistEntry.id)) is None


def test_a_draft_is_not_found(mentor):
    session = make_session(mentor, status="draft")
    with pytest.raises(NotFound):
        waitlist.join(session.id, UserFactory())


def test_a_cancellation_offers_the_seat_to_the_first_in_line(app, mentor):
    app.config["WAITLIST_CLAIM_MINUTES"] = 30
    session, [(holder, held)] = full_session(mentor)
    first, second = UserFactory(email="first@example.com"), UserFactory()
    waitlist.join(session.id, first)
    waitlist.join(session.id, second)
    before = utcnow()
    booking_service.cancel(held, holder)

    offer = entry_of(first, session)
    assert offer.status == "offered" and offer.booking_id is not None
    booking = db.session.get(Booking, offer.booking_id)
    assert booking.learner_id == first.id and booking.status == "pending_payment"
    assert booking.amount_paise == 50000
    assert (
        timedelta(minutes=29, seconds=59)
        < booking.hold_expires_at - before
        <= timedelta(minutes=30, seconds=1)
    )
    assert offer.offer_expires_at == booking.hold_expires_at
    assert seats_taken(session) == 1  # the seat went straight to the line: nobody else can book it
    with pytest.raises(Conflict):
        booking_service.book(session.id, UserFactory())
    assert entry_of(second, session).status == "waiting"
    assert waitlist.status(second, session.id)["position"] == 1

    [note] = db.session.scalars(select(Notification).where(Notification.kind == "waitlist_offer")).all()
    assert note.user_id == first.id and note.title.startswith("A seat opened in Busy class: claim it by ")
    assert note.url == PAY_PATH.format(booking.id)
    [email] = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.to_address == "first@example.com")
    ).all()
    assert email.subject == note.title and f"/{booking.id}/pay" in email.text_body


def test_an_unclaimed_offer_passes_to_the_next_and_paying_claims_it(mentor):
    session, [(holder, held)] = full_session(mentor)
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    for learner in (first, second, third):
        waitlist.join(session.id, learner)
    booking_service.cancel(held, holder)
    lapsed = entry_of(first, session)

    assert booking_service.expire_holds(now=lapsed.offer_expires_at + timedelta(seconds=1)) == 1
    assert entry_of(first, session).status == "passed"
    assert db.session.get(Booking, lapsed.booking_id).status == "expired"
    offer = entry_of(second, session)
    assert offer.status == "offered"
    assert entry_of(third, session).status == "waiting"
    assert seats_taken(session) == 1

    # The second learner claims it by paying the hold, as any booking is paid.
    payment = payment_service.start_booking_payment(second, offer.booking_id)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment_service.verify_checkout(
        second, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    assert db.session.get(Booking, offer.booking_id).status == "confirmed"
    assert entry_of(second, session).status == "claimed"
    assert entry_of(third, session).status == "waiting"
    assert seats_taken(session) == 1


def test_an_offer_is_held_no_later_than_the_start(app, mentor):
    app.config["WAITLIST_CLAIM_MINUTES"] = 30
    session, [(holder, held)] = full_session(mentor, starts_at=utcnow() + timedelta(minutes=10))
    learner = UserFactory()
    waitlist.join(session.id, learner)
    booking_service.cancel(held, holder)
    offer = entry_of(learner, session)
    assert offer.offer_expires_at == db.session.get(LearningSession, session.id).starts_at


def test_leaving_with_an_offer_gives_the_seat_to_the_next(mentor):
    session, [(holder, held)] = full_session(mentor)
    first, second = UserFactory(), UserFactory()
    waitlist.join(session.id, first)
    waitlist.join(session.id, second)
    booking_service.cancel(held, holder)
    offered = entry_of(first, session)
    waitlist.leave(session.id, first)
    assert entry_of(first, session).status == "left"
    assert db.session.get(Booking, offered.booking_id).status == "cancelled"
    assert entry_of(second, session).status == "offered"
    assert seats_taken(session) == 1


def test_a_free_seat_is_booked_for_the_first_in_line_at_once(mentor):
    session = make_session(mentor, title="Free class", capacity=1, price_paise=0)
    holder = UserFactory()
    held, _ = booking_service.book(session.id, holder)
    learner = UserFactory()
    waitlist.join(session.id, learner)
    booking_service.cancel(held, holder)
    entry = entry_of(learner, session)
    assert entry.status == "claimed"
    assert db.session.get(Booking, entry.booking_id).status == "confirmed"
    kinds = set(db.session.scalars(select(Notification.kind).where(Notification.user_id == learner.id)))
    assert "waitlist_offer" in kinds


def test_more_seats_go_to_the_line(mentor):
    session, _ = full_session(mentor, capacity=1)
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    for learner in (first, second, third):
        waitlist.join(session.id, learner)
    session_service.update_session(mentor, session.id, {"capacity": 3})
    assert [entry_of(learner, session).status for learner in (first, second, third)] == [
        "offered",
        "offered",
        "waiting",
    ]
    assert seats_taken(session) == 3


def test_a_cancelled_session_ends_its_line(mentor):
    session, _ = full_session(mentor)
    learner = UserFactory()
    waitlist.join(session.id, learner)
    session_service.cancel_session(mentor, session.id, reason="Unwell")
    assert entry_of(learner, session).status == "expired"
    assert waitlist.learner_waitlists(learner) == []


def test_the_learner_and_the_mentor_see_the_line(mentor):
    session, _ = full_session(mentor)
    learner = UserFactory()
    waitlist.join(session.id, learner)
    [(entry, place)] = waitlist.learner_waitlists(learner)
    assert entry.session_id == session.id and place == 1
    assert waitlist.waiting_counts([session.id]) == {session.id: 1}


def test_a_suspended_account_is_passed_over(mentor):
    session, [(holder, held)] = full_session(mentor)
    suspended, next_one = UserFactory(), UserFactory()
    waitlist.join(session.id, suspended)
    waitlist.join(session.id, next_one)
    suspended.suspended_at = utcnow()
    db.session.commit()
    booking_service.cancel(held, holder)
    assert entry_of(suspended, session).status == "left"
    assert entry_of(next_one, session).status == "offered"


def test_a_learner_who_took_a_seat_another_way_is_not_offered_one(app, mentor):
    session, holders = full_session(mentor, capacity=2)
    seated, next_one = UserFactory(), UserFactory()
    waitlist.join(session.id, seated)
    waitlist.join(session.id, next_one)
    # A seat reached the first in line by a path that tells the waitlist nothing (a payment that
    # arrived after its hold expired takes a free seat directly).
    (_first_holder, first_held), (second_holder, second_held) = holders
    first_held.learner_id = seated.id
    db.session.commit()
    booking_service.cancel(second_held, second_holder)
    assert entry_of(seated, session).status == "left"
    offer = entry_of(next_one, session)
    assert offer.status == "offered"
    assert db.session.get(Booking, offer.booking_id).learner_id == next_one.id
