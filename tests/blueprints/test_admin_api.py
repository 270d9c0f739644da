"""The admin API: admins only, suspension ends every sign-in at once, verification, the payments
list with its filters, and the audit log."""

import pytest

from peerlearn.models import utcnow
from tests.conftest import AuthActions, IsolatedSocketClient, extract_csrf
from tests.factories import make_session, paid_booking


@pytest.fixture
def people(make_user):
    class People:
        admin = make_user(role="admin", name="Ada Admin", email="admin@example.com")
        other_admin = make_user(role="admin", name="Otto Admin", email="otto@example.com")
        mentor = make_user(role="mentor", name="Meera Mentor", email="mentor@example.com")
        learner = make_user(role="learner", name="Lena Learner", email="learner@example.com")

    return People


@pytest.fixture
def bearer(api_token):
    def headers(email="admin@example.com"):
        return {"Authorization": f"Bearer {api_token(email)}", "User-Agent": "peerlearn-cli/1.0"}

    return headers


def routes(people):
    return [
        ("GET", "/api/admin/users/", None),
        ("GET", "/api/admin/payments/", None),
        ("GET", "/api/admin/audit/", None),
        ("POST", f"/api/admin/users/{people.mentor.id}/verify/", None),
        ("POST", f"/api/admin/users/{people.mentor.id}/unverify/", None),
        ("POST", f"/api/admin/users/{people.learner.id}/suspend/", {"reason": "Spam"}),
        ("POST", f"/api/admin/users/{people.learner.id}/unsuspend/", None),
    ]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "authentication_required"),
        ("learner", 403, "not_an_admin"),
        ("mentor", 403, "not_an_admin"),
        ("admin", 200, None),
    ],
)
def test_every_admin_api_route_is_for_admins_only(client, people, bearer, who, status, code):
    headers = {} if who == "anonymous" else bearer(f"{who}@example.com")
    for method, path, body in routes(people):
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == status, path
        payload = response.get_json()
        assert payload["success"] is (status == 200)
        if code:
            assert payload["error"]["code"] == code
    audit = client.get("/api/admin/audit/", headers=bearer()).get_json()["data"]
    assert audit["pagination"]["total"] == (4 if who == "admin" else 0)


