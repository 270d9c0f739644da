"""Outgoing webhooks: signed deliveries to a real receiver on 127.0.0.1, retries, disabling, redelivery,
who hears what, and the addresses production refuses."""

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import Notification, OutboundEmail, WebhookDelivery, WebhookEndpoint, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import room as room_service
from peerlearn.services import sessions as session_service
from peerlearn.services import webhooks
from tests import factories
from tests.support.booking import make_session
from tests.support.webhooks import Receiver


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def endpoint_for(owner, url, events=("booking.created",)):
    return webhooks.create_endpoint(owner, url=url, event_types=list(events), description="CRM")


def deliveries_of(endpoint):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id)
        )
    )


def test_a_booking_is_delivered_once_with_a_valid_signature(mentor, make_user, receiver):
    endpoint = endpoint_for(mentor, receiver.url)
    secret = endpoint.secret
    session = make_session(mentor)
    learner = make_user(name="Asha Learner")

    booking, _ = booking_service.book(session.id, learner)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.path == "/hooks/peerlearn"
    assert request.headers["PeerLearn-Event"] == "booking.created"
    assert webhooks.verify_signature(secret, request.headers["PeerLearn-Signature"], request.body)
    payload = json.loads(request.body)
    assert payload["type"] == "booking.created"
    assert payload["id"] == request.headers["PeerLearn-Delivery"]
    assert payload["data"]["booking"]["id"] == booking.id
    assert payload["data"]["booking"]["learner"] == {"id": learner.id, "name": "Asha Learner"}
    assert "email" not in json.dumps(payload) and secret not in request.body.decode()
    [delivery] = deliveries_of(endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 200)
    assert delivery.event_id == payload["id"]
    # Nothing else is due: the retry sweep sends nothing more.
    assert webhooks.retry_due(now=utcnow() + timedelta(days=2)) == 0
    assert len(receiver.requests) == 1


def test_a_mentor_hears_of_their_own_sessions_and_an_admin_of_all(mentor, make_user, receiver):
    other_mentor = make_user(role="mentor")
    admin = make_user(role="admin")
    mine = endpoint_for(mentor, receiver.url)
    theirs = endpoint_for(other_mentor, receiver.url)
    admins = endpoint_for(admin, receiver.url)
    learner = make_user()

    booking_service.book(make_session(mentor).id, learner)

    assert len(deliveries_of(mine)) == 1 and deliveries_of(theirs) == []
    [for_admin] = deliveries_of(admins)
    assert for_admin.event_id == deliveries_of(mine)[0].event_id
    assert len(receiver.requests) == 2


def test_only_the_chosen_events_are_sent(mentor, make_user, receiver):
    endpoint = endpoint_for(mentor, receiver.url, events=("booking.cancelled",))
    session = make_session(mentor)
    learner = make_user()
    booking, _ = booking_service.book(session.id, learner)
    assert deliveries_of(endpoint) == []

    booking_service.cancel(booking, learner)

    [delivery] = deliveries_of(endpoint)
    assert delivery.event_type == "booking.cancelled" and delivery.status == "succeeded"
    assert json.loads(receiver.requests[0].body)["data"]["booking"]["status"] == "cancelled"


def test_a_500_is_retried_later_and_succeeds_on_the_second_attempt(mentor, make_user):
    with Receiver(statuses=(500, 200)) as receiver:
        endpoint = endpoint_for(mentor, receiver.url)
        booking_service.book(make_session(mentor).id, make_user())

        [delivery] = deliveries_of(endpoint)
        assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
        assert delivery.response_excerpt == "receiver is down"
        pause = delivery.next_attempt_at - delivery.last_attempt_at
        assert timedelta(seconds=50) < pause < timedelta(seconds=70)  # the first of WEBHOOK_RETRY_SECONDS
        assert webhooks.retry_due(now=delivery.last_attempt_at + timedelta(seconds=30)) == 0

        assert webhooks.retry_due(now=delivery.next_attempt_at) == 1

    [delivery] = deliveries_of(endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 2, 200)
    assert [r.headers["PeerLearn-Delivery"] for r in receiver.requests] == [delivery.event_id] * 2
    assert db.session.get(WebhookEndpoint, endpoint.id).consecutive_failures == 0


def test_repeated_failures_disable_the_endpoint_and_tell_its_owner(app, mentor, make_user):
    app.config["WEBHOOK_DISABLE_AFTER_FAILURES"] = 3
    app.config["WEBHOOK_RETRY_SECONDS"] = [1, 1, 1, 1, 1]
    with Receiver(statuses=(500,)) as receiver:
        endpoint = endpoint_for(mentor, receiver.url)
        booking_service.book(make_session(mentor).id, make_user())
        now = utcnow()
        for _ in range(5):
            now += timedelta(minutes=1)
            webhooks.retry_due(now=now)

    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert not endpoint.enabled and "3 failed deliveries" in endpoint.disabled_reason
    assert len(receiver.requests) == 3  # nothing more is sent to a disabled endpoint
    [delivery] = deliveries_of(endpoint)
    assert delivery.status == "failed" and delivery.attempts == 4
    emails = db.session.scalars(select(OutboundEmail).where(OutboundEmail.to_address == mentor.email)).all()
    assert [email.subject for email in emails] == ["A webhook was disabled"]
    notice = db.session.scalars(select(Notification).where(Notification.user_id == mentor.id)).one()
    assert notice.url == f"/settings/webhooks/{endpoint.id}"


