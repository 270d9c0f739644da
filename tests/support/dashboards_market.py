"""The dashboards' market, shared by the service and page tests: Asha's and Bala's sessions over
three months, built through the real booking, payment, refund and room flows (reviews, follows,
requests and page views as rows), with every figure known. ``seed`` builds it; each test module
wraps it in its ``market`` fixture, after a ``clock`` at OCT."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from peerlearn.extensions import db
from peerlearn.models import (
    Booking,
    Follow,
    Interaction,
    Review,
    SessionRequest,
)
from peerlearn.services import booking as booking_service
from peerlearn.services import room as room_service
from peerlearn.services import sessions as session_service
from tests.factories import make_session, paid_booking

# A Monday in October, when the first paid session is sold (11:30 in India).
OCT = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)
# A Friday in November, when most of the market is built.
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
# Sunday 22 Nov, 13:30 in India: after the "Validating models" session, when dashboards are read.
T = NOW + timedelta(days=2, hours=2)
TZ = "Asia/Kolkata"


@dataclass
class Market:
    asha: object
    bala: object
    admin: object
    learners: dict
    sessions: dict


def view(user, session, times=1):
    for _ in range(times):
        db.session.add(
            Interaction(user_id=user.id, kind="view", session_id=session.id, mentor_id=session.mentor_id)
        )


def review(booking, rating, *, when, hidden=False):
    session = booking.session
    db.session.add(
        Review(
            booking_id=booking.id,
            session_id=session.id,
            mentor_id=session.mentor_id,
            learner_id=booking.learner_id,
            rating=rating,
            created_at=when,
            hidden_at=when if hidden else None,
        )
    )


def seed(app, make_user, clock):
    """Asha's and Bala's sessions over three months, built with ``clock`` (a time-machine traveller
    started at OCT); the clock is left at T."""
    assert app.config["PLATFORM_FEE_PERCENT"] == 12 and app.config["ROOM_OPENS_MINUTES"] == 15
    asha = make_user(role="mentor", name="Asha Raman", email="asha@example.com", timezone=TZ)
    bala = make_user(role="mentor", name="Bala Menon", email="bala@example.com", timezone=TZ)
    l1, l2, l3, l4 = (
        make_user(name=f"Learner {n}", email=f"l{n}@example.com", timezone=TZ) for n in range(1, 5)
    )
    # October: a ₹200 talk sold to L4 (₹176 earned); Asha gives it, L4 misses it, and the sweep
    # completes it (held: Asha was in the room for all of it).
    autumn = make_session(asha, title="Autumn talk", price_paise=20000, starts_at=OCT + timedelta(days=1))
    paid_booking(autumn, l4)
    room_service.record_join(autumn.id, asha.id, "asha-autumn", now=autumn.starts_at)
    room_service.record_leave(autumn.id, asha.id, "asha-autumn", now=autumn.ends_at)
    clock.move_to(OCT + timedelta(days=3))
    assert session_service.complete_due_sessions() == 1

    # September, written directly: a free SQL session L4 attended and rated 4.
    old = make_session(
        asha,
        title="SQL basics",
        skills=["SQL"],
        starts_at=datetime(2026, 9, 10, 4, 30, tzinfo=UTC),
        status="completed",
    )
    old_booking = Booking(session_id=old.id, learner_id=l4.id, status="attended", amount_paise=0)
    db.session.add(old_booking)
    db.session.flush()
    review(old_booking, 4, when=datetime(2026, 9, 10, 8, 0, tzinfo=UTC))
    db.session.commit()

    clock.move_to(NOW)
    newbie = make_user(name="New Learner", email="new@example.com", timezone=TZ)
    done = make_session(
        asha,
        title="Validating models",
        skills=["Python", "Pandas"],
        price_paise=50000,
        starts_at=NOW + timedelta(days=2),
    )
    later = make_session(
        asha, title="SQL windows", skills=["SQL"], price_paise=30000, starts_at=NOW + timedelta(days=10)
    )
    draft = make_session(asha, title="Secret draft", status="draft", starts_at=NOW + timedelta(days=20))
    live = make_session(bala, title="Bala live", price_paise=40000, starts_at=T + timedelta(minutes=5))
    done_l1, _ = paid_booking(done, l1)
    done_l2, _ = paid_booking(done, l2, method="card")
    paid_booking(later, l1)
    later_l3, _ = paid_booking(later, l3)
    paid_booking(live, l1)
    refund = booking_service.cancel(later_l3, l3)  # ten days ahead: refunded in full
    assert refund.status == "processed" and refund.amount_paise == 30000
    for learner in (l1, l2, l3, newbie):
        view(learner, done)
    view(l1, later, 3)
    view(l2, live, 3)
    db.session.add(Interaction(user_id=l4.id, kind="book", session_id=done.id, mentor_id=asha.id))
    db.session.add_all(
        [Follow(follower_id=l1.id, mentor_id=asha.id), Follow(follower_id=l2.id, mentor_id=asha.id)]
    )
    db.session.add(Follow(follower_id=l3.id, mentor_id=bala.id))
    for status, expires in (
        ("pending", NOW + timedelta(days=5)),
        ("pending", NOW + timedelta(days=1)),
        ("declined", NOW + timedelta(days=5)),
    ):
        db.session.add(
            SessionRequest(
                learner_id=l2.id, mentor_id=asha.id, topic="Pandas help", status=status, expires_at=expires
            )
        )
    db.session.commit()

    # "Validating models" happens: Asha opens the room, L1 stays 45 minutes, L2 never comes.
    clock.move_to(done.starts_at - timedelta(minutes=5))
    room_service.start(asha, done.id)
    room_service.record_join(done.id, asha.id, "asha-1")
    room_service.record_join(done.id, l1.id, "l1-1")
    clock.move_to(done.starts_at + timedelta(minutes=45))
    room_service.record_leave(done.id, l1.id, "l1-1")
    clock.move_to(done.starts_at + timedelta(minutes=60))
    room_service.end(asha, done.id)

    clock.move_to(T)
    admin = make_user(role="admin", email="admin@example.com", timezone=TZ)
    soon = make_session(asha, title="Office hours", starts_at=T + timedelta(minutes=10))
    tonight = make_session(asha, title="Evening review", starts_at=T + timedelta(hours=5))
    booking_service.book(soon.id, l4)
    room_service.start(bala, live.id)
    review(done_l1, 5, when=T)
    review(done_l2, 1, when=T, hidden=True)
    l3.suspended_at = T
    db.session.commit()
    return Market(
        asha=asha,
        bala=bala,
        admin=admin,
        learners={"l1": l1, "l2": l2, "l3": l3, "l4": l4, "newbie": newbie},
        sessions={
            "autumn": autumn,
            "old": old,
            "done": done,
            "later": later,
            "draft": draft,
            "live": live,
            "soon": soon,
            "tonight": tonight,
        },
    )
