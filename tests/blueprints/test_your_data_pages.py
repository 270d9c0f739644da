"""Your data in the browser and over the API: the download is the owner's alone, deleting the
account signs it out everywhere and its email and password no longer open anything."""

import io
import json
import zipfile

from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import DataExport, User
from peerlearn.services import your_data
from tests.conftest import AuthActions, extract_csrf


def test_the_download_link_opens_only_for_its_owner(app, client, auth, make_user):
    owner = make_user(email="owner@example.com", name="Olga Owner")
    make_user(email="other@example.com")
    auth.login("owner@example.com")
    page = client.get("/profile/data")
    assert page.status_code == 200 and "Download your data" in page.get_data(as_text=True)
    response = client.post(
        "/profile/data/export", data={"csrf_token": extract_csrf(page.get_data(as_text=True))}
    )
    assert response.status_code == 303
    export = db.session.scalar(select(DataExport).where(DataExport.user_id == owner.id))
    assert export.status == "ready"
    link = f"/profile/data/exports/{export.id}/download?token={your_data.download_token(export)}"

    download = client.get(link)
    assert download.status_code == 200
    assert download.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    profile = json.loads(zipfile.ZipFile(io.BytesIO(download.get_data())).read("profile.json"))
    assert profile["email"] == "owner@example.com"
    download.close()

    # Anyone else holding the link: signed out, sent to sign in; signed in as someone else, a 404.
    stranger = app.test_client()
    assert stranger.get(link).status_code == 302
    AuthActions(stranger).login("other@example.com")
    assert stranger.get(link).status_code == 404
    # A forged token does nothing for the owner either.
    assert client.get(f"/profile/data/exports/{export.id}/download?token=forged").status_code == 400


def test_deleting_the_account_from_its_page(app, client, auth, make_user, connect):
    user = make_user(email="leaving@example.com", name="Lea Leaving")
    auth.login("leaving@example.com")
    other_device = app.test_client()
    AuthActions(other_device).login("leaving@example.com")
    sio = connect("leaving@example.com")
    form = client.get("/profile/delete")
    assert form.status_code == 200
    token = extract_csrf(form.get_data(as_text=True))

    wrong = client.post(
        "/profile/delete", data={"csrf_token": token, "password": "nope", "confirmation": "DELETE"}
    )
    assert wrong.status_code == 422 and "That password is not right." in wrong.get_data(as_text=True)

    done = client.post(
        "/profile/delete",
        data={"csrf_token": token, "password": "correct-horse-battery", "confirmation": "DELETE"},
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "Deleted user"
    # Signed out here, on the other device and in its open room socket; signing in again gets
    # the generic answer.
    assert not sio.is_connected()
    assert client.get("/profile").status_code == 302
    assert other_device.get("/profile").status_code == 302
    again = AuthActions(app.test_client()).login("leaving@example.com")
    assert again.status_code == 401 and "Wrong email or password." in again.get_data(as_text=True)


def test_the_api_asks_follows_downloads_and_deletes(client, make_user, api_token):
    make_user(email="api@example.com")
    headers = {"Authorization": "Bearer " + api_token("api@example.com")}

    asked = client.post("/api/account/exports/", headers=headers)
    assert asked.status_code == 202
    export_id = asked.get_json()["data"]["id"]
    status = client.get(f"/api/account/exports/{export_id}/", headers=headers).get_json()["data"]
    assert status["status"] == "ready" and status["download_url"].startswith("http://localhost/profile/data/")
    download = client.get(f"/api/account/exports/{export_id}/download/", headers=headers)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    download.close()
    again = client.post("/api/account/exports/", headers=headers)
    assert again.status_code in (202, 429)

    refused = client.delete("/api/account/", headers=headers, json={"password": "correct-horse-battery"})
    assert refused.status_code in (400, 422)
    deleted = client.delete(
        "/api/account/", headers=headers, json={"password": "correct-horse-battery", "confirmation": "DELETE"}
    )
    assert deleted.status_code == 200 and deleted.get_json()["data"] == {"deleted": True}
    # The token stops working at once, and the email no longer signs in.
    assert client.get("/api/profile/", headers=headers).status_code == 401
    login = client.post("/api/login/", json={"email": "api@example.com", "password": "correct-horse-battery"})
    assert login.status_code == 401


def test_admins_see_and_decide_a_deleted_mentors_booked_sessions(app, client, auth, make_user):
    from tests.factories import make_session, paid_booking

    admin = make_user(role="admin", email="boss@example.com")
    mentor = make_user(role="mentor", email="mentor@example.com")
    session = make_session(mentor, price_paise=30000, title="Kept for the admins")
    paid_booking(session, make_user())
    your_data.delete_account(mentor, "correct-horse-battery", "DELETE")
    assert admin.is_admin

    auth.login("boss@example.com")
    page = client.get("/admin/deleted-mentors")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Kept for the admins" in html
    review_id = your_data.open_reviews()[0].id
    decided = client.post(
        f"/admin/deleted-mentors/{review_id}", data={"csrf_token": extract_csrf(html), "decision": "kept"}
    )
    assert decided.status_code == 303
    assert your_data.open_reviews() == []
    assert "left to run" in client.get("/admin/deleted-mentors").get_data(as_text=True)


def test_an_admin_deletes_an_account_from_its_page_and_the_audit_log_says_so(client, auth, make_user):
    make_user(role="admin", email="chief@example.com")
    member = make_user(email="member@example.com", name="Mira Member")
    auth.login("chief@example.com")
    page = client.get(f"/admin/users/{member.id}")
    token = extract_csrf(page.get_data(as_text=True))
    assert "Delete account" in page.get_data(as_text=True)

    blank = client.post(f"/admin/users/{member.id}/delete", data={"csrf_token": token, "reason": " "})
    assert blank.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, member.id).deleted_at is None

    done = client.post(
        f"/admin/users/{member.id}/delete", data={"csrf_token": token, "reason": "Asked us to"}
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, member.id).email == f"deleted-{member.id}@deleted.invalid"
    assert "Deleted " in client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "Account deleted by an admin." in log and "Asked us to" in log
