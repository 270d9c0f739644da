"""The admins' service: suspensions end every sign-in, verification, session cancellation with
refunds, hiding reviews, the list filters, and an audit entry committed with each action."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerlearn import formats
from peerlearn.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import (
    AuditEntry,
    AuthKind,
    AuthSession,
    Booking,
    Notification,
    Payment,
    Refund,
    Review,
    utcnow,
)
from peerlearn.services import admin, audit, auth, search
from peerlearn.services import booking as booking_service
from tests.factories import make_session, paid_booking

HERE = audit.Origin("203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")


@pytest.fixture
def people(make_user):
    class People:
        boss = make_user(role="admin", name="Ada Admin", email="ada@example.com")
        other_admin = make_user(role="admin", name="Otto Admin", email="otto@example.com")
        mentor = make_user(role="mentor", name="Meera Mentor", email="meera@example.com")
        learner = make_user(role="learner", name="Lena Learner", email="lena@example.com")

    return People


def audit_entries(**where):
    query = select(AuditEntry).order_by(AuditEntry.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return db.session.scalars(query).all()


# ---------------------------------------------------------------------------- suspension


def test_suspending_ends_every_sign_in_and_is_audited(people):
    auth.start_session(people.learner, AuthKind.WEB)
    token = auth.start_session(people.learner, AuthKind.API).raw_token
    auth.start_session(people.mentor, AuthKind.WEB)

    admin.suspend_user(people.boss, people.learner.id, "  Spam in chat  ", origin=HERE)

    db.session.expire_all()
    learner = db.session.get(type(people.learner), people.learner.id)
    assert learner.suspended_at is not None and learner.suspension_reason == "Spam in chat"
    remaining = db.session.scalars(select(AuthSession.user_id)).all()
    assert remaining == [people.mentor.id]  # the mentor's sign-in is untouched
    assert auth.user_for_token(token, AuthKind.API) is None
    [entry] = audit_entries()
    assert (entry.actor_id, entry.action, entry.target_type, entry.target_id) == (
        people.boss.id,
        "user.suspend",
        "user",
        people.learner.id,
    )
    assert entry.details == {"reason": "Spam in chat", "signed_out": 2}
    assert entry.ip_address == "203.0.113.7" and "Firefox" in entry.user_agent


def test_a_suspended_user_cannot_sign_in_until_the_suspension_is_lifted(people):
    admin.suspend_user(people.boss, people.learner.id, "Chargebacks")
    with pytest.raises(PermissionDenied):
        auth.authenticate(people.learner.email, "correct-horse-battery")

    admin.unsuspend_user(people.boss, people.learner.id, origin=HERE)
    assert auth.authenticate(people.learner.email, "correct-horse-battery").id == people.learner.id
    assert people.learner.suspension_reason == ""
    assert [e.action for e in audit_entries(target_id=people.learner.id)] == [
        "user.suspend",
        "user.unsuspend",
    ]
    assert audit_entries(action="user.unsuspend")[0].details == {"previous_reason": "Chargebacks"}


@pytest.mark.parametrize("target", ["boss", "other_admin"])
def test_admins_cannot_suspend_themselves_or_other_admins(people, target):
    victim = getattr(people, target)
    auth.start_session(victim, AuthKind.WEB)
    with pytest.raises(PermissionDenied) as caught:
        admin.suspend_user(people.boss, victim.id, "No")
    assert caught.value.code == ("cannot_suspend_self" if target == "boss" else "cannot_suspend_admin")
    db.session.rollback()
    assert db.session.get(type(victim), victim.id).suspended_at is None
    assert db.session.scalar(select(func.count(AuthSession.id))) == 1
    assert audit_entries() == []


def test_suspension_needs_a_reason_an_admin_and_an_active_account(people):
    for reason in ("", "   ", None, 42, "x" * 501):
        with pytest.raises(ValidationError) as caught:
            admin.suspend_user(people.boss, people.learner.id, reason)
        assert "reason" in caught.value.fields
    with pytest.raises(PermissionDenied):
        admin.suspend_user(people.mentor, people.learner.id, "Because")
    with pytest.raises(NotFound):
        admin.suspend_user(people.boss, 999_999, "Because")
    admin.suspend_user(people.boss, people.learner.id, "Because")
    with pytest.raises(Conflict):
        admin.suspend_user(people.boss, people.learner.id, "Again")
    db.session.rollback()
    with pytest.raises(Conflict):
        admin.unsuspend_user(people.boss, people.mentor.id)
    db.session.rollback()
    assert len(audit_entries()) == 1


# ---------------------------------------------------------------------------- verification


def test_verifying_a_mentor_and_taking_it_back(people):
    admin.verify_mentor(people.boss, people.mentor.id, origin=HERE)
    assert people.mentor.mentor_verified_at is not None
    with pytest.raises(Conflict):
        admin.verify_mentor(people.boss, people.mentor.id)
    db.session.rollback()
    admin.unverify_mentor(people.boss, people.mentor.id)
    assert people.mentor.mentor_verified_at is None
    with pytest.raises(Conflict) as caught:
        admin.verify_mentor(people.boss, people.learner.id)
    assert caught.value.code == "not_a_mentor_account"
    db.session.rollback()
    assert [e.action for e in audit_entries()] == ["mentor.verify", "mentor.unverify"]


def test_verified_only_listing_hides_unverified_mentors_sessions(app, people, make_user):
    checked = make_user(role="mentor", name="Checked Mentor", mentor_verified_at=utcnow())
    listed = make_session(checked, title="From a verified mentor")
    unlisted = make_session(people.mentor, title="From an unverified mentor")
    suspended = make_user(role="mentor", mentor_verified_at=utcnow(), suspended_at=utcnow())
    make_session(suspended, title="From a suspended mentor")

    def titles():
        items, _total = search.search_sessions(search.parse_search_params({}))
        return {item.title for item in items}

    assert app.config["LIST_VERIFIED_MENTORS_ONLY"] is False
    assert titles() == {listed.title, unlisted.title}

    app.config["LIST_VERIFIED_MENTORS_ONLY"] = True
    assert titles() == {listed.title}
    assert [s.title for s in search.featured_sessions()] == [listed.title]
    admin.verify_mentor(people.boss, people.mentor.id)
    assert titles() == {listed.title, unlisted.title}


# ---------------------------------------------------------------------------- sessions


def test_cancelling_a_paid_session_refunds_everyone_and_is_audited(people, make_user):
    session = make_session(people.mentor, title="Paid class", price_paise=50000)
    other = make_user()
    _, first = paid_booking(session, people.learner)
    _, second = paid_booking(session, other)

    admin.cancel_session(people.boss, session.id, "Mentor is unwell", origin=HERE)

    db.session.expire_all()
    assert session.status == "cancelled" and session.cancel_reason == "Mentor is unwell"
    bookings = db.session.scalars(select(Booking).where(Booking.session_id == session.id)).all()
    assert {b.status for b in bookings} == {"cancelled"}
    assert {b.cancelled_by_id for b in bookings} == {people.boss.id}
    refunds = db.session.scalars(select(Refund).order_by(Refund.payment_id)).all()
    assert [(r.payment_id, r.amount_paise) for r in refunds] == [(first.id, 50000), (second.id, 50000)]
    assert {p.refunded_paise for p in db.session.scalars(select(Payment))} == {50000}
    [entry] = audit_entries(action="session.cancel")
    assert entry.target_id == session.id and entry.details["reason"] == "Mentor is unwell"
    assert entry.details["previous_status"] == "scheduled"
    [note] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == people.mentor.id, Notification.kind == "session_cancelled"
        )
    ).all()
    assert note.title == "Session cancelled by an admin: Paid class" and "Mentor is unwell" in note.body
    # The learners hear it from PeerLearn, not as if their mentor had cancelled.
    [told] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == people.learner.id, Notification.kind == "session_cancelled"
        )
    ).all()
    assert told.body.startswith("PeerLearn's team cancelled “Paid class”") and "Mentor is unwell" in told.body


def test_a_refused_cancellation_leaves_no_audit_entry(people):
    session = make_session(people.mentor, status="completed", starts_at=utcnow() - timedelta(days=2))
    with pytest.raises(Conflict):
        admin.cancel_session(people.boss, session.id, "Too late")
    assert audit_entries() == []
    with pytest.raises(ValidationError):
        admin.cancel_session(people.boss, session.id, "")
    with pytest.raises(NotFound):
        admin.cancel_session(people.boss, 424242, "Gone")


def test_find_sessions_by_status_and_start_day(people):
    soon = make_session(people.mentor, title="Soon", starts_at=utcnow() + timedelta(days=1))
    later = make_session(people.mentor, title="Later", starts_at=utcnow() + timedelta(days=20))
    make_session(people.mentor, title="Draft", status="draft")
    zone = formats.viewer_zone(people.boss)
    day = (utcnow() + timedelta(days=10)).astimezone(zone).date().isoformat()

    items, total = admin.find_sessions(**admin.session_filters({"date_from": day}, zone))
    assert [s.id for s in items] == [later.id] and total == 1
    items, _ = admin.find_sessions(**admin.session_filters({"date_to": day, "status": "scheduled"}, zone))
    assert [s.id for s in items] == [soon.id]
    items, _ = admin.find_sessions(**admin.session_filters({"q": "draft"}, zone))
    assert [s.title for s in items] == ["Draft"]
    with pytest.raises(ValidationError) as caught:
        admin.session_filters({"status": "lost", "date_from": "2026-13-01", "date_to": "soon"}, zone)
    assert set(caught.value.fields) == {"status", "date_from", "date_to"}


# ---------------------------------------------------------------------------- reviews


def test_hiding_a_review_is_audited_once(people):
    session = make_session(people.mentor)
    booking, _ = booking_service.book(session.id, people.learner)
    review = Review(
        booking_id=booking.id,
        session_id=session.id,
        mentor_id=people.mentor.id,
        learner_id=people.learner.id,
        rating=1,
        body="Rude words",
    )
    db.session.add(review)
    db.session.commit()

    with pytest.raises(ValidationError):
        admin.hide_review(people.boss, review.id, " ")
    admin.hide_review(people.boss, review.id, "Abusive language", origin=HERE)
    assert review.hidden_at is not None and review.hidden_by_id == people.boss.id
    assert review.hidden_reason == "Abusive language"
    with pytest.raises(Conflict):
        admin.hide_review(people.boss, review.id, "Again")
    db.session.rollback()
    [entry] = audit_entries()
    assert (
        entry.action == "review.hide" and entry.target_id == review.id and entry.ip_address == "203.0.113.7"
    )

    assert admin.find_reviews(state="hidden")[1] == 1
    assert admin.find_reviews(state="visible")[1] == 0


# ---------------------------------------------------------------------------- lists


def test_find_users_by_text_role_suspension_and_verification(people, make_user):
    make_user(role="mentor", name="Vera Verified", email="vera@example.com", mentor_verified_at=utcnow())
    make_user(name="Sam Suspended", email="sam@example.com", suspended_at=utcnow())

    def names(**args):
        items, total = admin.find_users(**admin.user_filters(args))
        assert total == len(items)
        return sorted(u.name for u in items)

    assert names(q="ADMIN") == ["Ada Admin", "Otto Admin"]
    assert names(q="vera@example") == ["Vera Verified"]
    assert names(q="100%") == []  # % is taken literally
    assert names(role="mentor") == ["Meera Mentor", "Vera Verified"]
    assert names(suspended="1") == ["Sam Suspended"]
    assert names(verified="1") == ["Vera Verified"]
    assert names(verified="0") == ["Meera Mentor"]
    with pytest.raises(ValidationError) as caught:
        admin.user_filters({"role": "owner", "suspended": "maybe", "q": "x" * 201})
    assert set(caught.value.fields) == {"role", "suspended", "q"}


def test_find_payments_by_status_purpose_email_and_day(people, make_user):
    session = make_session(people.mentor, price_paise=30000)
    _, lena_paid = paid_booking(session, people.learner)
    zone = formats.viewer_zone(people.boss)
    today = utcnow().astimezone(zone).date()

    def ids(**args):
        items, _total = admin.find_payments(**admin.payment_filters(args, zone))
        return [p.id for p in items]

    assert ids(email="LENA@") == [lena_paid.id]
    assert ids(email="nobody@") == []
    assert ids(status="captured", purpose="booking") == [lena_paid.id]
    assert ids(status="failed") == []
    assert ids(date_from=today.isoformat(), date_to=today.isoformat()) == [lena_paid.id]
    assert ids(date_to=(today - timedelta(days=1)).isoformat()) == []
    with pytest.raises(ValidationError) as caught:
        admin.payment_filters({"date_from": "2026-12-02", "date_to": "2026-12-01", "purpose": "tips"}, zone)
    assert set(caught.value.fields) == {"date_to", "purpose"}


def test_audit_filters(people):
    admin.verify_mentor(people.boss, people.mentor.id)
    admin.suspend_user(people.other_admin, people.learner.id, "Spam")

    def actions(**args):
        return [e.action for e in admin.find_audit(**admin.audit_filters(args))[0]]

    assert actions() == ["user.suspend", "mentor.verify"]  # newest first
    assert actions(actor="otto@") == ["user.suspend"]
    assert actions(action="mentor.verify") == ["mentor.verify"]
    assert actions(target_type="user", target_id=str(people.learner.id)) == ["user.suspend"]
    with pytest.raises(ValidationError) as caught:
        admin.audit_filters({"action": "user.delete", "target_id": "-1"})
    assert set(caught.value.fields) == {"action", "target_id"}
