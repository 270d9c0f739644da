"""Learners' reported problems and admins' decisions: the report window, one report per booking,
decisions applied once (even from two admins at once), refunds that reverse the fee and the
mentor's share in proportion, notifications and the audit log; and admins refunding any
captured payment (a completed session's booking, a gift) once per request."""

import threading
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import (
    AuditEntry,
    Booking,
    Dispute,
    EntryKind,
    LearningSession,
    LedgerEntry,
    Notification,
    OutboundEmail,
    Payment,
    Refund,
)
from peerlearn.services import admin, disputes, ledger
from peerlearn.services import audit as audit_log
from peerlearn.services import payments as payment_service
from peerlearn.services import refunds as refund_service
from tests.factories import hold, make_session, paid_booking, paid_gift
from tests.races import at_once

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
START = NOW + timedelta(hours=2)
END = START + timedelta(minutes=60)
SETTLES = END + timedelta(hours=48)
PRICE = 49900  # the platform keeps 12 %: 5988, the mentor 43912


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def people(make_user):
    class People:
        admin = make_user(role="admin", name="Ada Admin", email="ada@example.com")
        other_admin = make_user(role="admin", name="Otto Admin", email="otto@example.com")
        mentor = make_user(role="mentor", name="Meera Mentor", email="meera@example.com")
        learner = make_user(name="Lena Learner", email="lena@example.com")
        other = make_user(name="Omar Other", email="omar@example.com")

    return People


@pytest.fixture
def held(clock, people):
    """Lena paid ₹499 for a session that was held; it ended an hour ago."""
    session = make_session(people.mentor, title="Practical Flask", price_paise=PRICE, starts_at=START)
    booking, payment = paid_booking(session, people.learner)
    clock.move_to(END + timedelta(hours=1), tick=False)
    hold(session)
    return booking, payment


def report(people, booking, **overrides):
    values = {"reason": "ended_early", "details": "The mentor left after ten minutes."}
    values.update(overrides)
    return disputes.report(people.learner, booking.id, values["reason"], values["details"])


def earnings_of(mentor_id):
    kinds = (EntryKind.MENTOR_EARNING.value, EntryKind.EARNING_REVERSAL.value)
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)).where(
            LedgerEntry.mentor_id == mentor_id, LedgerEntry.kind.in_(kinds)
        )
    )


def platform_revenue():
    kinds = (EntryKind.PLATFORM_FEE.value, EntryKind.FEE_REVERSAL.value)
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)).where(LedgerEntry.kind.in_(kinds))
    )


def audit(action):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    ).all()


def dispute_notes(user):
    return db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.kind == "dispute_update")
        .order_by(Notification.id)
    ).all()


# ---------------------------------------------------------------------------- reporting


def test_a_report_opens_a_dispute_tells_both_sides_and_is_audited(people, held):
    booking, payment = held
    dispute = report(people, booking, details="  The mentor left after ten minutes.  ")
    assert (dispute.status, dispute.reason, dispute.details) == (
        "open",
        "ended_early",
        "The mentor left after ten minutes.",
    )
    assert (dispute.payment_id, dispute.session_id, dispute.mentor_id) == (
        payment.id,
        booking.session_id,
        people.mentor.id,
    )
    # Nothing is written in the ledger: the open dispute itself freezes the share.
    assert ledger.payment_balance(payment.id) == {
        "payment": 49900,
        "platform_fee": 5988,
        "mentor_earning": 43912,
    }

    [learner_note] = dispute_notes(people.learner)
    [mentor_note] = dispute_notes(people.mentor)
    assert learner_note.url == f"/bookings/{booking.id}"
    assert "Practical Flask" in learner_note.title
    assert "₹439.12" in mentor_note.body and "frozen" in mentor_note.body
    assert "The session ended much too early" in mentor_note.body
    emails = db.session.scalars(select(OutboundEmail).where(OutboundEmail.template == "dispute_update")).all()
    assert sorted(e.to_address for e in emails) == ["lena@example.com", "meera@example.com"]

    [entry] = audit("dispute.open")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (people.learner.id, "dispute", dispute.id)
    assert entry.details["booking_id"] == booking.id and entry.details["amount_paise"] == 49900


