"""Webhooks over the JSON API: the secret only where asked for, the log and redelivery, and the refusals."""

import pytest

from peerlearn.services import booking as booking_service
from peerlearn.services import webhooks
from tests.support.booking import make_session
from tests.support.webhooks import Receiver


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_mentor_manages_an_endpoint_and_reads_its_log(client, api_token, mentor, make_user, receiver):
    headers = bearer(api_token(mentor.email))
    created = client.post(
        "/api/webhooks/",
        json={"url": receiver.url, "event_types": ["booking.created"], "description": "CRM"},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    endpoint = created.get_json()["data"]
    secret, endpoint_id = endpoint["secret"], endpoint["id"]
    assert secret.startswith("whsec_") and endpoint["enabled"] is True

    listed = client.get("/api/webhooks/", headers=headers).get_json()["data"]
    assert [e["id"] for e in listed["items"]] == [endpoint_id] and "secret" not in listed["items"][0]
    assert listed["pagination"]["total"] == 1
    shown = client.get(f"/api/webhooks/{endpoint_id}/secret/", headers=headers).get_json()["data"]
    assert shown["secret"] == secret

    booking_service.book(make_session(mentor).id, make_user())
    log = client.get(f"/api/webhooks/{endpoint_id}/deliveries/", headers=headers).get_json()["data"]
    [delivery] = log["items"]
    assert (delivery["event_type"], delivery["status"], delivery["attempts"]) == (
        "booking.created",
        "succeeded",
        1,
    )
    assert delivery["payload"]["id"] == delivery["event_id"]

    again = client.post(f"/api/webhooks/deliveries/{delivery['id']}/redeliver/", headers=headers)
    assert again.status_code == 201 and again.get_json()["data"]["event_id"] == delivery["event_id"]
    request = receiver.requests[-1]
    assert webhooks.verify_signature(secret, request.headers["PeerLearn-Signature"], request.body)

    patched = client.patch(
        f"/api/webhooks/{endpoint_id}/",
        json={"enabled": False, "event_types": ["review.created"]},
        headers=headers,
    ).get_json()["data"]
    assert patched["enabled"] is False and patched["event_types"] == ["review.created"]
    rolled = client.post(f"/api/webhooks/{endpoint_id}/roll-secret/", headers=headers).get_json()["data"]
    assert rolled["secret"] != secret
    ping = client.post(f"/api/webhooks/{endpoint_id}/ping/", headers=headers).get_json()["data"]
    assert ping["event_type"] == "ping" and ping["status"] == "succeeded"
    assert client.delete(f"/api/webhooks/{endpoint_id}/", headers=headers).status_code == 200
    assert client.get(f"/api/webhooks/{endpoint_id}/", headers=headers).status_code == 404


def test_refusals(app, client, api_token, mentor, make_user, receiver):
    endpoint = webhooks.create_endpoint(mentor, url=receiver.url, event_types=["booking.created"])
    learner = make_user(email="learner@example.com")
    denied = client.get("/api/webhooks/", headers=bearer(api_token(learner.email)))
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "not_a_mentor"

    stranger = bearer(api_token(make_user(role="mentor", email="other@example.com").email))
    assert client.get(f"/api/webhooks/{endpoint.id}/secret/", headers=stranger).status_code == 404
    assert client.post(f"/api/webhooks/{endpoint.id}/ping/", headers=stranger).status_code == 404
    assert receiver.requests == []

    headers = bearer(api_token(mentor.email))
    for body, field in (
        ({"url": receiver.url}, "event_types"),
        ({"url": receiver.url, "event_types": ["booking.created"], "secret": "mine"}, "secret"),
        ({"url": 5, "event_types": ["booking.created"]}, "url"),
        ({"url": receiver.url, "event_types": "booking.created"}, "event_types"),
        ({"url": receiver.url, "event_types": ["booking.created"], "enabled": "yes"}, "enabled"),
    ):
        refused = client.post("/api/webhooks/", json=body, headers=headers)
        assert refused.status_code == 422 and field in refused.get_json()["error"]["fields"], body
    app.config["WEBHOOKS_ALLOW_LOCAL_URLS"] = False
    private = client.post(
        "/api/webhooks/",
        json={"url": "https://192.168.1.1/", "event_types": ["review.created"]},
        headers=headers,
    )
    assert private.status_code == 422 and private.get_json()["error"]["code"] == "private_address"
