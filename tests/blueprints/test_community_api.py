"""Reviews and follows over JSON: status codes, error codes and the shapes clients rely on."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import Follow
from peerlearn.services import reviews
from tests.factories import make_session
from tests.support.reviews import NOW, attended, past_session, review_row, seat, stay


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Meera Iyer", email="meera@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(name="Kabir Shah", email="kabir@example.com")


@pytest.fixture
def session(mentor):
    return past_session(mentor)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def post_review(client, headers, session_id, **payload):
    return client.post(f"/api/sessions/{session_id}/reviews/", json=payload, headers=headers)


def error_code(response):
    body = response.get_json()
    assert body["success"] is False
    return body["error"]["code"]


def test_the_review_gate_over_the_api(client, api_token, session, learner, make_user):
    headers = bearer(api_token(learner.email))
    assert post_review(client, {}, session.id, rating=5).status_code == 401

    seat(session, learner)  # booked, never in the room
    response = post_review(client, headers, session.id, rating=5, body="Great")
    assert response.status_code == 403 and error_code(response) == "review_not_allowed"

    stay(session, learner, 0, 24)  # 40 % with the threshold at 50
    response = post_review(client, headers, session.id, rating=5)
    assert response.status_code == 403 and error_code(response) == "review_not_allowed"
    assert "at least 50%" in response.get_json()["error"]["message"]

    stay(session, learner, 20, 45)  # now 45 minutes: 75 %
    response = post_review(client, headers, session.id, rating=4, body="Clear and patient.")
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data == {
        "id": data["id"],
        "session": {
            "id": session.id,
            "title": "Window functions in SQL",
            "url": f"http://localhost/sessions/{session.id}",
        },
        "mentor_id": session.mentor_id,
        "learner": {"id": learner.id, "name": "Kabir Shah", "avatar_url": None},
        "rating": 4,
        "body": "Clear and patient.",
        "minutes_attended": 45,
        "created_at": NOW.isoformat(),
        "reply": None,
    }

    again = post_review(client, headers, session.id, rating=1)
    assert again.status_code == 409 and error_code(again) == "already_reviewed"


def test_reviews_are_refused_after_the_window(client, api_token, mentor, learner):
    old = past_session(mentor, ended_minutes_ago=60 * 24 * 14 + 1)
    attended(old, learner, 60)
    response = post_review(client, bearer(api_token(learner.email)), old.id, rating=5)
    assert response.status_code == 403 and error_code(response) == "review_window_closed"


def test_bad_review_bodies_are_422_with_fields(client, api_token, session, learner):
    attended(session, learner, 60)
    headers = bearer(api_token(learner.email))
    for payload, field in (
        ({"rating": 9}, "rating"),
        ({"rating": "²"}, "rating"),
        ({"rating": "٣"}, "rating"),
        ({"body": "No stars"}, "rating"),
        ({"rating": 5, "body": "x" * 2001}, "body"),
        ({"rating": 5, "minutes_attended": 60}, "minutes_attended"),
    ):
        response = post_review(client, headers, session.id, **payload)
        assert response.status_code == 422, payload
        assert field in response.get_json()["error"]["fields"], payload
    response = client.post(f"/api/sessions/{session.id}/reviews/", data="rating=5", headers=headers)
    assert response.status_code == 415
    assert post_review(client, headers, 9999, rating=5).status_code == 404


def test_review_lists_are_public_paginated_and_leave_hidden_reviews_out(client, session, mentor, make_user):
    other = past_session(mentor, title="Second session")
    review_row(session, make_user(), 5, body="Great")
    review_row(session, make_user(), 3, body="Fine")
    review_row(session, make_user(), 1, body="Hidden", hidden=True)
    review_row(other, make_user(), 4)

    response = client.get(f"/api/sessions/{session.id}/reviews/?per_page=1")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["summary"] == {"average_rating": 4.0, "review_count": 2}
    assert data["pagination"] == {
        "page": 1,
        "per_page": 1,
        "total": 2,
        "pages": 2,
        "has_next": True,
        "has_prev": False,
    }
    assert len(data["items"]) == 1 and data["items"][0]["body"] in ("Great", "Fine")

    data = client.get(f"/api/mentors/{mentor.id}/reviews/").get_json()["data"]
    assert data["summary"] == {"average_rating": 4.0, "review_count": 3, "follower_count": 0}
    assert sorted(item["rating"] for item in data["items"]) == [3, 4, 5]
    assert "Hidden" not in str(data)

    assert client.get(f"/api/mentors/{make_user().id}/reviews/").status_code == 404
    assert client.get(f"/api/sessions/{session.id}/reviews/?page=0").status_code == 422
    draft = make_session(mentor, status="draft")
    assert client.get(f"/api/sessions/{draft.id}/reviews/").status_code == 404


def test_the_mentor_replies_once_over_the_api(client, api_token, session, mentor, learner, make_user):
    attended(session, learner, 60)
    review = reviews.create_review(learner, session.id, rating=5)
    path = f"/api/reviews/{review.id}/reply/"

    other = make_user(role="mentor", email="other@example.com")
    response = client.post(path, json={"body": "Mine!"}, headers=bearer(api_token(other.email)))
    assert response.status_code == 403 and error_code(response) == "not_review_mentor"

    headers = bearer(api_token(mentor.email))
    assert client.post(path, json={"body": ""}, headers=headers).status_code == 422
    response = client.post(path, json={"body": "Thank you!"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["data"]["reply"] == {"body": "Thank you!", "replied_at": NOW.isoformat()}
    again = client.post(path, json={"body": "Once more"}, headers=headers)
    assert again.status_code == 409 and error_code(again) == "already_replied"
    assert client.post("/api/reviews/9999/reply/", json={"body": "x"}, headers=headers).status_code == 404


def test_follow_unfollow_and_the_following_list(client, api_token, mentor, learner, make_user):
    headers = bearer(api_token(learner.email))
    path = f"/api/mentors/{mentor.id}/follow/"
    assert client.post(path).status_code == 401

    first = client.post(path, headers=headers)
    assert first.status_code == 201
    assert first.get_json()["data"] == {
        "mentor_id": mentor.id,
        "following": True,
        "followed_at": NOW.isoformat(),
        "follower_count": 1,
    }
    again = client.post(path, headers=headers)
    assert again.status_code == 200 and again.get_json()["data"]["follower_count"] == 1
    assert db.session.scalar(select(func.count()).select_from(Follow)) == 1

    for days in (1, 2, 3, 4):
        make_session(mentor, title=f"Upcoming {days}", starts_at=NOW + timedelta(days=days))
    listing = client.get("/api/following/", headers=headers)
    assert listing.status_code == 200
    data = listing.get_json()["data"]
    assert data["pagination"]["total"] == 1
    [item] = data["items"]
    assert item["mentor"]["id"] == mentor.id and item["mentor"]["name"] == "Meera Iyer"
    assert item["followed_at"] == NOW.isoformat()
    assert item["rating"] == {"average_rating": None, "review_count": 0}
    assert [s["title"] for s in item["upcoming_sessions"]] == ["Upcoming 1", "Upcoming 2", "Upcoming 3"]
    assert item["upcoming_total"] == 4

    gone = client.delete(path, headers=headers)
    assert gone.status_code == 200
    assert gone.get_json()["data"] == {
        "mentor_id": mentor.id,
        "following": False,
        "followed_at": None,
        "follower_count": 0,
    }
    assert client.delete(path, headers=headers).status_code == 200  # unfollowing twice is fine too
    assert client.get("/api/following/", headers=headers).get_json()["data"]["items"] == []
    assert client.get("/api/following/").status_code == 401


def test_follow_refusals(client, api_token, mentor, learner):
    headers = bearer(api_token(mentor.email))
    itself = client.post(f"/api/mentors/{mentor.id}/follow/", headers=headers)
    assert itself.status_code == 409 and error_code(itself) == "cannot_follow_self"
    assert client.post(f"/api/mentors/{learner.id}/follow/", headers=headers).status_code == 404
    assert client.delete(f"/api/mentors/{learner.id}/follow/", headers=headers).status_code == 404


def test_cookie_authenticated_writes_need_the_csrf_header(client, auth, mentor, learner):
    auth.login(learner.email)
    refused = client.post(f"/api/mentors/{mentor.id}/follow/")
    assert refused.status_code == 400 and error_code(refused) == "csrf_failed"
    token = auth.csrf("/")
    assert client.post(f"/api/mentors/{mentor.id}/follow/", headers={"X-CSRFToken": token}).status_code == 201