def test_the_report_window_closes_exactly_when_the_earnings_settle(people, held, clock):
    booking, _ = held
    clock.move_to(SETTLES - timedelta(seconds=1), tick=False)
    assert disputes.can_report(booking)
    clock.move_to(SETTLES, tick=False)
    assert not disputes.can_report(booking)
    with pytest.raises(Conflict) as caught:
        report(people, booking)
    assert caught.value.code == "report_window_closed"
    db.session.rollback()
    clock.move_to(SETTLES - timedelta(seconds=1), tick=False)
    assert report(people, booking).status == "open"


def test_only_a_paid_booking_of_a_completed_session_can_be_reported(people, clock):
    paid = make_session(people.mentor, price_paise=PRICE, starts_at=START)
    booking, _ = paid_booking(paid, people.learner)
    clock.move_to(START + timedelta(minutes=10), tick=False)
    paid.status = "live"
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        report(people, booking)
    assert caught.value.code == "session_not_completed"

    free = make_session(people.mentor, starts_at=END + timedelta(days=1))
    from peerlearn.services import booking as booking_service

    clock.move_to(NOW, tick=False)
    free_booking, _ = booking_service.book(free.id, people.learner)
    clock.move_to(free.ends_at + timedelta(minutes=5), tick=False)
    hold(free)
    with pytest.raises(Conflict) as caught:
        report(people, free_booking)
    assert caught.value.code == "not_paid"

    cancelled = make_session(people.mentor, status="cancelled", starts_at=NOW - timedelta(days=1))
    cancelled_booking = Booking(session_id=cancelled.id, learner_id=people.learner.id, status="cancelled")
    db.session.add(cancelled_booking)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        report(people, cancelled_booking)
    assert caught.value.code == "session_cancelled"
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_a_booking_refunded_in_full_has_nothing_left_to_dispute(people, held):
    booking, payment = held
    refund_service.refund_payment(payment, PRICE, key="test-full-refund", reason="goodwill")
    with pytest.raises(Conflict) as caught:
        report(people, booking)
    assert caught.value.code == "not_paid"


def test_one_report_per_booking_and_only_by_its_learner(people, held):
    booking, _ = held
    with pytest.raises(NotFound):
        disputes.report(people.other, booking.id, "technical", "Someone else's booking, surely.")
    with pytest.raises(NotFound):
        disputes.report(people.mentor, booking.id, "technical", "The mentor reporting their own.")
    first = report(people, booking)
    with pytest.raises(Conflict) as caught:
        report(people, booking, reason="technical", details="A second, different report.")
    assert caught.value.code == "already_reported"
    db.session.rollback()
    assert db.session.scalars(select(Dispute.id)).all() == [first.id]
    assert len(audit("dispute.open")) == 1


def test_the_unique_index_answers_a_double_click_that_passed_the_check(people, held, monkeypatch):
    """Both clicks saw no report yet; the database keeps it to one."""
    booking, _ = held
    report(people, booking)
    monkeypatch.setattr(disputes, "for_booking", lambda booking_id: None)
    with pytest.raises(Conflict) as caught:
        report(people, booking)
    assert caught.value.code == "already_reported"
    assert db.session.scalar(select(func.count(Dispute.id))) == 1


@pytest.mark.parametrize(
    ("reason", "details", "field"),
    [
        ("ended_early", "too short", "details"),
        ("ended_early", "x" * 2001, "details"),
        ("ended_early", None, "details"),
        ("bored", "A reason that is not on the list.", "reason"),
        (None, "A reason that is not on the list.", "reason"),
    ],
)
def test_a_report_needs_a_listed_reason_and_10_to_2000_characters(people, held, reason, details, field):
    booking, _ = held
    with pytest.raises(ValidationError) as caught:
        disputes.report(people.learner, booking.id, reason, details)
    assert field in caught.value.fields
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_an_empty_report_names_both_problems_at_once(people, held):
    booking, _ = held
    with pytest.raises(ValidationError) as caught:
        disputes.report(people.learner, booking.id, "", "")
    assert set(caught.value.fields) == {"reason", "details"}


