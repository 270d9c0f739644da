"""Cancelling at once: learners cancelling their bookings while the session is cancelled, and
admins cancelling one session together. Every path locks the session row first, so none
deadlocks, and a session is cancelled by one conditional update: one winner, who alone refunds,
notifies and audits; the others are refused with a 409.

The races run on a SQLite file, or on PostgreSQL when TEST_DATABASE_URL is set (where taking the
locks in opposite orders deadlocked).
"""

from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import (
    AuditEntry,
    AuthKind,
    Booking,
    LearningSession,
    OutboundEmail,
    Payment,
    Refund,
)
from peerlearn.services import admin as admin_service
from peerlearn.services import auth as auth_service
from peerlearn.services import ledger
from peerlearn.services import payments as payment_service
from tests.factories import UserFactory, make_session, paid_booking
from tests.races import at_once


def emails(subject_prefix):
    return db.session.scalars(
        select(OutboundEmail.to_address).where(OutboundEmail.subject.startswith(subject_prefix))
    ).all()


def bearer(user):
    return {"Authorization": "Bearer " + auth_service.start_session(user, AuthKind.API).raw_token}


def test_seven_admins_cancelling_one_session_cancel_it_once(threaded_app):
    mentor = UserFactory(role="mentor", email="mentor@example.com")
    session = make_session(mentor, title="Busy class", price_paise=50000)
    learners = [UserFactory() for _ in range(3)]
    payments = [paid_booking(session, learner)[1].id for learner in learners]
    learner_emails = [learner.email for learner in learners]
    admins = [UserFactory(role="admin").id for _ in range(7)]
    session_id = session.id
    db.session.remove()

    def cancel(admin):
        cancelled = admin_service.cancel_session(admin, session_id, f"Cancelled by admin {admin.id}")
        return ("cancelled", cancelled.id)

    outcomes = at_once(threaded_app, [(admin_id, cancel) for admin_id in admins])

    assert sorted(outcomes) == [("cancelled", session_id)] + [("refused", "not_cancellable")] * 6
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "session.cancel")).all()
    assert entry.details["previous_status"] == "scheduled"
    session = db.session.get(LearningSession, session_id)
    assert session.status == "cancelled" and session.cancel_reason == entry.details["reason"]
    # One set of emails: the mentor hears it once, each learner once.
    assert sorted(emails("Session cancelled:")) == sorted(["mentor@example.com", *learner_emails])
    assert db.session.scalar(select(func.count(Refund.id))) == 3
    payment_service.reconcile_open_payments()  # sends a refund a busy SQLite file held up
    for payment_id in payments:
        payment = db.session.get(Payment, payment_id)
        assert payment.refunded_paise == 50000 and payment.status == "refunded"
        assert ledger.check_payment_invariant(payment) == []


def test_learners_cancelling_while_the_session_is_cancelled(threaded_app):
    """Each learner's cancel and the mentor's cancel of the session meet on the same rows; in the
    end every booking is cancelled once, every payment refunded once and in full (the session is
    three days away, so a learner's own cancel is refunded in full too), each learner is told
    once, and the ledger balances. Three rounds, as the deadlock needed the right interleaving."""
    for round_number in range(3):
        _learners_and_mentor_cancel_at_once(threaded_app, f"Crowded class {round_number}")


def _learners_and_mentor_cancel_at_once(app, title):
    db.session.remove()
    mentor = UserFactory(role="mentor")
    session = make_session(mentor, title=title, price_paise=40000, capacity=8)
    booked = [paid_booking(session, UserFactory()) for _ in range(8)]
    session_id, mentor_id = session.id, mentor.id
    learner_emails = [booking.learner.email for booking, _ in booked]
    payment_ids = [payment.id for _, payment in booked]
    # Over the API, as the learners' and the mentor's apps would: each request its own context.
    requests = {
        user.id: (path, bearer(user))
        for user, path in [
            *((booking.learner, f"/api/bookings/{booking.id}/cancel/") for booking, _ in booked),
            (mentor, f"/api/sessions/{session_id}/cancel/"),
        ]
    }
    db.session.remove()

    def cancel(user):
        path, headers = requests[user.id]
        response = app.test_client().post(path, json={"reason": "Can't make it"}, headers=headers)
        body = response.get_json(silent=True) or {}
        return ("session" if user.id == mentor_id else "booking", response.status_code, body.get("error"))

    outcomes = at_once(app, [(user_id, cancel) for user_id in requests])

    assert len(outcomes) == 9
    assert ("session", 200, None) in outcomes
    # A learner whose booking the session's cancellation took first is told it is cancelled.
    refused = [error["code"] for kind, status, error in outcomes if kind == "booking" and status != 200]
    assert refused == ["not_cancellable"] * len(refused)
    assert sorted(status for _, status, _ in outcomes) == [200] * (9 - len(refused)) + [409] * len(refused)
    db.session.expire_all()
    session = db.session.get(LearningSession, session_id)
    assert session.status == "cancelled" and session.seats_taken == 0
    rows = db.session.scalars(select(Booking).where(Booking.session_id == session_id)).all()
    assert {row.status for row in rows} == {"cancelled"}
    told = emails(f"Cancelled: {title}") + emails(f"Session cancelled: {title}")
    assert sorted(told) == sorted(learner_emails)
    for payment_id in payment_ids:
        [refund] = db.session.scalars(select(Refund).where(Refund.payment_id == payment_id)).all()
        assert refund.amount_paise == 40000
        assert db.session.get(Payment, payment_id).refunded_paise == 40000
    # A refund whose sending met a busy SQLite file is still pending: the reconciler sends it.
    payment_service.reconcile_open_payments()
    db.session.expire_all()
    for payment_id in payment_ids:
        payment = db.session.get(Payment, payment_id)
        assert payment.status == "refunded" and ledger.check_payment_invariant(payment) == []