def test_suspending_over_the_api_ends_cookie_token_and_socket_at_once(app, client, people, bearer, api_token):
    victim_browser = app.test_client()
    AuthActions(victim_browser).login("learner@example.com")
    sio = IsolatedSocketClient(app, victim_browser)
    assert sio.is_connected()
    victim_token = {"Authorization": f"Bearer {api_token('learner@example.com')}"}
    assert client.get("/api/profile/", headers=victim_token).status_code == 200

    response = client.post(
        f"/api/admin/users/{people.learner.id}/suspend/",
        json={"reason": "Payment fraud"},
        headers=bearer(),
        environ_base={"REMOTE_ADDR": "192.0.2.44"},
    )
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["suspended"] is True and data["suspension_reason"] == "Payment fraud"

    assert not sio.is_connected()
    assert client.get("/api/profile/", headers=victim_token).status_code == 401
    assert victim_browser.get("/api/profile/").status_code == 401
    login = client.post(
        "/api/login/", json={"email": "learner@example.com", "password": "correct-horse-battery"}
    )
    assert login.status_code == 403 and login.get_json()["error"]["code"] == "account_suspended"

    [entry] = client.get("/api/admin/audit/", headers=bearer()).get_json()["data"]["items"]
    assert entry["actor"] == {"id": people.admin.id, "name": "Ada Admin", "email": "admin@example.com"}
    assert entry["action"] == "user.suspend" and entry["target_type"] == "user"
    assert entry["target_id"] == people.learner.id and entry["details"]["reason"] == "Payment fraud"
    assert entry["ip_address"] == "192.0.2.44" and entry["user_agent"] == "peerlearn-cli/1.0"

    response = client.post(
        f"/api/admin/users/{people.learner.id}/suspend/", json={"reason": "x"}, headers=bearer()
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "already_suspended"
    response = client.post(f"/api/admin/users/{people.learner.id}/unsuspend/", headers=bearer())
    assert response.status_code == 200 and response.get_json()["data"]["suspended"] is False


def test_suspend_refuses_admins_bad_bodies_and_unknown_users(client, people, bearer):
    headers = bearer()
    for target, code in ((people.admin, "cannot_suspend_self"), (people.other_admin, "cannot_suspend_admin")):
        response = client.post(
            f"/api/admin/users/{target.id}/suspend/", json={"reason": "No"}, headers=headers
        )
        assert response.status_code == 403 and response.get_json()["error"]["code"] == code
    path = f"/api/admin/users/{people.learner.id}/suspend/"
    for body in ({}, {"reason": "  "}, {"reason": 7}, {"reason": "x" * 501}):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"], body
    assert client.post(path, data="reason=x", headers=headers).status_code == 415
    response = client.post("/api/admin/users/999999/suspend/", json={"reason": "x"}, headers=headers)
    assert response.status_code == 404
    assert client.get("/api/admin/audit/", headers=headers).get_json()["data"]["items"] == []


def test_cookie_authenticated_writes_need_the_csrf_token(app, people):
    browser = app.test_client()
    AuthActions(browser).login("admin@example.com")
    path = f"/api/admin/users/{people.mentor.id}/verify/"
    assert browser.post(path).status_code == 400
    token = extract_csrf(browser.get("/admin/users").get_data(as_text=True))
    response = browser.post(path, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["data"]["mentor_verified"] is True


def test_verify_and_unverify_mentors(client, people, bearer):
    headers = bearer()
    response = client.post(f"/api/admin/users/{people.mentor.id}/verify/", headers=headers)
    assert response.get_json()["data"]["mentor_verified_at"] is not None
    assert client.post(f"/api/admin/users/{people.mentor.id}/verify/", headers=headers).status_code == 409
    response = client.post(f"/api/admin/users/{people.learner.id}/verify/", headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_a_mentor_account"
    response = client.post(f"/api/admin/users/{people.mentor.id}/unverify/", headers=headers)
    assert response.status_code == 200 and response.get_json()["data"]["mentor_verified"] is False
    audit = client.get("/api/admin/audit/?target_type=user", headers=headers).get_json()["data"]["items"]
    assert [e["action"] for e in audit] == ["mentor.unverify", "mentor.verify"]


def test_user_search(client, people, bearer, make_user):
    make_user(role="mentor", name="Vera Verified", email="vera@example.com", mentor_verified_at=utcnow())
    make_user(name="Sam Suspended", email="sam@example.com", suspended_at=utcnow(), suspension_reason="Spam")
    headers = bearer()

    def found(query):
        response = client.get(f"/api/admin/users/{query}", headers=headers)
        assert response.status_code == 200
        return response.get_json()["data"]

    data = found("?per_page=2")
    assert data["pagination"] == {
        "page": 1,
        "per_page": 2,
        "total": 6,
        "pages": 3,
        "has_next": True,
        "has_prev": False,
    }
    [sam] = found("?suspended=1")["items"]
    assert sam["email"] == "sam@example.com" and sam["suspension_reason"] == "Spam" and sam["suspended"]
    assert [u["name"] for u in found("?verified=1")["items"]] == ["Vera Verified"]
    assert [u["name"] for u in found("?q=meera&role=mentor")["items"]] == ["Meera Mentor"]
    assert set(found("?role=admin")["items"][0]) == {
        "id",
        "name",
        "email",
        "role",
        "capabilities",
        "teaching_enabled_at",
        "email_verified",
        "joined_at",
        "last_login_at",
        "mentor_verified",
        "mentor_verified_at",
        "suspended",
        "suspended_at",
        "suspension_reason",
        "publishing_suspended",
        "publishing_suspended_at",
    }
    response = client.get("/api/admin/users/?role=owner&verified=perhaps", headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"role", "verified"}
    assert client.get("/api/admin/users/?per_page=101", headers=headers).status_code == 422


def test_payments_list_with_filters(client, people, bearer, make_user):
    other = make_user(name="Omar Other", email="omar@example.com")
    _, lena_paid = paid_booking(make_session(people.mentor, price_paise=40000), people.learner)
    _, omar_paid = paid_booking(make_session(people.mentor, price_paise=25000), other)
    headers = bearer()

    def ids(query=""):
        response = client.get(f"/api/admin/payments/{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [p["id"] for p in response.get_json()["data"]["items"]]

    assert ids() == [omar_paid.id, lena_paid.id]
    assert ids("?email=LEARNER@") == [lena_paid.id]
    assert ids("?status=captured&purpose=booking") == [omar_paid.id, lena_paid.id]
    assert ids("?purpose=gift") == []
    assert ids("?date_to=2001-01-01") == []
    [item] = client.get("/api/admin/payments/?email=omar", headers=headers).get_json()["data"]["items"]
    assert item["payer"] == {"id": other.id, "name": "Omar Other", "email": "omar@example.com"}
    assert item["mentor"] == {"id": people.mentor.id, "name": "Meera Mentor"}
    assert item["amount_paise"] == 25000 and item["status"] == "captured"

    response = client.get("/api/admin/payments/?status=lost&date_from=yesterday", headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"status", "date_from"}
