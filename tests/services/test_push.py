"""Web Push: reminders and "live now" reach a local push service stand-in, signed with the
configured VAPID key and encrypted for the subscribing browser (tests/fakes/push_service.py)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.config import new_vapid_keys
from peerlearn.exceptions import ValidationError
from peerlearn.extensions import db
from peerlearn.models import NotificationKind, OutboundEmail, PushSubscription, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import push, reminders
from peerlearn.services import room as room_service
from peerlearn.services.notifications.preferences import set_preference
from tests import factories
from tests.fakes.push_service import PushServiceStandIn


@pytest.fixture
def vapid(app):
    public, private = new_vapid_keys()
    app.config.update(
        VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private, VAPID_SUBJECT="mailto:ops@example.com"
    )
    return public


@pytest.fixture
def service(vapid):
    with PushServiceStandIn(vapid) as stand_in:
        yield stand_in


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman")


def subscribe(user, service):
    browser = service.subscribe()
    push.save_subscription(
        user, endpoint=browser["endpoint"], p256dh=browser["keys"]["p256dh"], auth=browser["keys"]["auth"]
    )
    return browser["endpoint"]


def booked_learner(mentor, make_user, starts_at, *, email="ravi@example.com"):
    session = factories.make_session(mentor, starts_at=starts_at, title="Practical Flask")
    learner = make_user(email=email, name="Ravi")
    booking_service.book(session.id, learner)
    return session, learner


def test_a_reminder_due_in_15_minutes_reaches_the_phone_signed_and_encrypted(app, service, mentor, make_user):
    now = utcnow()
    session, learner = booked_learner(mentor, make_user, now + timedelta(minutes=16))
    endpoint = subscribe(learner, service)

    assert reminders.send_due_reminders(now=now + timedelta(minutes=1, seconds=1)) == 1

    assert service.refused == []
    [message] = service.messages_to(endpoint)
    assert message["title"] == "Starts in 15 minutes: Practical Flask"
    assert "Asha Raman" in message["body"]
    assert message["url"].endswith(f"/sessions/{session.id}/room")
    assert message["tag"] == f"session-{session.id}"
    [received] = service.received
    assert received.claims["sub"] == "mailto:ops@example.com"
    assert received.claims["aud"] == service.url
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    assert row.last_success_at is not None and row.failure_count == 0


def test_the_day_before_reminder_is_not_pushed(app, service, mentor, make_user):
    now = utcnow()
    _session, learner = booked_learner(mentor, make_user, now + timedelta(hours=24, minutes=1))
    subscribe(learner, service)

    assert reminders.send_due_reminders(now=now + timedelta(minutes=1, seconds=1)) == 1  # by email
    assert service.received == []


def test_live_now_is_pushed_to_each_booked_learner(app, service, mentor, make_user):
    now = utcnow()
    session, learner = booked_learner(mentor, make_user, now + timedelta(minutes=5))
    endpoint = subscribe(learner, service)
    bystander = make_user(email="someone@example.com")
    other_endpoint = subscribe(bystander, service)

    room_service.start(mentor, session.id, now=session.starts_at)

    [message] = service.messages_to(endpoint)
    assert message["title"] == "Live now: Practical Flask"
    assert message["body"] == "Asha Raman has started the session. Tap to join the room."
    assert service.messages_to(other_endpoint) == []


def test_a_learner_who_turned_reminders_off_in_the_app_gets_no_push(app, service, mentor, make_user):
    now = utcnow()
    _session, learner = booked_learner(mentor, make_user, now + timedelta(minutes=16))
    subscribe(learner, service)
    set_preference(learner.id, NotificationKind.SESSION_REMINDER, in_app=False)

    assert reminders.send_due_reminders(now=now + timedelta(minutes=1, seconds=1)) == 1
    assert service.received == []


def test_every_browser_of_the_user_is_told(app, service, make_user):
    learner = make_user()
    phone, laptop = subscribe(learner, service), subscribe(learner, service)

    counts = push.deliver(learner.id, {"title": "Hello", "body": "There", "url": "/learn", "tag": "t"})

    assert counts == {"sent": 2, "removed": 0, "failed": 0}
    assert (
        service.messages_to(phone)
        == service.messages_to(laptop)
        == [{"title": "Hello", "body": "There", "url": "/learn", "tag": "t"}]
    )


def test_a_subscription_the_push_service_dropped_is_deleted_and_other_failures_counted(
    app, service, make_user
):
    learner = make_user()
    gone, failing, fine = (subscribe(learner, service) for _ in range(3))
    service.answer(gone, 410)
    service.answer(failing, 503)

    counts = push.deliver(learner.id, {"title": "Hello", "body": "", "url": "/", "tag": "t"})

    assert counts == {"sent": 1, "removed": 1, "failed": 1}
    rows = {row.endpoint: row for row in db.session.scalars(select(PushSubscription))}
    assert set(rows) == {failing, fine}
    assert rows[failing].failure_count == 1 and rows[failing].last_success_at is None
    assert rows[fine].failure_count == 0 and rows[fine].last_success_at is not None


def test_a_404_deletes_the_subscription_too(app, service, make_user):
    learner = make_user()
    endpoint = subscribe(learner, service)
    service.answer(endpoint, 404)

    assert push.deliver(learner.id, {"title": "Hi"})["removed"] == 1
    assert db.session.scalar(select(PushSubscription)) is None


def test_without_vapid_keys_push_is_off_and_reminders_still_go(app, mentor, make_user):
    app.config.update(VAPID_PUBLIC_KEY=None, VAPID_PRIVATE_KEY=None)
    now = utcnow()
    _session, learner = booked_learner(mentor, make_user, now + timedelta(minutes=16))
    db.session.add(
        PushSubscription(user_id=learner.id, endpoint="http://127.0.0.1:9/push/x", p256dh="a", auth="b")
    )
    db.session.commit()

    assert push.public_key() is None
    assert reminders.send_due_reminders(now=now + timedelta(minutes=1, seconds=1)) == 1
    assert db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "session_reminder"))
    assert push.deliver(learner.id, {"title": "Hi"}) == {"sent": 0, "removed": 0, "failed": 0}


def test_saving_the_same_browser_again_keeps_one_row_and_moves_it_to_the_new_account(app, service, make_user):
    first, second = make_user(), make_user()
    browser = service.subscribe()
    keys = browser["keys"]
    push.save_subscription(first, endpoint=browser["endpoint"], p256dh=keys["p256dh"], auth=keys["auth"])
    push.save_subscription(second, endpoint=browser["endpoint"], p256dh=keys["p256dh"], auth=keys["auth"])

    [row] = db.session.scalars(select(PushSubscription))
    assert row.user_id == second.id


@pytest.mark.parametrize(
    ("endpoint", "p256dh", "auth", "field"),
    [
        ("", "k" * 87, "a" * 22, "endpoint"),
        ("ftp://push.example.com/x", "k" * 87, "a" * 22, "endpoint"),
        ("https://push.example.com/x", "short", "a" * 22, "p256dh"),
        ("https://push.example.com/x", "k" * 87, "not base64!", "auth"),
    ],
)
def test_a_malformed_subscription_is_refused(app, vapid, make_user, endpoint, p256dh, auth, field):
    with pytest.raises(ValidationError) as refused:
        push.save_subscription(make_user(), endpoint=endpoint, p256dh=p256dh, auth=auth)
    assert field in refused.value.fields


def test_in_production_an_endpoint_inside_a_private_network_is_refused(app, vapid, make_user):
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = False
    for endpoint in ("http://push.example.com/x", "https://127.0.0.1/x", "https://10.0.0.5/x"):
        with pytest.raises(ValidationError):
            push.check_endpoint(endpoint)


def test_the_push_speaks_the_learners_language(app, service, mentor, make_user):
    now = utcnow()
    session = factories.make_session(mentor, starts_at=now + timedelta(minutes=16), title="Practical Flask")
    learner = make_user(email="meera@example.com", locale="hi")
    booking_service.book(session.id, learner)
    endpoint = subscribe(learner, service)

    reminders.send_due_reminders(now=now + timedelta(minutes=1, seconds=1))

    [message] = service.messages_to(endpoint)
    assert message["title"] == "15 मिनट में शुरू: Practical Flask"
    assert message["body"] == "Asha Raman जल्द ही रूम खोलेंगे। जुड़ने के लिए टैप करें।"
