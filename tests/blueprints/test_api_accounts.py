"""The original API's account endpoints: bearer tokens, envelope, and hostile input."""

import re

from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import AuthSession, OutboundEmail, User

VERIFY_TOKEN = re.compile(r"/auth/verify/([^\s\"<]+)")


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def assert_error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False
    assert body["error"]["message"]
    assert "timestamp" in body
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_register_verify_login_profile_logout_with_bearer_token(client):
    response = client.post(
        "/api/register/",
        json={
            "email": "api@example.com",
            "password": "correct-horse-battery",
            "name": "Api User",
            "role": "mentor",
            "skills": ["Python", "Flask"],
            "interests": "Rust, Go",
            "headline": "Backend mentor",
            "hourly_rate_paise": 90000,
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["success"] is True and body["message"] and body["timestamp"].endswith("Z")
    assert body["data"] == {"email": "api@example.com", "confirmation_required": True}
    # No token until the address is confirmed, and the password alone does not give one yet.
    assert_error(
        client.post("/api/login/", json={"email": "api@example.com", "password": "correct-horse-battery"}),
        401,
        "authentication_failed",
    )

    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == "api@example.com"))
    token = VERIFY_TOKEN.search(email.text_body).group(1)
    response = client.post("/api/verify-email/", json={"token": token})
    assert response.status_code == 200 and response.get_json()["data"]["email_verified"] is True
    assert_error(client.post("/api/verify-email/", json={"token": token}), 400, "token_used")

    response = client.post(
        "/api/login/", json={"email": "API@example.com", "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    bearer = response.get_json()["data"]["token"]
    headers = {"Authorization": f"Bearer {bearer}"}

    profile = client.get("/api/profile/", headers=headers).get_json()["data"]
    assert profile["email"] == "api@example.com" and profile["email_verified"] is True
    assert profile["role"] == "mentor" and profile["skills"] == ["Flask", "Python"]
    assert profile["hourly_rate_paise"] == 90000 and profile["currency"] == "INR"

    response = client.patch(
        "/api/profile/",
        headers=headers,
        json={
            "bio": "Ten years of Python.",
            "skills": ["Python", "Django"],
            "timezone": "Asia/Dubai",
            "hourly_rate_paise": 120000,
        },
    )
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["bio"] == "Ten years of Python." and data["timezone"] == "Asia/Dubai"
    assert data["skills"] == ["Django", "Python"] and data["hourly_rate_paise"] == 120000

    assert client.post("/api/logout/", headers=headers).status_code == 200
    assert_error(client.get("/api/profile/", headers=headers), 401, "authentication_required")


def test_login_wrong_password(client, make_user):
    make_user(email="a@example.com")
    assert_error(
        client.post("/api/login/", json={"email": "a@example.com", "password": "nope-nope-nope"}),
        401,
        "authentication_failed",
    )
    assert count(AuthSession) == 0


def test_register_cannot_create_admin(client):
    error = assert_error(
        client.post(
            "/api/register/",
            json={
                "email": "x@example.com",
                "password": "correct-horse-battery",
                "name": "X",
                "role": "admin",
            },
        ),
        422,
    )
    assert "role" in error["fields"]
    assert count(User) == 0


def _register(client, email):
    response = client.post(
        "/api/register/", json={"email": email, "password": "some-new-passphrase", "name": "X"}
    )
    body = response.get_json()
    if response.status_code == 201:
        body["data"]["email"] = body["data"]["email"].replace(email, "EMAIL")
    del body["timestamp"]
    return response.status_code, body, response.headers.getlist("Set-Cookie")


def test_registering_a_taken_email_answers_like_a_new_one(app, make_user):
    owner = make_user(email="a@example.com")
    taken = _register(app.test_client(), "A@Example.com")
    new = _register(app.test_client(), "b@example.com")
    assert taken == new
    assert taken[0] == 201 and taken[1]["data"] == {"email": "EMAIL", "confirmation_required": True}
    assert count(User) == 2
    told = db.session.scalar(select(OutboundEmail).where(OutboundEmail.user_id == owner.id))
    assert told.template == "account_exists" and told.to_address == "a@example.com"
    db.session.refresh(owner)
    assert owner.credential_epoch == 0 and owner.is_verified


def test_registering_counts_against_the_same_limits_for_new_and_taken_emails(app, make_user):
    app.config["RESET_LIMIT_PER_ACCOUNT"] = "2 per hour"
    make_user(email="a@example.com")
    client = app.test_client()
    taken = [_register(client, "a@example.com")[0] for _ in range(3)]
    new = [_register(client, "b@example.com")[0] for _ in range(3)]
    assert taken == new == [201, 201, 429]


def test_register_weak_password_and_bad_fields(client):
    error = assert_error(
        client.post(
            "/api/register/",
            json={"email": "not-an-email", "password": "qwerty123", "name": "", "timezone": "Mars/Olympus"},
        ),
        422,
    )
    assert set(error["fields"]) >= {"email", "password", "name", "timezone"}
    assert count(User) == 0


def test_register_with_wrong_types(client):
    assert_error(client.post("/api/register/", json={"email": ["a"], "password": 1, "name": {}}), 422)
    assert count(User) == 0


def test_malformed_json_gets_400(client):
    response = client.post("/api/login/", data="{not json", content_type="application/json")
    assert_error(response, 400, "malformed_json")
    response = client.post("/api/register/", data="[1, 2]", content_type="application/json")
    assert_error(response, 400, "malformed_json")
    response = client.post("/api/login/", data="email=a", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_profile_patch_refuses_role_and_verification_changes(client, make_user, api_token):
    user = make_user(email="a@example.com")
    headers = {"Authorization": f"Bearer {api_token('a@example.com')}"}
    user.email_verified_at = None  # a token from before confirmation was needed to sign in
    db.session.commit()
    for payload in (
        {"role": "admin"},
        {"email_verified": True},
        {"email_verified_at": "2020-01-01"},
        {"name": "New", "role": "mentor"},
        {"hourly_rate_paise": 100},  # learners have no rate
        {"email": "b@example.com"},
        {"password_hash": "x"},
    ):
        error = assert_error(
            client.patch("/api/profile/", headers=headers, json=payload), 422, "read_only_field"
        )
        assert error["fields"]
    db.session.refresh(user)
    assert user.role == "learner" and user.name != "New" and user.email == "a@example.com"
    assert not user.is_verified


def test_profile_patch_validation_writes_nothing(client, make_user, api_token):
    user = make_user(email="a@example.com", name="Before", role="mentor")
    headers = {"Authorization": f"Bearer {api_token('a@example.com')}"}
    response = client.patch(
        "/api/profile/",
        headers=headers,
        json={"name": "After", "timezone": "Nowhere/Land", "hourly_rate_paise": -5},
    )
    error = assert_error(response, 422)
    assert set(error["fields"]) == {"timezone", "hourly_rate_paise"}
    db.session.refresh(user)
    assert user.name == "Before"


def test_cookie_authenticated_api_writes_need_csrf(client, auth, make_user):
    make_user(email="a@example.com")
    auth.login("a@example.com")
    assert client.get("/api/profile/").status_code == 200  # reads are fine
    assert_error(client.patch("/api/profile/", json={"name": "Hacked"}), 400, "csrf_failed")
    token = auth.csrf("/profile")
    response = client.patch("/api/profile/", json={"name": "Legit"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["data"]["name"] == "Legit"


def test_bearer_requests_are_csrf_exempt_and_ignore_cookies(client, auth, make_user, api_token):
    make_user(email="a@example.com", name="A")
    make_user(email="b@example.com", name="B")
    auth.login("a@example.com")  # the browser cookie is A's
    token_b = api_token("b@example.com")
    response = client.get("/api/profile/", headers={"Authorization": f"Bearer {token_b}"})
    assert response.get_json()["data"]["email"] == "b@example.com"
    # A revoked or bogus token is refused, even with a valid cookie alongside.
    assert_error(client.get("/api/profile/", headers={"Authorization": "Bearer bogus"}), 401)


def test_api_logout_with_cookie_ends_web_session(client, auth, make_user):
    make_user(email="a@example.com")
    auth.login("a@example.com")
    token = auth.csrf("/profile")
    assert client.post("/api/logout/", headers={"X-CSRFToken": token}).status_code == 200
    assert client.get("/profile").status_code == 302


def test_logout_all_revokes_every_token(client, make_user, api_token):
    make_user(email="a@example.com")
    first, second = api_token("a@example.com"), api_token("a@example.com")
    response = client.post("/api/logout-all/", headers={"Authorization": f"Bearer {first}"})
    assert response.get_json()["data"]["ended_sessions"] == 2
    assert_error(client.get("/api/profile/", headers={"Authorization": f"Bearer {second}"}), 401)


def test_expired_token_is_refused(client, make_user, api_token, time_machine):
    time_machine.move_to("2026-03-01 09:00:00+00:00")
    make_user(email="a@example.com")
    token = api_token("a@example.com")
    time_machine.move_to("2026-04-01 09:00:00+00:00")
    assert_error(client.get("/api/profile/", headers={"Authorization": f"Bearer {token}"}), 401)
    assert count(AuthSession) == 0


def test_api_login_rate_limited(client, make_user):
    make_user(email="a@example.com")
    for _ in range(10):
        client.post("/api/login/", json={"email": "a@example.com", "password": "wrong-password-x"})
    response = client.post(
        "/api/login/", json={"email": "a@example.com", "password": "correct-horse-battery"}
    )
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_password_reset_api_same_answer_and_single_use(client, make_user):
    make_user(email="a@example.com")
    known = client.post("/api/password-reset/", json={"email": "a@example.com"}).get_json()
    unknown = client.post("/api/password-reset/", json={"email": "ghost@example.com"}).get_json()
    assert known["message"] == unknown["message"] and known["data"] == unknown["data"]
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "reset_password"))
    token = re.search(r"/auth/reset/([^\s\"<]+)", email.text_body).group(1)
    assert_error(client.post("/api/password-reset/confirm/", json={"token": token, "password": "short"}), 422)
    ok = client.post(
        "/api/password-reset/confirm/", json={"token": token, "password": "another-good-passphrase"}
    )
    assert ok.status_code == 200
    assert_error(
        client.post(
            "/api/password-reset/confirm/", json={"token": token, "password": "yet-another-passphrase"}
        ),
        400,
    )


def test_skill_autocomplete(client, make_user):
    from peerlearn.services import skills

    user = make_user(email="a@example.com")
    user.skills = skills.resolve(["Python", "PyTorch", "Pandas"])
    other = make_user(email="b@example.com")
    other.skills = skills.resolve(["Pandas"])
    db.session.commit()
    data = client.get("/api/skills/?q=p").get_json()["data"]["skills"]
    assert data[0] == "Pandas"  # most used first among prefix matches
    assert set(data) == {"Python", "PyTorch", "Pandas"}
    assert client.get("/api/skills/?q=%25").get_json()["data"]["skills"] == []  # LIKE wildcards are literal


def test_public_mentor_profile(client, make_user):
    mentor = make_user(email="m@example.com", role="mentor", headline="Teaches Go")
    learner = make_user(email="l@example.com")
    data = client.get(f"/api/mentors/{mentor.id}/").get_json()["data"]
    assert data["headline"] == "Teaches Go" and "email" not in data
    assert_error(client.get(f"/api/mentors/{learner.id}/"), 404)
    assert client.get(f"/mentors/{learner.id}").status_code == 404
    assert client.get(f"/mentors/{mentor.id}").status_code == 200


def test_unknown_api_route_is_json_404(client):
    assert_error(client.get("/api/does-not-exist/"), 404)
    assert_error(client.delete("/api/login/"), 405)


def test_wrongly_typed_profile_fields_are_refused(client, make_user, api_token):
    user = make_user(email="a@example.com", role="mentor", hourly_rate_paise=1000)
    headers = {"Authorization": f"Bearer {api_token('a@example.com')}"}
    for payload, field in (
        ({"timezone": ["Asia/Kolkata"]}, "timezone"),
        ({"timezone": {}}, "timezone"),
        ({"hourly_rate_paise": 1234.99}, "hourly_rate_paise"),
        ({"hourly_rate_paise": True}, "hourly_rate_paise"),
        ({"hourly_rate_paise": "100"}, "hourly_rate_paise"),
        ({"skills": {"Python": 1}}, "skills"),
        ({"skills": [1, 2]}, "skills"),
        ({"skills": ["x" * 61]}, "skills"),
        ({"skills": [f"Skill {i}" for i in range(21)]}, "skills"),
        ({"name": 42}, "name"),
        ({"bio": ["text"]}, "bio"),
        ({"headline": "h" * 121}, "headline"),
    ):
        error = assert_error(client.patch("/api/profile/", headers=headers, json=payload), 422)
        assert field in error["fields"], (payload, error)
    db.session.refresh(user)
    assert user.hourly_rate_paise == 1000 and user.skills == []


def test_register_with_wrongly_typed_optional_fields(client):
    for payload in (
        {"hourly_rate_paise": 99.5, "role": "mentor"},
        {"skills": "ok", "interests": {"a": 1}},
        {"headline": 5, "role": "mentor"},
        {"timezone": 3},
    ):
        body = {"email": "t@example.com", "password": "correct-horse-battery", "name": "T", **payload}
        assert_error(client.post("/api/register/", json=body), 422)
    assert count(User) == 0