def test_a_delivery_that_runs_out_of_retries_fails(app, mentor, make_user):
    app.config["WEBHOOK_RETRY_SECONDS"] = [1]
    with Receiver(statuses=(503,)) as receiver:
        endpoint = endpoint_for(mentor, receiver.url)
        booking_service.book(make_session(mentor).id, make_user())
        webhooks.retry_due(now=utcnow() + timedelta(minutes=1))
        assert webhooks.retry_due(now=utcnow() + timedelta(minutes=2)) == 0
    [delivery] = deliveries_of(endpoint)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    assert len(receiver.requests) == 2


def test_redeliver_sends_the_same_event_id_again(mentor, make_user, receiver):
    endpoint = endpoint_for(mentor, receiver.url)
    booking_service.book(make_session(mentor).id, make_user())
    [first] = deliveries_of(endpoint)

    again = webhooks.redeliver(mentor, first.id)

    assert again.id != first.id and again.status == "succeeded"
    assert again.event_id == first.event_id and again.payload == first.payload
    assert [json.loads(r.body)["id"] for r in receiver.requests] == [first.event_id] * 2


def test_others_endpoints_and_deliveries_are_not_found(mentor, make_user, receiver):
    endpoint = endpoint_for(mentor, receiver.url)
    delivery = webhooks.send_ping(mentor, endpoint.id)
    stranger = make_user(role="mentor")
    for attempt in (
        lambda: webhooks.update_endpoint(stranger, endpoint.id, description="mine now"),
        lambda: webhooks.roll_secret(stranger, endpoint.id),
        lambda: webhooks.delete_endpoint(stranger, endpoint.id),
        lambda: webhooks.redeliver(stranger, delivery.id),
        lambda: webhooks.deliveries(stranger, endpoint.id),
    ):
        with pytest.raises(NotFound):
            attempt()
    with pytest.raises(PermissionDenied):
        endpoint_for(make_user(), receiver.url)


def test_a_ping_is_signed_with_the_rolled_secret(mentor, receiver):
    endpoint = endpoint_for(mentor, receiver.url)
    old_secret = endpoint.secret
    new_secret = webhooks.roll_secret(mentor, endpoint.id).secret
    assert new_secret != old_secret and new_secret.startswith("whsec_")

    delivery = webhooks.send_ping(mentor, endpoint.id)

    assert delivery.status == "succeeded" and delivery.event_type == "ping"
    request = receiver.requests[0]
    assert webhooks.verify_signature(new_secret, request.headers["PeerLearn-Signature"], request.body)
    assert not webhooks.verify_signature(old_secret, request.headers["PeerLearn-Signature"], request.body)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hook", "validation_error"),
        ("https://127.0.0.1/hook", "private_address"),
        ("https://localhost:8443/hook", "private_address"),
        ("https://10.1.2.3/hook", "private_address"),
        ("https://169.254.169.254/latest/meta-data", "private_address"),
        ("https://[::1]/hook", "private_address"),
        ("https://[::ffff:192.168.0.1]/hook", "private_address"),
        ("ftp://files.example.com/", "validation_error"),
        ("https://user:pass@example.com/", "validation_error"),
    ],
)
def test_production_refuses_plain_http_and_private_addresses(app, mentor, url, code):
    app.config["WEBHOOKS_ALLOW_LOCAL_URLS"] = False
    with pytest.raises(ValidationError) as refused:
        endpoint_for(mentor, url)
    assert refused.value.code == code
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_an_address_that_turns_private_is_not_contacted(app, mentor, make_user, receiver):
    endpoint = endpoint_for(mentor, receiver.url)
    app.config["WEBHOOKS_ALLOW_LOCAL_URLS"] = False

    booking_service.book(make_session(mentor).id, make_user())

    assert receiver.requests == []
    [delivery] = deliveries_of(endpoint)
    assert delivery.status == "pending" and "https" in delivery.error


def test_verify_signature_refuses_changed_bodies_old_times_and_other_secrets():
    body = b'{"id":"1","type":"ping"}'
    now = time.time()
    header = webhooks.signature_header("whsec_abc", now, body)
    assert webhooks.verify_signature("whsec_abc", header, body, now=now)
    assert not webhooks.verify_signature("whsec_abc", header, body + b" ", now=now)
    assert not webhooks.verify_signature("whsec_other", header, body, now=now)
    assert not webhooks.verify_signature("whsec_abc", header, body, now=now + 301)
    assert not webhooks.verify_signature("whsec_abc", "v1=deadbeef", body, now=now)


