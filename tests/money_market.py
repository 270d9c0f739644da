"""A mentor's seeded market for the money tests: sessions held and settled, held and pending, not
held, disputed and still ahead; bookings and gifts paid through the dev gateway, a partial refund,
a paid payout and a requested one. Every figure is known to the paisa (fee 12 %).

Held sessions are settled by setting their state directly (``tests.factories.hold``), as the
settlement code does when a session ends; disputes are rows, as a learner's report makes them.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from peerlearn.extensions import db
from peerlearn.models import Dispute
from peerlearn.services import earnings, payout_accounts
from peerlearn.services import refunds as refund_service
from tests.factories import hold, make_session, paid_booking, paid_gift

TZ = "Asia/Kolkata"
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 11:30 in India, when the figures are read


def dispute(booking, payment, *, status="open"):
    row = Dispute(
        booking_id=booking.id,
        payment_id=payment.id,
        session_id=booking.session_id,
        learner_id=booking.learner_id,
        mentor_id=booking.session.mentor_id,
        reason="technical",
        details="The mentor's audio dropped for most of the session.",
        status=status,
    )
    db.session.add(row)
    db.session.commit()
    return row


def add_upi(mentor, upi_id="asha.raman@okaxis"):
    return payout_accounts.save(mentor, {"kind": "upi", "upi_id": upi_id})


@dataclass
class Market:
    mentor: object
    admin: object
    learners: list
    sessions: dict = field(default_factory=dict)
    payments: dict = field(default_factory=dict)
    bookings: dict = field(default_factory=dict)
    payouts: dict = field(default_factory=dict)


# The expected figures at NOW (paise). Seats: ₹500 → 44,000 earned; ₹400 → 35,200; ₹300 → 26,400;
# ₹200 → 17,600. Gifts: ₹100 → 8,800; ₹50 → 4,400. Refunding ₹250 of a ₹500 seat reverses 22,000.
EXPECTED = {
    # October's held session (17,600) and "Held and settled" (2 × 44,000 + 8,800 − 22,000).
    "settled": 17600 + 74800,
    # "Held and pending" (26,400 + 4,400), one seat of "Disputed" (35,200), "Ahead" (26,400).
    "pending": 30800 + 35200 + 26400,
    "frozen": 35200,
    "paid_out": 50000,
    "in_payout": 20000,
    "available": 17600 + 74800 - 50000 - 20000,
    "earned": 17600 + 74800 + 30800 + 35200 + 26400 + 35200,
    # Held sessions that ended in November (India): settled, pending and disputed.
    "earned_this_month": 74800 + 30800 + 70400,
    "earned_october": 17600,
    "gifts": 8800 + 4400,
    # The November statement: opens with October's 17,600; closes where the money is now.
    "november_opening": 17600,
    "november_closing": 17600 + (2 * 44000 + 26400 + 17600 + 2 * 35200 + 26400) + 13200 - 39600 - 50000,
}


def seed(make_user, clock):
    """Build the market; the clock is left at NOW."""
    mentor = make_user(role="mentor", name="Asha Raman", email="asha@example.com", timezone=TZ)
    admin = make_user(role="admin", name="Ops Admin", email="ops@example.com", timezone=TZ)
    l1, l2, l3, l4 = (
        make_user(name=f"Learner {n}", email=f"l{n}@example.com", timezone=TZ) for n in range(1, 5)
    )
    market = Market(mentor=mentor, admin=admin, learners=[l1, l2, l3, l4])
    s, p, b = market.sessions, market.payments, market.bookings

    clock.move_to(datetime(2026, 10, 15, 6, 0, tzinfo=UTC))
    s["october"] = make_session(
        mentor, title="October talk", price_paise=20000, starts_at=datetime(2026, 10, 20, 4, 30, tzinfo=UTC)
    )
    b["october"], p["october"] = paid_booking(s["october"], l1)
    clock.move_to(datetime(2026, 10, 20, 5, 30, tzinfo=UTC))
    hold(s["october"], datetime(2026, 10, 20, 5, 30, tzinfo=UTC))

    clock.move_to(datetime(2026, 11, 1, 6, 0, tzinfo=UTC))
    s["settled"] = make_session(
        mentor,
        title="Held and settled",
        price_paise=50000,
        starts_at=datetime(2026, 11, 10, 4, 30, tzinfo=UTC),
    )
    s["pending"] = make_session(
        mentor,
        title="Held and pending",
        price_paise=30000,
        starts_at=datetime(2026, 11, 19, 3, 0, tzinfo=UTC),
    )
    s["not_held"] = make_session(
        mentor, title="Not held", price_paise=20000, starts_at=datetime(2026, 11, 15, 4, 30, tzinfo=UTC)
    )
    s["disputed"] = make_session(
        mentor, title="Disputed", price_paise=40000, starts_at=datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    )
    s["ahead"] = make_session(
        mentor, title="Ahead", price_paise=30000, starts_at=datetime(2026, 12, 5, 4, 30, tzinfo=UTC)
    )
    b["settled_l1"], p["settled_l1"] = paid_booking(s["settled"], l1)
    b["settled_l2"], p["settled_l2"] = paid_booking(s["settled"], l2, method="card")
    b["pending_l3"], p["pending_l3"] = paid_booking(s["pending"], l3)
    b["not_held_l1"], p["not_held_l1"] = paid_booking(s["not_held"], l1)
    b["disputed_l2"], p["disputed_l2"] = paid_booking(s["disputed"], l2)
    b["disputed_l3"], p["disputed_l3"] = paid_booking(s["disputed"], l3)
    b["ahead_l4"], p["ahead_l4"] = paid_booking(s["ahead"], l4)

    clock.move_to(datetime(2026, 11, 10, 5, 0, tzinfo=UTC))
    p["gift_settled"] = paid_gift(s["settled"], l1, 10000)
    clock.move_to(datetime(2026, 11, 10, 5, 30, tzinfo=UTC))
    hold(s["settled"], datetime(2026, 11, 10, 5, 30, tzinfo=UTC))

    clock.move_to(datetime(2026, 11, 13, 6, 0, tzinfo=UTC))
    add_upi(mentor)
    paid = earnings.request_payout(mentor, 50000)
    earnings.mark_payout_paid(admin, paid.id, "UTR412345678901")
    market.payouts["paid"] = paid

    clock.move_to(datetime(2026, 11, 14, 6, 0, tzinfo=UTC))
    refund_service.refund_payment(
        p["settled_l2"], 25000, key="admin-settled-l2-1", reason="Half refunded: joined late for a bad line"
    )

    clock.move_to(datetime(2026, 11, 15, 6, 0, tzinfo=UTC))
    # Not held: every learner refunded in full, the session cancelled (as settlement does it).
    refund_service.refund_payment(
        p["not_held_l1"], 20000, key="not-held-l1", reason="The session was not held"
    )
    s["not_held"].status = "cancelled"
    s["not_held"].cancelled_at = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
    db.session.commit()

    clock.move_to(datetime(2026, 11, 18, 11, 0, tzinfo=UTC))
    hold(s["disputed"], datetime(2026, 11, 18, 11, 0, tzinfo=UTC))
    clock.move_to(datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    dispute(b["disputed_l2"], p["disputed_l2"])

    clock.move_to(datetime(2026, 11, 19, 3, 30, tzinfo=UTC))
    p["gift_pending"] = paid_gift(s["pending"], l3, 5000)
    clock.move_to(datetime(2026, 11, 19, 4, 0, tzinfo=UTC))
    hold(s["pending"], datetime(2026, 11, 19, 4, 0, tzinfo=UTC))

    clock.move_to(NOW)
    market.payouts["requested"] = earnings.request_payout(mentor, 20000)
    return market