# ---------------------------------------------------------------------------- deciding


def test_a_partial_refund_reverses_fee_and_earning_in_proportion(people, held):
    booking, payment = held
    dispute = report(people, booking)
    earned_before, revenue_before = earnings_of(people.mentor.id), platform_revenue()
    assert (earned_before, revenue_before) == (43912, 5988)

    decided = disputes.decide(
        people.admin, dispute.id, "refund_partial", 20000, reason="Ended 20 minutes early."
    )

    assert decided.status == "partially_refunded" and decided.refund_paise == 20000
    assert decided.decided_by_id == people.admin.id and decided.decided_at is not None
    assert decided.decision_reason == "Ended 20 minutes early."
    refund = db.session.get(Refund, decided.refund_id)
    assert (refund.amount_paise, refund.status, refund.idempotency_key) == (
        20000,
        "processed",
        f"dispute-{dispute.id}-refund",
    )
    db.session.refresh(payment)
    assert payment.status == "partially_refunded" and payment.refunded_paise == 20000

    # ₹200 back: 12 % of it (₹24) from the platform's fee, the rest (₹176) from the mentor's share.
    assert earnings_of(people.mentor.id) - earned_before == -17600
    assert platform_revenue() - revenue_before == -2400
    assert ledger.payment_balance(payment.id) == {
        "payment": 49900,
        "platform_fee": 5988,
        "mentor_earning": 43912,
        "refund": -20000,
        "fee_reversal": -2400,
        "earning_reversal": -17600,
    }
    assert ledger.check_payment_invariant(payment) == []
    assert ledger.all_payments_balance() == []

    learner_note = dispute_notes(people.learner)[-1]
    mentor_note = dispute_notes(people.mentor)[-1]
    assert "₹200" in learner_note.body and "of the ₹499" in learner_note.body
    assert "Reason: Ended 20 minutes early." in learner_note.body
    assert "₹176" in mentor_note.body and "Reason: Ended 20 minutes early." in mentor_note.body
    refund_emails = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.template == "refund_processed")
    ).all()
    assert [e.to_address for e in refund_emails] == ["lena@example.com"]
    [entry] = audit("dispute.decide")
    assert entry.actor_id == people.admin.id and entry.target_id == dispute.id
    assert entry.details["refund_paise"] == 20000 and entry.details["mentor_share_paise"] == 17600
    assert entry.details["refund_id"] == refund.id


def test_a_full_refund_gives_back_everything_and_a_release_nothing(people, held, make_user):
    booking, payment = held
    dispute = report(people, booking)
    decided = disputes.decide(people.admin, dispute.id, "refund_full", reason="The mentor never came.")
    assert decided.status == "refunded" and decided.refund_paise == PRICE
    db.session.refresh(payment)
    assert payment.status == "refunded"
    assert earnings_of(people.mentor.id) == 0 and platform_revenue() == 0
    assert ledger.all_payments_balance() == []

    second = make_user(name="Sam Second")
    session = make_session(people.mentor, price_paise=PRICE, starts_at=SETTLES + timedelta(days=1))
    from peerlearn.models import utcnow

    other_booking, other_payment = paid_booking(session, second)
    hold(session)
    other = disputes.report(second, other_booking.id, "technical", "My audio kept dropping out.")
    released = disputes.decide(
        people.other_admin, other.id, "release", 5000, reason="The room logs look fine."
    )
    assert released.status == "released" and released.refund_paise == 0 and released.refund_id is None
    assert db.session.scalar(select(func.count(Refund.id)).where(Refund.payment_id == other_payment.id)) == 0
    assert "No refund" in dispute_notes(second)[-1].body
    assert utcnow() < session.settles_at


