"""Bad input gets a 404 or a 422 with a message, never a 500: ids larger than any id column can
hold, in a path or a JSON body, and NUL characters in any text (issue 13).

Both pass on SQLite (which compares any integer and stores a NUL) and only failed on PostgreSQL
(``integer out of range``; ``A string literal cannot contain NUL``): run this file with
TEST_DATABASE_URL set too.
"""

import re

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import IntegerConverter

from peerlearn.extensions import db
from peerlearn.inputs import MAX_ID
from peerlearn.models import AuthKind, SessionRequest, User
from peerlearn.services import auth as auth_service
from tests.conftest import AuthActions, extract_csrf

# Past PostgreSQL's integer (every id column), past bigint, and past 64 bits.
TOO_LARGE = (MAX_ID + 1, 2**63, 2**64)
NUL = "a\x00b"


def bearer(user):
    return {"Authorization": "Bearer " + auth_service.start_session(user, AuthKind.API).raw_token}


def id_routes(app):
    """(method, rule) of every route with an integer in its path, read from the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        if any(isinstance(converter, IntegerConverter) for converter in rule._converters.values()):
            found.extend((method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return found


def test_the_url_map_has_the_id_routes_this_file_covers(app):
    routes = id_routes(app)
    assert len(routes) > 70
    assert ("GET", "/api/sessions/<int:session_id>/") in routes
    assert ("GET", "/dev/outbox/<int:email_id>/attachments/<int:index>") in routes


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin who teaches"])
def test_every_id_route_answers_404_to_an_id_no_column_can_hold(app, make_user, signed_in):
    user = make_user(email="root@example.com", role="admin", mentor=True) if signed_in else None
    browser = app.test_client()
    if user is not None:
        assert AuthActions(browser).login(user.email).status_code == 302
    csrf_token = extract_csrf(browser.get("/profile" if user else "/auth/login").get_data(as_text=True))
    headers = bearer(user) if user is not None else {}

    wrong = []
    for method, rule in id_routes(app):
        for value in TOO_LARGE:
            url = re.sub(r"<int:\w+>", str(value), rule)
            if url.startswith("/api/"):
                response = app.test_client().open(url, method=method, headers=headers, json={})
            else:
                data = None if method == "GET" else {"csrf_token": csrf_token}
                response = browser.open(url, method=method, data=data)
            response.close()
            if response.status_code != 404:
                wrong.append(f"{method} {url}: {response.status_code}")
    assert wrong == []


def test_the_largest_id_still_reaches_the_view(client):
    response = client.get(f"/api/sessions/{MAX_ID}/")
    assert response.status_code == 404
    assert response.get_json()["message"] == "No such session."  # the view's answer, not the router's


@pytest.fixture
def learner(make_user):
    return make_user(email="ravi@example.com", name="Ravi Kumar")


@pytest.mark.parametrize(
    ("url", "field", "body"),
    [
        ("/api/create-payment/", "booking_id", {}),
        ("/api/requests/", "mentor_id", {"topic": "Flask blueprints", "preferred_times": []}),
        ("/api/gift/create/", "session_id", {"amount_paise": 5000}),
    ],
)
@pytest.mark.parametrize("value", [*TOO_LARGE, 0, -1, True, "12", None])
def test_an_id_in_a_json_body_is_a_whole_number_an_id_column_can_hold(
    client, learner, url, field, body, value
):
    response = client.post(url, json={**body, field: value}, headers=bearer(learner))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["message"]
    assert error["fields"][field]


@pytest.mark.parametrize("ids", [[MAX_ID + 1], [1, 2**63], [2**64]])
def test_notification_ids_beyond_any_id_are_refused(client, learner, ids):
    response = client.post("/api/notifications/read/", json={"ids": ids}, headers=bearer(learner))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["ids"]


def test_the_notification_page_skips_ids_beyond_any_id(client, auth, learner):
    auth.login(learner.email)
    token = auth.csrf("/notifications")
    response = client.post(
        "/notifications/read", data={"ids": [str(2**63), str(MAX_ID + 1), "²"], "csrf_token": token}
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "url",
    ["/api/trending/?limit=²", "/api/sessions/?page=²", "/api/payment-history/?per_page=²"],
)
def test_a_digit_that_is_no_number_is_refused(client, learner, url):
    # "²" is a digit to str.isdigit() but not a number to int().
    response = client.get(url, headers=bearer(learner))
    assert response.status_code == 422


# ------------------------------------------------------------------------------ NUL characters


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/sessions/", {"q": NUL}),
        ("/api/skills/", {"q": NUL}),
        ("/sessions", {"q": NUL}),
        ("/sessions", {"sk\x00ill": "python"}),
    ],
)
def test_a_search_with_a_nul_is_refused_with_a_message(client, url, params):
    response = client.get(url, query_string=params)
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)


def test_admin_searches_with_a_nul_are_refused(client, auth, make_user):
    admin = make_user(email="root@example.com", role="admin")
    auth.login(admin.email)
    for url in ("/admin/users", "/admin/audit", "/api/admin/users/", "/api/admin/audit/"):
        headers = bearer(admin) if url.startswith("/api/") else {}
        response = client.get(url, query_string={"q": NUL, "actor": NUL}, headers=headers)
        assert response.status_code == 422, url


@pytest.mark.parametrize(
    "changes",
    [
        {"bio": "Ten years of Python.\x00"},
        {"name": NUL},
        {"skills": ["Python", NUL]},
        {"bi\x00o": "key with a NUL"},
    ],
)
def test_the_api_refuses_a_nul_anywhere_in_a_json_body(client, learner, changes):
    response = client.patch("/api/profile/", json=changes, headers=bearer(learner))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"]["code"] == "validation_error" and "NUL" in body["message"]
    db.session.expire_all()
    assert db.session.get(User, learner.id).bio == ""


def test_the_profile_page_refuses_a_nul_in_the_bio(client, auth, learner):
    auth.login(learner.email)
    token = auth.csrf("/profile/edit")
    response = client.post(
        "/profile/edit",
        data={"name": "Ravi Kumar", "bio": "Hello\x00there", "timezone": "Asia/Kolkata", "csrf_token": token},
    )
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, learner.id).bio == ""


def test_a_request_topic_with_a_nul_is_refused_on_the_page_and_the_api(client, auth, learner, make_user):
    mentor = make_user(email="asha@example.com", role="mentor", name="Asha Raman")
    response = client.post(
        "/api/requests/",
        json={"mentor_id": mentor.id, "topic": "Flask\x00 blueprints", "preferred_times": []},
        headers=bearer(learner),
    )
    assert response.status_code == 422 and "NUL" in response.get_json()["message"]

    auth.login(learner.email)
    token = auth.csrf(f"/mentors/{mentor.id}/request")
    response = client.post(
        f"/mentors/{mentor.id}/request",
        data={"topic": "Flask\x00 blueprints", "time_1": "2030-01-01T10:00", "csrf_token": token},
    )
    assert response.status_code == 422
    assert db.session.scalar(select(SessionRequest.id)) is None


def test_a_nul_in_a_path_names_nothing(client, auth, learner):
    auth.login(learner.email)
    assert client.get("/payments/dev-checkout/order_a%00b").status_code == 404
    assert client.get("/auth/verify/a%00b").status_code == 404