def test_a_rolled_back_change_sends_nothing(mentor, make_user, receiver):
    endpoint = endpoint_for(mentor, receiver.url)
    session = make_session(mentor, capacity=1)
    booking_service.book(session.id, make_user())
    with pytest.raises(Conflict):  # the session is full
        booking_service.book(session.id, make_user())
    assert len(deliveries_of(endpoint)) == 1 and len(receiver.requests) == 1


def test_bad_input_is_refused_with_field_errors(mentor, receiver):
    with pytest.raises(ValidationError) as unknown:
        webhooks.create_endpoint(mentor, url=receiver.url, event_types=["booking.exploded"])
    assert "event_types" in unknown.value.fields
    with pytest.raises(ValidationError) as none:
        webhooks.create_endpoint(mentor, url=receiver.url, event_types=[])
    assert "event_types" in none.value.fields
    with pytest.raises(ValidationError) as address:
        webhooks.create_endpoint(mentor, url="not a url", event_types=["booking.created"])
    assert "url" in address.value.fields


def test_a_paid_booking_its_refund_a_gift_and_a_publication_are_each_sent(mentor, make_user, receiver):
    endpoint = endpoint_for(
        mentor,
        receiver.url,
        events=("booking.created", "payment.captured", "refund.processed", "session.published"),
    )
    session = make_session(mentor, price_paise=49900)
    learner = make_user(name="Ravi Learner")

    booking, payment = factories.paid_booking(session, learner)
    booking_service.cancel(booking, learner)
    factories.paid_gift(session, learner, 10000)
    draft = make_session(mentor, status="draft", published_at=None)
    session_service.publish_session(mentor, draft.id)

    sent = [json.loads(request.body) for request in receiver.requests]
    assert [event["type"] for event in sent] == [
        "booking.created",
        "payment.captured",
        "refund.processed",
        "payment.captured",
        "session.published",
    ]
    assert sent[1]["data"]["payment"] == {
        "id": payment.id,
        "purpose": "booking",
        "status": "captured",
        "booking_id": booking.id,
        "amount_paise": 49900,
        "refunded_paise": 0,
        "currency": "INR",
        "captured_at": sent[1]["data"]["payment"]["captured_at"],
    }
    assert sent[2]["data"]["refund"]["amount_paise"] > 0 and sent[2]["data"]["payment"]["id"] == payment.id
    assert (
        sent[3]["data"]["gift"]["amount_paise"] == 10000 and sent[3]["data"]["payment"]["purpose"] == "gift"
    )
    assert (
        sent[4]["data"]["session"]["id"] == draft.id and sent[4]["data"]["session"]["status"] == "scheduled"
    )
    assert len({event["id"] for event in sent}) == 5
    assert all(d.status == "succeeded" for d in deliveries_of(endpoint))


def test_a_receiver_that_never_finishes_its_answer_is_cut_off(app, mentor, make_user):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    with Receiver(drip_seconds=0.05) as receiver:
        endpoint = endpoint_for(mentor, receiver.url)
        booking_service.book(make_session(mentor).id, make_user())
        [delivery] = deliveries_of(endpoint)
    assert len(receiver.requests) == 1
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, None)
    assert delivery.error  # a timeout or a reset, whichever the cut-off met first


def test_a_held_session_is_sent_as_completed_and_a_missed_one_as_cancelled(mentor, receiver, time_machine):
    endpoint_for(mentor, receiver.url, events=("session.completed", "session.cancelled"))
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    held = factories.make_session(mentor, starts_at=now + timedelta(hours=1), duration_minutes=30)
    missed = factories.make_session(mentor, starts_at=now + timedelta(hours=1), duration_minutes=30)
    time_machine.move_to(held.starts_at, tick=False)
    room_service.start(mentor, held.id)
    room_service.record_join(held.id, mentor.id, "sid-mentor")
    time_machine.move_to(held.ends_at, tick=False)

    room_service.end(mentor, held.id)
    time_machine.move_to(room_service.closes_at(missed), tick=False)
    assert session_service.complete_due_sessions() == 1  # the missed one

    payloads = [json.loads(request.body) for request in receiver.requests]
    sent = {payload["type"]: payload["data"] for payload in payloads}
    assert sorted(sent) == ["session.cancelled", "session.completed"]
    completed, cancelled = sent["session.completed"], sent["session.cancelled"]
    assert completed["session"]["id"] == held.id and completed["session"]["status"] == "completed"
    assert completed["mentor_present_minutes"] == 30
    assert cancelled["session"]["id"] == missed.id and cancelled["session"]["status"] == "cancelled"
    assert cancelled["mentor_present_minutes"] == 0
    assert cancelled["reason"].startswith("Not held: the mentor didn't come to the room")
