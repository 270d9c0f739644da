"""The email cap: toggling a follow or a session request never floods a mentor's inbox.

A new follower or a new request is told once (its email waits EMAIL_HOLD_SECONDS, and undoing
the thing before then drops it); social email is capped per sender and recipient
(EMAIL_CAP_PER_SENDER_PER_HOUR) and per recipient (EMAIL_CAP_PER_RECIPIENT_PER_HOUR) each hour,
counted in the database so that any number of workers agree; receipts, bookings, cancellations,
refunds, reminders and account mail are never capped."""

from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import Notification, NotificationKind, OutboundEmail, utcnow
from peerlearn.services import accounts, follows, notifications
from peerlearn.services import booking as booking_service
from peerlearn.services import session_requests as requests_service
from peerlearn.tasks.email import dispatch_queued, send_email
from tests.factories import UserFactory, make_session, paid_booking
from tests.races import at_once

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)

    def advance(**delta):
        time_machine.move_to(utcnow() + timedelta(**delta), tick=False)

    return advance


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Meera Iyer", email="meera@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(name="Kabir Shah")


def emails_to(user, *, status=None, kind=None):
    query = select(OutboundEmail).where(OutboundEmail.user_id == user.id).order_by(OutboundEmail.id)
    if status is not None:
        query = query.where(OutboundEmail.status == status)
    if kind is not None:
        query = query.where(OutboundEmail.kind == kind)
    return list(db.session.scalars(query))


def notes_of(user, kind):
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def sweep_after_hold(clock):
    """Let held emails come due and run the queued-email sweep (inline: it sends them)."""
    clock(seconds=current_app.config["EMAIL_HOLD_SECONDS"] + 1)
    db.session.expire_all()
    return dispatch_queued()


def ask(learner, mentor, topic="Help with recursion"):
    return requests_service.create_request(
        learner,
        mentor.id,
        {
            "topic": topic,
            "preferred_times": [(utcnow() + timedelta(days=3)).replace(second=0, microsecond=0).isoformat()],
        },
    )


# ------------------------------------------------------------------------------ collapsing


def test_twenty_follow_unfollow_cycles_send_the_mentor_one_email(mentor, learner, clock):
    for _ in range(20):
        follows.follow(learner, mentor.id)
        follows.unfollow(learner, mentor.id)
    follows.follow(learner, mentor.id)
    sweep_after_hold(clock)

    [email] = emails_to(mentor, status="sent")
    assert email.subject == "Kabir Shah followed you on PeerLearn"
    assert len(emails_to(mentor, status="dropped")) == 20  # each taken back before it went
    [note] = notes_of(mentor, "new_follower")
    assert note.title == "Kabir Shah followed you" and note.read_at is None


def test_a_follow_withdrawn_before_its_email_went_sends_nothing(mentor, learner, clock):
    follows.follow(learner, mentor.id)
    follows.unfollow(learner, mentor.id)
    sweep_after_hold(clock)

    assert emails_to(mentor, status="sent") == []
    assert [e.drop_reason for e in emails_to(mentor)] == ["withdrawn"]
    assert notes_of(mentor, "new_follower") == []


def test_slow_toggling_still_sends_one_email_a_day(mentor, learner, clock):
    """Each follow's email had time to go: the repeats within a day add nothing."""
    for _ in range(20):
        follows.follow(learner, mentor.id)
        sweep_after_hold(clock)
        follows.unfollow(learner, mentor.id)

    assert len(emails_to(mentor, status="sent")) == 1
    assert len(emails_to(mentor)) == 1
    assert len(notes_of(mentor, "new_follower")) <= 1

    clock(days=1, minutes=1)
    follows.follow(learner, mentor.id)
    sweep_after_hold(clock)
    assert len(emails_to(mentor, status="sent")) == 2  # a day on, a follow is news again


def test_a_read_follow_notice_stays_and_a_refollow_adds_no_other(mentor, learner, clock):
    follows.follow(learner, mentor.id)
    notifications.mark_read(mentor.id)
    follows.unfollow(learner, mentor.id)
    follows.follow(learner, mentor.id)

    [note] = notes_of(mentor, "new_follower")
    assert note.read_at is not None
    assert len(emails_to(mentor)) == 1


