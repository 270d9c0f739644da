"""POST /api/skill-suggestions/: the skills box's autocomplete, on the sign-up page and after it."""

import pytest

from peerlearn.extensions import db
from peerlearn.services import skills

URL = "/api/skill-suggestions/"


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def python_people(make_user):
    for _ in range(3):
        user = make_user()
        user.skills = skills.resolve(["Python", "Django"])
    db.session.commit()


def test_anonymous_visitors_get_suggestions_and_related_skills(client, python_people):
    response = client.post(URL, json={"query": "pyhton", "selected": ["Python"], "limit": 5})
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert set(data) == {"suggestions", "related"}
    assert data["related"] == [{"name": "Django", "category": "Web Development", "because": "Python"}]
    # Python is chosen already, so the typo finds nothing else worth offering.
    assert data["suggestions"] == []

    data = client.post(URL, json={"query": "k8s"}).get_json()["data"]
    assert data["suggestions"][0] == {"name": "Kubernetes", "category": "Cloud & DevOps", "match": "alias"}
    assert data["related"] == []


def test_limit_caps_the_suggestions(client):
    data = client.post(URL, json={"query": "data", "limit": 2}).get_json()["data"]
    assert len(data["suggestions"]) == 2
    assert len(client.post(URL, json={"query": "data"}).get_json()["data"]["suggestions"]) == 8


def test_empty_body_is_an_empty_answer(client):
    response = client.post(URL)
    assert response.status_code == 200
    assert response.get_json()["data"] == {"suggestions": [], "related": []}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"query": "x" * 61}, {"query"}),
        ({"query": 12}, {"query"}),
        ({"limit": 0}, {"limit"}),
        ({"limit": 21}, {"limit"}),
        ({"limit": "5"}, {"limit"}),
        ({"limit": True}, {"limit"}),
        ({"limit": 2.5}, {"limit"}),
        ({"selected": [1, 2]}, {"selected"}),
        ({"selected": {"name": "Python"}}, {"selected"}),
        ({"selected": [f"Skill {n}" for n in range(21)]}, {"selected"}),
        ({"selected": ["x" * 61]}, {"selected"}),
        ({"query": None, "selected": 7, "limit": -1}, {"selected", "limit"}),
    ],
)
def test_bad_fields_are_named(client, body, fields):
    error = assert_error(client.post(URL, json=body), 422, "validation_error")
    assert set(error["fields"]) == fields


def test_bodies_that_are_not_json_objects_are_refused(client):
    assert_error(client.post(URL, data="query=py"), 415, "unsupported_media_type")
    assert_error(
        client.post(URL, data="{nope", headers={"Content-Type": "application/json"}), 400, "malformed_json"
    )
    assert_error(client.post(URL, json=["py"]), 400, "malformed_json")


def test_signed_in_browser_needs_no_csrf_token_for_this_read(client, auth, make_user):
    make_user(email="a@example.com")
    auth.login("a@example.com")
    # A cookie-authenticated write without the token is refused...
    assert_error(client.patch("/api/profile/", json={"name": "Hacked"}), 400, "csrf_failed")
    # ...but suggestions never use the caller's identity, with or without the header.
    assert client.post(URL, json={"query": "py"}).status_code == 200
    token = auth.csrf("/profile")
    assert client.post(URL, json={"query": "py"}, headers={"X-CSRFToken": token}).status_code == 200


def test_bearer_clients_get_suggestions(client, make_user, api_token):
    make_user(email="b@example.com")
    headers = {"Authorization": f"Bearer {api_token('b@example.com')}"}
    response = client.post(URL, json={"query": "ml"}, headers=headers)
    assert response.get_json()["data"]["suggestions"][0]["name"] == "Machine Learning"


def test_requests_are_limited_per_address(app, client):
    app.config["SKILL_SUGGEST_LIMIT_PER_IP"] = "3 per minute"
    for _ in range(3):
        assert client.post(URL, json={"query": "py"}).status_code == 200
    response = client.post(URL, json={"query": "py"})
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1


def test_skills_pages_point_the_tag_input_at_the_suggestions(client):
    html = client.get("/auth/register").get_data(as_text=True)
    assert f'data-suggest-url="{URL}"' in html
