"""Session requests over JSON: create, list, read, accept, decline, withdraw, confirm."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import LearningSession, Notification, SessionRequest, utcnow
from peerlearn.payments import get_gateway


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman", email="asha@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(name="Ravi Kumar", email="ravi@example.com")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def later(**delta):
    return (utcnow() + timedelta(**delta)).replace(second=0, microsecond=0)


def create(client, token, mentor, **fields):
    body = {
        "mentor_id": mentor.id,
        "topic": "Code review of my Flask app",
        "message": "Feedback on the blueprint layout.",
        "preferred_times": [later(days=3).isoformat(), later(days=4).isoformat()],
        "budget_paise": 50000,
    }
    body.update(fields)
    return client.post("/api/requests/", json=body, headers=bearer(token))


def test_the_whole_flow_over_the_api(client, api_token, mentor, learner, make_user):
    learner_token, mentor_token = api_token(learner.email), api_token(mentor.email)
    response = create(client, learner_token, mentor)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    request_id = data["id"]
    assert data["status"] == "pending" and data["budget_paise"] == 50000 and data["session"] is None
    assert data["mentor"]["id"] == mentor.id and len(data["preferred_times"]) == 2
    assert db.session.scalar(
        select(Notification.id).where(
            Notification.user_id == mentor.id, Notification.kind == "request_received"
        )
    )

    inbox = client.get("/api/requests/", headers=bearer(mentor_token)).get_json()["data"]
    assert [item["id"] for item in inbox["items"]] == [request_id] and inbox["pagination"]["total"] == 1

    response = client.post(
        f"/api/requests/{request_id}/accept/",
        json={"note": "See you then.", "category": "Programming"},
        headers=bearer(mentor_token),
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["status"] == "accepted" and data["response_note"] == "See you then."
    session = data["session"]
    assert session["title"] == "Code review of my Flask app" and session["capacity"] == 1
    assert session["price_paise"] == 50000 and session["starts_at"] == later(days=3).isoformat()

    # Someone else can't take the seat kept for the learner.
    other_token = api_token(make_user(email="meera@example.com").email)
    response = client.post(f"/api/sessions/{session['id']}/book/", headers=bearer(other_token))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "session_reserved"

    response = client.post(f"/api/requests/{request_id}/confirm/", headers=bearer(learner_token))
    assert response.status_code == 201
    booking = response.get_json()["data"]["booking"]
    assert booking["status"] == "pending_payment" and booking["pay_url"].endswith(
        f"/bookings/{booking['id']}/pay"
    )

    # Pay through the dev gateway with the original's create-payment / verify-payment.
    order = client.post(
        "/api/create-payment/", json={"booking_id": booking["id"]}, headers=bearer(learner_token)
    ).get_json()["data"]["payment"]
    remote, signature = get_gateway().pay(order["order_id"], method="upi")
    db.session.commit()
    response = client.post(
        "/api/verify-payment/",
        json={
            "razorpay_order_id": order["order_id"],
            "razorpay_payment_id": remote.id,
            "razorpay_signature": signature,
        },
        headers=bearer(learner_token),
    )
    assert response.status_code == 200 and response.get_json()["data"]["booking"]["status"] == "confirmed"
    detail = client.get(f"/api/requests/{request_id}/", headers=bearer(learner_token)).get_json()["data"]
    assert detail["booking_id"] == booking["id"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"preferred_times": ["2020-01-01T10:00:00+00:00"]}, "preferred_times"),
        ({"preferred_times": []}, "preferred_times"),
        ({"preferred_times": [later(days=d).isoformat() for d in (1, 2, 3, 4)]}, "preferred_times"),
        ({"budget_paise": -1}, "budget_paise"),
        ({"budget_paise": 12.5}, "budget_paise"),
        ({"budget_paise": "500"}, "budget_paise"),
        ({"topic": ""}, "topic"),
        ({"message": "x" * 2001}, "message"),
        ({"mentor_id": "7"}, "mentor_id"),
        ({"status": "accepted"}, "status"),
    ],
)
def test_bad_requests_get_422_with_the_field(client, api_token, mentor, learner, fields, field):
    response = create(client, api_token(learner.email), mentor, **fields)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(SessionRequest.id)) is None


def test_who_can_ask_whom(client, api_token, mentor, learner, make_user):
    token = api_token(learner.email)
    not_a_mentor = make_user()
    assert create(client, token, not_a_mentor).status_code == 404
    response = create(client, api_token(mentor.email), mentor)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "own_request"
    # Mentors learn too: another mentor may ask.
    response = create(client, api_token(make_user(role="mentor").email), mentor)
    assert response.status_code == 201 and response.get_json()["data"]["mentor"]["id"] == mentor.id
    assert client.post("/api/requests/", json={"mentor_id": mentor.id}).status_code == 401


def test_only_the_parties_see_a_request(client, api_token, mentor, learner, make_user):
    request_id = create(client, api_token(learner.email), mentor).get_json()["data"]["id"]
    other_learner = api_token(make_user().email)
    other_mentor = api_token(make_user(role="mentor").email)
    for token in (other_learner, other_mentor):
        assert client.get(f"/api/requests/{request_id}/", headers=bearer(token)).status_code == 404
        assert client.get("/api/requests/", headers=bearer(token)).get_json()["data"]["items"] == []
    assert client.post(f"/api/requests/{request_id}/accept/", headers=bearer(other_mentor)).status_code == 404
    assert (
        client.post(f"/api/requests/{request_id}/withdraw/", headers=bearer(other_learner)).status_code == 404
    )
    # The learner who asked may not answer their own request.
    response = client.post(f"/api/requests/{request_id}/accept/", headers=bearer(api_token(learner.email)))
    assert response.status_code == 403
    assert db.session.scalar(select(LearningSession.id)) is None


def test_decline_withdraw_and_the_status_list(client, api_token, mentor, learner):
    learner_token, mentor_token = api_token(learner.email), api_token(mentor.email)
    first = create(client, learner_token, mentor).get_json()["data"]["id"]
    second = create(client, learner_token, mentor, topic="Testing with pytest").get_json()["data"]["id"]

    response = client.post(
        f"/api/requests/{first}/decline/", json={"note": "Not my field."}, headers=bearer(mentor_token)
    )
    assert response.status_code == 200 and response.get_json()["data"]["response_note"] == "Not my field."
    response = client.post(f"/api/requests/{first}/decline/", headers=bearer(mentor_token))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "request_declined"

    response = client.post(f"/api/requests/{second}/withdraw/", headers=bearer(learner_token))
    assert response.status_code == 200 and response.get_json()["data"]["status"] == "withdrawn"
    response = client.post(f"/api/requests/{second}/accept/", headers=bearer(mentor_token))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "request_withdrawn"

    declined = client.get("/api/requests/?status=declined", headers=bearer(learner_token)).get_json()["data"]
    assert [item["id"] for item in declined["items"]] == [first]
    page = client.get("/api/requests/?per_page=1&page=2", headers=bearer(mentor_token)).get_json()["data"]
    assert page["pagination"]["total"] == 2 and [item["id"] for item in page["items"]] == [first]
    response = client.get("/api/requests/?status=lost", headers=bearer(mentor_token))
    assert response.status_code == 422 and "status" in response.get_json()["error"]["fields"]
    response = client.post(f"/api/requests/{first}/decline/", json={"note": 5}, headers=bearer(mentor_token))
    assert response.status_code == 422


def test_accept_validation_errors(client, api_token, mentor, learner):
    request_id = create(client, api_token(learner.email), mentor).get_json()["data"]["id"]
    token = api_token(mentor.email)
    for body, field in (
        ({"starts_at": "2020-01-01T10:00:00+00:00"}, "starts_at"),
        ({"price_paise": "free"}, "price_paise"),
        ({"category": "Nope"}, "category"),
        ({"capacity": 3}, "capacity"),
    ):
        response = client.post(f"/api/requests/{request_id}/accept/", json=body, headers=bearer(token))
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], body
    assert db.session.get(SessionRequest, request_id).status == "pending"


def test_an_expired_request_cannot_be_answered(client, api_token, mentor, learner, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    request_id = create(
        client, api_token(learner.email), mentor, preferred_times=[later(days=10).isoformat()]
    ).get_json()["data"]["id"]
    time_machine.shift(timedelta(days=7, seconds=1))
    token = api_token(mentor.email)
    response = client.post(f"/api/requests/{request_id}/accept/", headers=bearer(token))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "request_expired"
