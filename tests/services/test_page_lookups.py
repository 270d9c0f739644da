"""What the pages and the email job ask the services for, now that they query nothing themselves:
a mentor's public profile, a session's seat counts, the sessions made from requests, the payout
queue, and an outbound email's claim, release and delivery."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from peerlearn.extensions import db
from peerlearn.models import Booking, OutboundEmail, Payout, SessionRequest, utcnow
from peerlearn.models.email import DropReason
from peerlearn.services import admin as admin_service
from peerlearn.services import mail as mail_service
from peerlearn.services import people
from peerlearn.services import session_requests as requests_service
from peerlearn.services import sessions as session_service
from peerlearn.services.mail import Claim
from tests.factories import make_session, queued_email


def test_a_public_profile_is_found_only_for_an_active_mentor(app, make_user):
    mentor = make_user(role="mentor")
    suspended = make_user(role="mentor", suspended_at=utcnow())
    learner = make_user()
    assert people.find_active_mentor(mentor.id) is mentor
    assert people.find_active_mentor(suspended.id) is None
    assert people.find_active_mentor(learner.id) is None
    assert people.find_active_mentor(mentor.id + 1000) is None


def test_seat_counts_name_who_holds_a_seat_and_who_paid(app, make_user):
    session = make_session(make_user(role="mentor"), capacity=10, price_paise=50_000)
    hold_until = utcnow() + timedelta(minutes=10)
    for status, amount in [
        ("pending_payment", 50_000),
        ("confirmed", 50_000),
        ("confirmed", 50_000),
        ("confirmed", 0),  # a seat given free (a request's session was free then)
        ("cancelled", 50_000),
        ("expired", 50_000),
    ]:
        db.session.add(
            Booking(
                session_id=session.id,
                learner_id=make_user().id,
                status=status,
                amount_paise=amount,
                hold_expires_at=hold_until if status == "pending_payment" else None,
            )
        )
    db.session.commit()
    assert session_service.booked_count(session) == 4
    assert session_service.paid_booking_count(session) == 2
    other = make_session(session.mentor)
    assert (session_service.booked_count(other), session_service.paid_booking_count(other)) == (0, 0)
    assert session_service.find_session(session.id) == session
    assert session_service.find_session(other.id + 1000) is None


def test_the_sessions_made_from_requests_are_found_by_their_requests(app, make_user):
    mentor, learner = make_user(role="mentor"), make_user()
    made = [make_session(mentor, capacity=1) for _ in range(2)]
    now = utcnow()
    requests = [
        SessionRequest(
            learner_id=learner.id,
            mentor_id=mentor.id,
            topic="Flask",
            message="",
            preferred_times=[],
            status=status,
            session_id=session_id,
            created_at=now,
            expires_at=now + timedelta(days=3),
        )
        for status, session_id in [("accepted", made[0].id), ("pending", None), ("accepted", made[1].id)]
    ]
    db.session.add_all(requests)
    db.session.commit()
    assert requests_service.made_sessions(requests) == {made[0].id: made[0], made[1].id: made[1]}
    assert requests_service.made_sessions([requests[1]]) == {}


def test_the_payout_queue_is_the_requested_payouts_oldest_first(app, make_user):
    mentor = make_user(role="mentor")
    now = utcnow()

    def payout(status, minutes_ago):
        row = Payout(
            mentor_id=mentor.id,
            amount_paise=10_000,
            status=status,
            reference="UTR123" if status == "paid" else "",
            created_at=now - timedelta(minutes=minutes_ago),
        )
        db.session.add(row)
        return row

    newer, decided, older = payout("requested", 5), payout("paid", 30), payout("requested", 60)
    db.session.commit()
    assert admin_service.requested_payouts() == [older, newer]
    assert decided not in admin_service.requested_payouts()


def row(email_id):
    db.session.expire_all()
    return db.session.get(OutboundEmail, email_id)


def test_a_claim_counts_the_try_and_marks_the_email_taken(app):
    email_id = queued_email()
    email, claim = mail_service.claim_to_send(email_id)
    assert claim is Claim.SEND and email.id == email_id
    claimed = row(email_id)
    assert claimed.attempts == 1 and claimed.claimed_at is not None and claimed.status == "queued"
    # A second run while the claim is fresh leaves it to the first.
    assert mail_service.claim_to_send(email_id)[1] is Claim.TAKEN
    assert row(email_id).attempts == 1
    assert email_id not in mail_service.sendable_ids(10)

    mail_service.release_claim(row(email_id), ConnectionRefusedError("mail server down"))
    released = row(email_id)
    assert released.claimed_at is None and released.last_error == "ConnectionRefusedError: mail server down"
    assert email_id in mail_service.sendable_ids(10)

    assert mail_service.claim_to_send(email_id)[1] is Claim.SEND
    mail_service.mark_sent(email_id)
    sent = row(email_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, "")
    assert sent.sent_at is not None
    assert mail_service.claim_to_send(email_id)[1] is Claim.NOT_DUE
    assert email_id not in mail_service.sendable_ids(10)


def test_missing_held_and_worn_out_emails_are_not_sent(app):
    assert mail_service.claim_to_send(999_999) == (None, Claim.NOT_DUE)

    held = queued_email(send_after=utcnow() + timedelta(minutes=5))
    assert mail_service.claim_to_send(held)[1] is Claim.NOT_DUE
    assert row(held).attempts == 0
    assert held not in mail_service.sendable_ids(10)

    worn = queued_email(attempts=mail_service.MAX_ATTEMPTS)
    assert mail_service.claim_to_send(worn)[1] is Claim.GAVE_UP
    assert row(worn).status == "failed"
    assert worn not in mail_service.sendable_ids(10)


def test_a_refusal_is_asked_in_the_claim_and_drops_the_email(app):
    email_id = queued_email()
    seen = []

    def over_cap(email, now):
        # Asked after the claim landed, before it commits: the email is claimed already.
        seen.append((email.id, email.attempts, email.claimed_at == now))
        return DropReason.RECIPIENT_CAP

    assert mail_service.claim_to_send(email_id, refusal=over_cap)[1] is Claim.DROPPED
    dropped = row(email_id)
    assert (dropped.status, dropped.drop_reason, dropped.claimed_at) == ("dropped", "recipient_cap", None)
    assert seen == [(email_id, 1, True)]


def test_a_lapsed_claim_is_claimed_again(app):
    email_id = queued_email()
    lapsed = utcnow() - timedelta(seconds=app.config["EMAIL_CLAIM_SECONDS"] + 1)
    db.session.execute(
        update(OutboundEmail).where(OutboundEmail.id == email_id).values(attempts=1, claimed_at=lapsed)
    )
    db.session.commit()
    assert mail_service.sendable_ids(10) == [email_id]
    assert mail_service.claim_to_send(email_id)[1] is Claim.SEND
    assert row(email_id).attempts == 2


@pytest.mark.parametrize("limit", [1, 2])
def test_the_sweep_takes_the_oldest_queued_emails_up_to_its_limit(app, limit):
    ids = [queued_email() for _ in range(3)]
    assert mail_service.sendable_ids(limit) == ids[:limit]
