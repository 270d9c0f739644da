"""The Webhooks pages under the account's settings: add, see the secret once, ping, the delivery log and
Redeliver, roll, disable and delete; others' endpoints are 404 and learners are refused."""

import json
import re

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import WebhookDelivery, WebhookEndpoint
from peerlearn.services import webhooks
from tests.conftest import extract_csrf
from tests.support.webhooks import Receiver


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


def add_endpoint(client, url, events=("booking.created", "session.published"), description="CRM sync"):
    token = extract_csrf(client.get("/settings/webhooks/new").get_data(as_text=True))
    return client.post(
        "/settings/webhooks/new",
        data={"url": url, "description": description, "event_types": list(events), "csrf_token": token},
    )


def post_button(client, page, action):
    token = extract_csrf(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token})


def test_a_mentor_adds_an_endpoint_sees_its_secret_once_and_pings_it(client, auth, mentor, receiver):
    auth.login(mentor.email)
    assert "Webhooks" in client.get("/settings/webhooks/").get_data(as_text=True)

    added = add_endpoint(client, receiver.url)

    assert added.status_code == 200
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.event_types == ["booking.created", "session.published"]
    assert endpoint.secret in added.get_data(as_text=True)
    page = f"/settings/webhooks/{endpoint.id}"
    shown = client.get(page).get_data(as_text=True)
    assert receiver.url in shown and endpoint.secret not in shown

    pinged = post_button(client, page, f"{page}/ping")
    assert pinged.status_code == 302
    request = receiver.requests[0]
    assert request.headers["PeerLearn-Event"] == "ping"
    assert webhooks.verify_signature(endpoint.secret, request.headers["PeerLearn-Signature"], request.body)
    log = client.get(page).get_data(as_text=True)
    assert 'data-status="succeeded"' in log and json.loads(request.body)["id"] in log


def test_redeliver_from_the_log_sends_the_same_event_again(client, auth, mentor, receiver):
    auth.login(mentor.email)
    endpoint = webhooks.create_endpoint(mentor, url=receiver.url, event_types=["session.published"])
    first = webhooks.send_ping(mentor, endpoint.id)
    page = f"/settings/webhooks/{endpoint.id}"

    response = post_button(client, page, f"/settings/webhooks/deliveries/{first.id}/redeliver")

    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert ids == [first.event_id, first.event_id]
    assert db.session.scalar(select(db.func.count(WebhookDelivery.id))) == 2


def test_roll_disable_enable_and_delete(client, auth, mentor, receiver):
    auth.login(mentor.email)
    endpoint = webhooks.create_endpoint(mentor, url=receiver.url, event_types=["booking.created"])
    old_secret, page = endpoint.secret, f"/settings/webhooks/{endpoint.id}"

    rolled = post_button(client, page, f"{page}/roll-secret")
    db.session.expire_all()
    new_secret = db.session.get(WebhookEndpoint, endpoint.id).secret
    assert new_secret != old_secret and new_secret in rolled.get_data(as_text=True)
    assert new_secret in post_button(client, page, f"{page}/secret").get_data(as_text=True)

    post_button(client, page, f"{page}/disable")
    db.session.expire_all()
    assert not db.session.get(WebhookEndpoint, endpoint.id).enabled
    assert "data-disabled" in client.get(page).get_data(as_text=True)
    post_button(client, page, f"{page}/enable")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).enabled

    endpoint_id = endpoint.id
    deleted = post_button(client, page, f"{page}/delete")
    assert deleted.status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)).all() == []


def test_edit_changes_the_events_and_refuses_bad_input(client, auth, mentor, receiver):
    auth.login(mentor.email)
    endpoint = webhooks.create_endpoint(mentor, url=receiver.url, event_types=["booking.created"])
    edit = f"/settings/webhooks/{endpoint.id}/edit"
    token = extract_csrf(client.get(edit).get_data(as_text=True))

    refused = client.post(
        edit, data={"url": "not an address", "event_types": ["review.created"], "csrf_token": token}
    )
    assert refused.status_code == 422 and "Enter a full https:// address." in refused.get_data(as_text=True)
    none_chosen = client.post(edit, data={"url": receiver.url, "csrf_token": token})
    assert none_chosen.status_code == 422 and "Choose at least one event." in none_chosen.get_data(
        as_text=True
    )
    # No description sent (a form without the field) is an empty one, not an error.
    only_events = client.post(
        edit, data={"url": receiver.url, "event_types": "booking.cancelled", "csrf_token": token}
    )
    assert only_events.status_code == 302

    saved = client.post(
        edit, data={"url": receiver.url, "event_types": ["review.created"], "csrf_token": token}
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).event_types == ["review.created"]


def test_production_refuses_a_private_address_on_the_form(app, client, auth, mentor):
    app.config["WEBHOOKS_ALLOW_LOCAL_URLS"] = False
    auth.login(mentor.email)
    response = add_endpoint(client, "https://169.254.169.254/latest/meta-data")
    assert response.status_code == 422
    assert "private network" in response.get_data(as_text=True)
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_another_mentors_endpoint_is_not_found(client, auth, mentor, make_user, receiver):
    endpoint = webhooks.create_endpoint(mentor, url=receiver.url, event_types=["booking.created"])
    delivery = webhooks.send_ping(mentor, endpoint.id)
    stranger = make_user(role="mentor", email="stranger@example.com")
    auth.login(stranger.email)
    page = f"/settings/webhooks/{endpoint.id}"
    assert client.get(page).status_code == 404
    assert client.get(f"{page}/edit").status_code == 404
    token = extract_csrf(client.get("/settings/webhooks/").get_data(as_text=True))
    for action in ("ping", "secret", "roll-secret", "disable", "delete"):
        assert client.post(f"{page}/{action}", data={"csrf_token": token}).status_code == 404
    redeliver = f"/settings/webhooks/deliveries/{delivery.id}/redeliver"
    assert client.post(redeliver, data={"csrf_token": token}).status_code == 404
    assert len(receiver.requests) == 1
    assert endpoint.secret not in client.get("/settings/webhooks/").get_data(as_text=True)


def test_a_button_without_its_csrf_token_changes_nothing(client, auth, mentor, receiver):
    auth.login(mentor.email)
    endpoint = webhooks.create_endpoint(mentor, url=receiver.url, event_types=["booking.created"])
    response = client.post(f"/settings/webhooks/{endpoint.id}/delete", data={})
    assert response.status_code == 400
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None


def test_a_learner_is_refused_and_not_shown_the_link(client, auth, make_user):
    learner = make_user(email="learner@example.com")
    auth.login(learner.email)
    assert client.get("/settings/webhooks/").status_code == 403
    assert not re.search(r'href="/settings/webhooks/"', client.get("/profile").get_data(as_text=True))