def test_a_decision_is_final(people, held):
    booking, _ = held
    dispute = report(people, booking)
    disputes.decide(people.admin, dispute.id, "release", reason="Fine.")
    with pytest.raises(Conflict) as caught:
        disputes.decide(people.other_admin, dispute.id, "refund_full", reason="Changed my mind.")
    assert caught.value.code == "dispute_decided"
    assert db.session.scalar(select(func.count(Refund.id))) == 0


@pytest.mark.parametrize(
    ("outcome", "amount", "reason", "field"),
    [
        ("refund_partial", None, "Partly", "amount_paise"),
        ("refund_partial", 99, "Partly", "amount_paise"),
        ("refund_partial", PRICE + 1, "Partly", "amount_paise"),
        ("refund_partial", "100", "Partly", "amount_paise"),
        ("refund_everything", None, "Hmm", "outcome"),
        ("refund_full", None, "  ", "reason"),
        ("release", None, "x" * 501, "reason"),
    ],
)
def test_a_decision_needs_an_outcome_a_valid_amount_and_a_reason(
    people, held, outcome, amount, reason, field
):
    booking, _ = held
    dispute = report(people, booking)
    with pytest.raises(ValidationError) as caught:
        disputes.decide(people.admin, dispute.id, outcome, amount, reason=reason)
    assert field in caught.value.fields
    db.session.rollback()
    assert db.session.get(Dispute, dispute.id).status == "open"


def test_only_admins_decide(people, held):
    booking, _ = held
    dispute = report(people, booking)
    for who in (people.mentor, people.learner, None):
        with pytest.raises(PermissionDenied):
            disputes.decide(who, dispute.id, "refund_full", reason="Mine now.")
    with pytest.raises(NotFound):
        disputes.decide(people.admin, 999_999, "refund_full", reason="Nothing there.")
    assert db.session.get(Dispute, dispute.id).status == "open"


def test_an_admin_who_teaches_never_decides_their_own_case(people, make_user, clock):
    teaching_admin = make_user(role="admin", mentor=True, name="Tara Teaching-Admin")
    session = make_session(teaching_admin, price_paise=PRICE, starts_at=START)
    booking, payment = paid_booking(session, people.learner)
    clock.move_to(END + timedelta(hours=1), tick=False)
    hold(session)
    dispute = report(people, booking)
    with pytest.raises(PermissionDenied) as caught:
        disputes.decide(teaching_admin, dispute.id, "release", reason="Looks fine to me.")
    assert caught.value.code == "own_dispute"
    assert disputes.decide(people.admin, dispute.id, "release", reason="Looks fine.").status == "released"
    with pytest.raises(PermissionDenied) as caught:
        admin.refund_payment(people.learner, payment.id, reason="Mine", request_key="nonce-own-1")
    learning_admin_payment = paid_booking(
        make_session(people.mentor, price_paise=PRICE, starts_at=SETTLES + timedelta(days=2)), people.admin
    )[1]
    with pytest.raises(PermissionDenied) as caught:
        admin.refund_payment(
            people.admin, learning_admin_payment.id, reason="Mine", request_key="nonce-own-2"
        )
    assert caught.value.code == "own_payment"


def test_a_partial_refund_can_take_all_that_is_left_after_an_earlier_refund(people, held):
    booking, payment = held
    dispute = report(people, booking)
    admin.refund_payment(
        people.admin, payment.id, amount_paise=10000, reason="Goodwill", request_key="nonce-0001"
    )
    db.session.refresh(payment)
    with pytest.raises(ValidationError):
        disputes.decide(people.admin, dispute.id, "refund_partial", 39901, reason="Too much")
    db.session.rollback()
    decided = disputes.decide(people.admin, dispute.id, "refund_full", reason="The rest")
    assert decided.refund_paise == 39900 and decided.status == "refunded"
    db.session.refresh(payment)
    assert payment.status == "refunded" and ledger.all_payments_balance() == []
    assert earnings_of(people.mentor.id) == 0