def test_ten_quick_request_withdraw_cycles_tell_the_mentor_nothing(mentor, learner, clock):
    for round_number in range(10):
        request = ask(learner, mentor, topic=f"Recursion, take {round_number}")
        requests_service.withdraw(learner, request.id)
    sweep_after_hold(clock)

    assert emails_to(mentor, status="sent") == []
    assert notes_of(mentor, "request_received") == []


def test_a_request_answered_before_its_email_went_drops_the_email(mentor, learner, clock):
    declined = ask(learner, mentor, topic="Recursion")
    accepted = ask(learner, mentor, topic="Dynamic programming")
    requests_service.decline(mentor, declined.id, "Not my field")
    requests_service.accept(mentor, accepted.id)
    sweep_after_hold(clock)

    assert [(e.status, e.drop_reason) for e in emails_to(mentor)] == [("dropped", "answered")] * 2
    asked = [n.title for n in notes_of(mentor, "request_received")]
    assert asked == ["Kabir Shah asked you for a session"] * 2


# ----------------------------------------------------------------------------------- caps


def test_ten_slow_request_withdraw_cycles_are_capped_per_sender(mentor, learner, clock):
    """Each request's email is due before it is withdrawn: the mentor gets three emails this hour
    from this learner (asked, withdrew, asked), and no notice of requests they never heard of."""
    for round_number in range(10):
        request = ask(learner, mentor, topic=f"Recursion, take {round_number}")
        sweep_after_hold(clock)
        requests_service.withdraw(learner, request.id)

    sent = emails_to(mentor, status="sent")
    assert [e.subject for e in sent] == [
        "Kabir Shah asked you for a session",
        "Kabir Shah withdrew a request",
        "Kabir Shah asked you for a session",
    ]
    dropped = emails_to(mentor, status="dropped")
    # The second withdrawal, then eight requests: all over the cap, none sent.
    assert len(dropped) == 9 and {e.drop_reason for e in dropped} == {"sender_cap"}
    # In the app: the two withdrawals of requests the mentor was emailed about; the requests
    # themselves, withdrawn unread, are gone.
    assert [n.title for n in notes_of(mentor, "request_received")] == ["Kabir Shah withdrew a request"] * 2

    clock(hours=1)  # a new hour: this learner can be heard again
    ask(learner, mentor, topic="Recursion, once more")
    sweep_after_hold(clock)
    assert len(emails_to(mentor, status="sent")) == 4


def test_the_per_recipient_cap_holds_across_many_senders(mentor, clock):
    followers = [UserFactory(name=f"Follower {n}") for n in range(25)]
    for follower in followers:
        follows.follow(follower, mentor.id)
    sweep_after_hold(clock)

    assert len(emails_to(mentor, status="sent")) == 20
    dropped = emails_to(mentor, status="dropped")
    assert len(dropped) == 5 and {e.drop_reason for e in dropped} == {"recipient_cap"}
    assert len(notes_of(mentor, "new_follower")) == 25  # the app shows every one


def test_essential_email_is_never_capped(app, mentor, clock, make_user):
    """With the mentor's social caps used up, their receipts, booking news and account mail
    still go, and so do a learner's booking confirmation, cancellation and refund."""
    app.config.update(EMAIL_CAP_PER_SENDER_PER_HOUR=1, EMAIL_CAP_PER_RECIPIENT_PER_HOUR=1)
    for n in range(3):
        follows.follow(UserFactory(name=f"Follower {n}"), mentor.id)
    sweep_after_hold(clock)
    assert len(emails_to(mentor, status="sent")) == 1

    learner = make_user(name="Kabir Shah")
    session = make_session(mentor, title="Graphs", price_paise=50000, starts_at=utcnow() + timedelta(days=5))
    for _ in range(3):  # the same learner again and again: the sender cap would stop a social email
        booking, _payment = paid_booking(session, learner)
        booking_service.cancel(booking, learner)
    accounts.deliver_password_reset(mentor.email)
    accounts.deliver_password_reset(learner.email)

    assert {e.kind for e in emails_to(mentor, status="dropped")} == {"new_follower"}
    assert emails_to(learner, status="dropped") == []
    assert [e.subject for e in emails_to(mentor, kind="payment_received")] == ["New booking: Graphs"] * 3
    assert all(e.status == "sent" for e in emails_to(mentor, kind="payment_received"))
    learner_kinds = [e.kind for e in emails_to(learner, status="sent")]
    for kind in ("booking_confirmed", "booking_cancelled", "refund_processed"):
        assert learner_kinds.count(kind) == 3, (kind, learner_kinds)
    for user in (mentor, learner):
        [reset] = [e for e in emails_to(user) if e.template == "reset_password"]
        assert reset.status == "sent" and reset.kind is None