def test_two_admins_deciding_at_once_apply_one_decision(threaded_app, monkeypatch, time_machine):
    """Both admins load the open dispute before either decides; the conditional update lets one
    through and tells the other. Runs on PostgreSQL too when TEST_DATABASE_URL is set."""
    from tests.factories import UserFactory

    time_machine.move_to(NOW, tick=False)
    admins = [UserFactory(role="admin").id, UserFactory(role="admin").id]
    mentor, learner = UserFactory(role="mentor"), UserFactory()
    session = make_session(mentor, price_paise=PRICE, starts_at=START)
    booking, payment = paid_booking(session, learner)
    time_machine.move_to(END + timedelta(hours=1), tick=False)
    hold(session)
    dispute_id = disputes.report(learner, booking.id, "mentor_absent", "The mentor never turned up.").id
    payment_id, mentor_id = payment.id, mentor.id
    db.session.remove()

    both_loaded = threading.Barrier(2, timeout=10)
    load = disputes.get

    def loaded_together(dispute_id):
        dispute = load(dispute_id)
        both_loaded.wait()
        return dispute

    monkeypatch.setattr(disputes, "get", loaded_together)

    def decide(admin_user, outcome, amount):
        done = disputes.decide(admin_user, dispute_id, outcome, amount, reason="Looked at the room.")
        return ("decided", done.status)

    outcomes = at_once(
        threaded_app,
        [
            (admins[0], partial(decide, outcome="refund_partial", amount=20000)),
            (admins[1], partial(decide, outcome="refund_full", amount=None)),
        ],
    )

    assert sorted(kind for kind, _ in outcomes) == ["decided", "refused"]
    assert ("refused", "dispute_decided") in outcomes
    dispute = db.session.get(Dispute, dispute_id)
    # Whichever admin won, one refund of what they chose, and the ledger follows it exactly.
    [refund] = db.session.scalars(select(Refund).where(Refund.payment_id == payment_id)).all()
    assert (refund.amount_paise, refund.status) == (dispute.refund_paise, "processed")
    assert db.session.get(Payment, payment_id).refunded_paise == dispute.refund_paise
    assert len(audit("dispute.decide")) == 1
    assert ledger.all_payments_balance() == []
    left_to_mentor = {20000: 43912 - 17600, PRICE: 0}[dispute.refund_paise]
    assert earnings_of(mentor_id) == left_to_mentor


# ---------------------------------------------------------------------------- admins' refunds


def test_an_admin_refunds_a_completed_sessions_booking_once_per_request(people, held):
    booking, payment = held
    refund, created = admin.refund_payment(
        people.admin,
        payment.id,
        reason="Mentor asked us to",
        request_key="form-nonce-1",
        origin=audit_log.Origin("203.0.113.9"),
    )
    again, created_again = admin.refund_payment(
        people.admin, payment.id, reason="Mentor asked us to", request_key="form-nonce-1"
    )
    assert created and not created_again and again.id == refund.id
    assert refund.amount_paise == PRICE and refund.status == "processed"  # the refundable remainder
    db.session.refresh(payment)
    assert payment.status == "refunded" and ledger.all_payments_balance() == []
    assert earnings_of(people.mentor.id) == 0
    assert db.session.get(Booking, booking.id).status == "attended"  # money only
    [entry] = audit("payment.refund")
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.ip_address) == (
        people.admin.id,
        "payment",
        payment.id,
        "203.0.113.9",
    )
    assert entry.details["reason"] == "Mentor asked us to" and entry.details["amount_paise"] == PRICE
    emails = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.template == "refund_processed")
    ).all()
    assert [e.to_address for e in emails] == ["lena@example.com"]
    with pytest.raises(Conflict) as caught:
        admin.refund_payment(people.admin, payment.id, reason="Again", request_key="form-nonce-2")
    assert caught.value.code == "nothing_to_refund"


def test_a_refund_after_the_payout_leaves_the_mentor_owing(people, held):
    from peerlearn.models import Payout

    _booking, payment = held
    payout = Payout(mentor_id=people.mentor.id, amount_paise=43912, status="paid", reference="UTR1")
    db.session.add(payout)
    db.session.flush()
    db.session.add(
        LedgerEntry(kind="payout", amount_paise=-43912, payout_id=payout.id, mentor_id=people.mentor.id)
    )
    db.session.commit()
    admin.refund_payment(
        people.admin, payment.id, amount_paise=30000, reason="Complaint", request_key="nonce-after-payout"
    )
    kinds = ("mentor_earning", "earning_reversal", "payout")
    balance = db.session.scalar(
        select(func.sum(LedgerEntry.amount_paise)).where(
            LedgerEntry.mentor_id == people.mentor.id, LedgerEntry.kind.in_(kinds)
        )
    )
    assert balance == -(30000 - 3600)  # paid out, then ₹300 refunded: the mentor owes their ₹264
    assert ledger.all_payments_balance() == []


def test_an_admin_refunds_part_of_a_gift(people, held):
    _booking, booking_payment = held
    gift_payment = paid_gift(booking_payment.booking.session, people.learner, 25000)
    assert gift_payment.status == "captured"

    refund, created = admin.refund_payment(
        people.admin,
        gift_payment.id,
        amount_paise=10000,
        reason="Sent by mistake",
        request_key="gift-nonce-1",
    )
    assert created and refund.status == "processed"
    assert ledger.payment_balance(gift_payment.id) == {
        "payment": 25000,
        "platform_fee": 3000,
        "mentor_earning": 22000,
        "refund": -10000,
        "fee_reversal": -1200,
        "earning_reversal": -8800,
    }
    assert ledger.all_payments_balance() == []


def test_admin_refunds_are_checked(people, held, clock):
    _booking, payment = held
    with pytest.raises(PermissionDenied):
        admin.refund_payment(people.mentor, payment.id, reason="Mine", request_key="nonce-mentor")
    with pytest.raises(ValidationError) as caught:
        admin.refund_payment(people.admin, payment.id, reason="", request_key="nonce-0002")
    assert "reason" in caught.value.fields
    with pytest.raises(ValidationError) as caught:
        admin.refund_payment(people.admin, payment.id, reason="Bad key", request_key="short")
    assert "idempotency_key" in caught.value.fields
    for amount in (99, PRICE + 1, True, "100"):
        with pytest.raises(ValidationError) as caught:
            admin.refund_payment(
                people.admin, payment.id, amount_paise=amount, reason="Odd", request_key="nonce-0003"
            )
        assert "amount_paise" in caught.value.fields
    with pytest.raises(NotFound):
        admin.refund_payment(people.admin, 999_999, reason="None", request_key="nonce-0004")
    session = make_session(people.mentor, price_paise=PRICE, starts_at=SETTLES + timedelta(days=3))
    from peerlearn.services import booking as booking_service

    held_seat, _ = booking_service.book(session.id, people.other)
    unpaid = payment_service.start_booking_payment(people.other, held_seat.id)
    with pytest.raises(Conflict) as caught:
        admin.refund_payment(people.admin, unpaid.id, reason="Nothing paid", request_key="nonce-0005")
    assert caught.value.code == "not_captured"
    assert db.session.scalar(select(func.count(Refund.id))) == 0 and audit("payment.refund") == []
    assert db.session.get(LearningSession, session.id).status == "scheduled"


def test_a_report_freezes_the_bookings_share_until_the_decision(people, held, clock):
    """The money states read the open dispute (services.earnings): frozen, then settled as usual."""
    from peerlearn.services import earnings

    booking, _ = held
    assert earnings.summary(people.mentor.id)["frozen_paise"] == 0
    dispute = report(people, booking)
    frozen = earnings.summary(people.mentor.id)
    assert frozen["frozen_paise"] == 43912 and frozen["available_paise"] == 0
    disputes.decide(people.admin, dispute.id, "release", reason="The room shows a full session.")
    assert earnings.summary(people.mentor.id)["frozen_paise"] == 0
    clock.move_to(SETTLES, tick=False)
    assert earnings.summary(people.mentor.id)["available_paise"] == 43912