def test_caps_of_zero_turn_them_off(app, mentor, clock):
    app.config.update(EMAIL_CAP_PER_SENDER_PER_HOUR=0, EMAIL_CAP_PER_RECIPIENT_PER_HOUR=0)
    for n in range(22):
        follows.follow(UserFactory(name=f"Follower {n}"), mentor.id)
    sweep_after_hold(clock)

    assert len(emails_to(mentor, status="sent")) == 22


# ------------------------------------------------------------------------------ concurrency


def _due(email_ids):
    """Make held emails due now, as the sweep would find them."""
    db.session.execute(
        OutboundEmail.__table__.update().where(OutboundEmail.id.in_(email_ids)).values(send_after=None)
    )
    db.session.commit()


def _send_at_once(app, recipient_id, email_ids):
    """Each email's send job on its own worker, all released together."""

    def sender(email_id):
        def call(_user):
            send_email(email_id)
            return "done"

        return call

    outcomes = at_once(app, [(recipient_id, sender(email_id)) for email_id in email_ids])
    assert outcomes == ["done"] * len(email_ids)
    return dict(
        db.session.execute(
            select(OutboundEmail.status, func.count())
            .where(OutboundEmail.id.in_(email_ids))
            .group_by(OutboundEmail.status)
        ).all()
    )


def test_workers_sending_at_once_keep_to_the_recipient_cap(threaded_app):
    threaded_app.config.update(EMAIL_CAP_PER_RECIPIENT_PER_HOUR=5)
    mentor = UserFactory(role="mentor", email="busy-mentor@example.com")
    email_ids = []
    for n in range(16):
        follower = UserFactory(name=f"Follower {n}")
        _note, message = notifications.notify(
            mentor,
            NotificationKind.NEW_FOLLOWER,
            title=f"{follower.name} followed you",
            email=notifications.Email("notice", "New follower", {"heading": "New follower", "lines": []}),
            sender=follower,
            collapse_key=notifications.follow_key(follower.id, mentor.id),
        )
        db.session.flush()
        email_ids.append(message.id)
    _due(email_ids)
    mentor_id = mentor.id
    db.session.remove()

    assert _send_at_once(threaded_app, mentor_id, email_ids) == {"sent": 5, "dropped": 11}


def test_workers_sending_at_once_keep_to_the_sender_cap(threaded_app):
    mentor = UserFactory(role="mentor", email="reviewed-mentor@example.com")
    learner = UserFactory(name="Eager Reviewer")
    email_ids = []
    for n in range(12):
        _note, message = notifications.notify(
            mentor,
            NotificationKind.NEW_REVIEW,
            title=f"Review {n}",
            email=notifications.Email("notice", f"Review {n}", {"heading": "New review", "lines": ["5/5"]}),
            sender=learner,
        )
        db.session.flush()
        email_ids.append(message.id)
    _due(email_ids)
    mentor_id = mentor.id
    db.session.remove()

    assert _send_at_once(threaded_app, mentor_id, email_ids) == {"sent": 3, "dropped": 9}


# -------------------------------------------------------------------------------- migration


def test_the_migration_downgrades_dropped_emails_to_failed(tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from tests.support.migrations import migrated_app

    app = migrated_app(f"sqlite:///{tmp_path / 'caps.sqlite3'}")
    with app.app_context():
        upgrade()
        db.session.execute(
            text(
                "INSERT INTO outbound_emails (to_address, subject, template, text_body, html_body, "
                "attachments, unsubscribe_url, status, drop_reason, attempts, last_error, created_at) "
                "VALUES ('a@example.com', 'Hi', 'notice', 't', 'h', '[]', '', 'dropped', 'sender_cap', "
                "1, '', '2026-11-20 12:00:00')"
            )
        )
        db.session.commit()
        downgrade(revision="0014_credential_epoch")
        row = db.session.execute(text("SELECT status, last_error FROM outbound_emails")).one()
        assert tuple(row) == ("failed", "Dropped: sender_cap")
        upgrade()
        assert db.session.execute(text("SELECT status, drop_reason FROM outbound_emails")).one() == (
            "failed",
            "",
        )
        db.session.remove()
        db.engine.dispose()
