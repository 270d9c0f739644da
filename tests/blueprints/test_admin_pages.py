"""The admin pages: admins only, suspension that signs a user out everywhere at once, mentor
verification, cancelling sessions with refunds, hiding reviews, the money lists and the audit log."""

import re

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import AuditEntry, AuthSession, Booking, Payout, Refund, Review, User, utcnow
from peerlearn.services import booking as booking_service
from tests.conftest import AuthActions, IsolatedSocketClient, extract_csrf
from tests.factories import make_session, paid_booking

BROWSER = {"REMOTE_ADDR": "198.51.100.23", "HTTP_USER_AGENT": "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0"}


@pytest.fixture
def people(make_user):
    class People:
        admin = make_user(role="admin", name="Ada Admin", email="admin@example.com")
        other_admin = make_user(role="admin", name="Otto Admin", email="otto@example.com")
        mentor = make_user(role="mentor", name="Meera Mentor", email="mentor@example.com")
        learner = make_user(role="learner", name="Lena Learner", email="learner@example.com")

    return People


@pytest.fixture
def things(people):
    """One of everything the admin pages link to."""
    session = make_session(people.mentor, title="Practical Flask", price_paise=40000)
    _, payment = paid_booking(session, people.learner)
    free = make_session(people.mentor, title="Free hour")
    free_booking, _ = booking_service.book(free.id, people.learner)
    review = Review(
        booking_id=free_booking.id,
        session_id=free.id,
        mentor_id=people.mentor.id,
        learner_id=people.learner.id,
        rating=2,
        body="Spammy links",
    )
    payout = Payout(mentor_id=people.mentor.id, amount_paise=10000)
    db.session.add_all([review, payout])
    db.session.commit()
    return {"session": session, "payment": payment, "review": review, "payout": payout}


def admin_client(app, email="admin@example.com"):
    browser = app.test_client()
    browser.environ_base.update(BROWSER)
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def token_of(browser, path="/"):
    return extract_csrf(browser.get(path).get_data(as_text=True))


def pages(people, things):
    return [
        "/admin/users",
        "/admin/users?q=lena&role=learner&suspended=0",
        f"/admin/users/{people.learner.id}",
        "/admin/sessions",
        "/admin/sessions?status=scheduled&date_from=2026-01-01",
        f"/admin/sessions/{things['session'].id}",
        "/admin/payments",
        "/admin/payments?status=captured&purpose=booking&email=learner",
        "/admin/refunds",
        "/admin/refunds?status=pending",
        "/admin/reviews",
        "/admin/reviews?state=visible",
        "/admin/audit",
        "/admin/audit?action=user.suspend&target_type=user",
    ]


def actions(people, things):
    return [
        (f"/admin/users/{people.learner.id}/suspend", {"reason": "Spam"}),
        (f"/admin/users/{people.learner.id}/unsuspend", {}),
        (f"/admin/users/{people.mentor.id}/verify", {}),
        (f"/admin/users/{people.mentor.id}/unverify", {}),
        (f"/admin/sessions/{things['session'].id}/cancel", {"reason": "Test"}),
        (f"/admin/reviews/{things['review'].id}/hide", {"reason": "Spam"}),
    ]


@pytest.mark.parametrize("who", ["anonymous", "learner", "mentor", "admin", "admin-mentor"])
def test_every_admin_page_is_for_admins_only(app, client, auth, make_user, people, things, who):
    """Whatever else an account can do (learning, teaching), only the admin capability opens these."""
    if who == "admin-mentor":
        make_user(role="admin", mentor=True, name="Tara Admin", email="admin-mentor@example.com")
    if who != "anonymous":
        auth.login(f"{who}@example.com")
    expected = {"anonymous": 302, "learner": 403, "mentor": 403, "admin": 200, "admin-mentor": 200}[who]
    for path in pages(people, things):
        response = client.get(path)
        assert response.status_code == expected, path
        if who == "anonymous":
            assert response.headers["Location"].startswith("/auth/login?next=")

    # A visitor's page without a form issues no token: the sign-in form's serves them.
    token = token_of(client, "/auth/login" if who == "anonymous" else "/")
    for path, data in actions(people, things):
        response = client.post(path, data={**data, "csrf_token": token})
        if expected == 200:
            assert response.status_code == 303, path
        else:
            assert response.status_code == expected, path
    db.session.expire_all()
    changed = expected == 200
    done = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert done == (
        [
            "user.suspend",
            "user.unsuspend",
            "mentor.verify",
            "mentor.unverify",
            "session.cancel",
            "review.hide",
        ]
        if changed
        else []
    )
    assert (db.session.get(Review, things["review"].id).hidden_at is not None) is changed
    assert (things["session"].status == "cancelled") is changed


def test_the_admin_nav_and_section_links(app, people, things):
    browser = admin_client(app)
    page = browser.get("/admin/users").get_data(as_text=True)
    for href in ("/admin/users", "/admin/sessions", "/admin/payments", "/admin/refunds", "/admin/payouts"):
        assert f'href="{href}"' in page
    assert 'href="/admin/reviews"' in page and 'href="/admin/audit"' in page
    assert re.search(r'href="/admin"[^>]*aria-current="page"', page)  # the Admin item in the main nav


def test_on_the_payout_queue_the_main_nav_marks_payouts_not_admin(app, people):
    page = admin_client(app).get("/admin/payouts").get_data(as_text=True)
    # Desktop and phone navs, and the admin tabs.
    assert len(re.findall(r'href="/admin/payouts"[^>]*aria-current="page"', page)) == 3
    assert not re.search(r'href="/admin"[^>]*aria-current="page"', page)


def test_user_search_lists_matches_with_their_state(app, people, make_user):
    make_user(role="mentor", name="Vera Verified", mentor_verified_at=utcnow())
    make_user(name="Sam Suspended", suspended_at=utcnow())
    browser = admin_client(app)
    page = browser.get("/admin/users?q=ver").get_data(as_text=True)
    assert "Vera Verified" in page and "Sam Suspended" not in page and "Verified</span>" in page
    page = browser.get("/admin/users?suspended=1").get_data(as_text=True)
    assert "Sam Suspended" in page and "Lena Learner" not in page

    response = browser.get("/admin/users?role=owner&page=0")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="role-error"' in page and 'id="page-error"' in page


def test_user_page_shows_activity_and_what_admins_did(app, people, things):
    browser = admin_client(app)
    page = browser.get(f"/admin/users/{people.learner.id}").get_data(as_text=True)
    assert "learner@example.com" in page and "No admin has acted on this account." in page
    assert re.search(r'data-figure="bookings">2 ', page)
    assert browser.get("/admin/users/999999").status_code == 404


def test_suspension_signs_the_user_out_of_browsers_tokens_and_sockets_at_once(app, people, api_token):
    victim_browser = app.test_client()
    AuthActions(victim_browser).login("learner@example.com")
    assert victim_browser.get("/learn").status_code == 200
    token = api_token("learner@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/profile/", headers=headers).status_code == 200
    sio = IsolatedSocketClient(app, victim_browser)
    assert sio.is_connected() and sio.emit("whoami", callback=True)["user_id"] == people.learner.id

    browser = admin_client(app)
    response = browser.post(
        f"/admin/users/{people.learner.id}/suspend",
        data={"csrf_token": token_of(browser, f"/admin/users/{people.learner.id}"), "reason": "Fraud"},
    )
    assert response.status_code == 303
    assert "signed out everywhere" in browser.get(response.headers["Location"]).get_data(as_text=True)

    assert not sio.is_connected()
    assert victim_browser.get("/learn").status_code == 302  # back to the login page
    assert app.test_client().get("/api/profile/", headers=headers).status_code == 401
    assert db.session.scalar(select(AuthSession.id).where(AuthSession.user_id == people.learner.id)) is None
    # And they cannot come back in.
    assert AuthActions(app.test_client()).login("learner@example.com").status_code != 302

    [entry] = db.session.scalars(select(AuditEntry)).all()
    assert entry.actor_id == people.admin.id and entry.action == "user.suspend"
    assert entry.ip_address == "198.51.100.23" and "Chrome" in entry.user_agent
    assert entry.details["reason"] == "Fraud"

    page = browser.get(f"/admin/users/{people.learner.id}").get_data(as_text=True)
    assert "Suspended" in page and "Fraud" in page and "Lift the suspension" in page


def test_a_suspension_written_behind_the_apps_back_refuses_the_next_account_event(app, people):
    """A suspension written straight to the database (not through the services, so no process is
    told) still refuses the socket's next event that reads the account (``whoami``), though the
    identity is kept from connect."""
    assert app.config["SOCKET_AUTH_RECHECK_SECONDS"] > 0
    victim_browser = app.test_client()
    AuthActions(victim_browser).login("learner@example.com")
    sio = IsolatedSocketClient(app, victim_browser)
    assert sio.emit("whoami", callback=True)["user_id"] == people.learner.id  # identity now kept

    user = db.session.get(User, people.learner.id)
    user.suspended_at, user.suspension_reason = utcnow(), "Elsewhere"
    db.session.commit()

    assert not sio.emit("whoami", callback=True)
    assert not sio.is_connected()


def test_suspend_needs_a_reason_and_never_reaches_admins(app, people):
    browser = admin_client(app)
    token = token_of(browser, f"/admin/users/{people.learner.id}")
    response = browser.post(
        f"/admin/users/{people.learner.id}/suspend", data={"csrf_token": token, "reason": " "}
    )
    assert response.status_code == 422
    assert 'id="reason-error"' in response.get_data(as_text=True)

    for target in (people.admin, people.other_admin):
        response = browser.post(
            f"/admin/users/{target.id}/suspend", data={"csrf_token": token, "reason": "No"}
        )
        assert response.status_code == 303
        page = browser.get(response.headers["Location"]).get_data(as_text=True)
        assert "cannot suspend" in page.lower() or "cannot be suspended" in page
    db.session.expire_all()
    assert db.session.scalars(select(User.suspended_at).where(User.role == "admin")).all() == [None, None]
    assert db.session.scalar(select(AuditEntry.id)) is None
    assert "Admins cannot be suspended." in browser.get(f"/admin/users/{people.other_admin.id}").get_data(
        as_text=True
    )


def test_verifying_a_mentor_shows_the_badge_on_their_profile(app, client, people):
    make_session(people.mentor, title="Practical Flask")
    assert "Verified</span>" not in client.get(f"/mentors/{people.mentor.id}").get_data(as_text=True)
    browser = admin_client(app)
    token = token_of(browser, f"/admin/users/{people.mentor.id}")
    assert (
        browser.post(f"/admin/users/{people.mentor.id}/verify", data={"csrf_token": token}).status_code == 303
    )
    assert "Verified</span>" in client.get(f"/mentors/{people.mentor.id}").get_data(as_text=True)
    assert "Verified</span>" in client.get("/sessions").get_data(as_text=True)  # on the session card

    # A learner cannot be "verified".
    response = browser.post(f"/admin/users/{people.learner.id}/verify", data={"csrf_token": token})
    assert "Only mentors can be verified." in browser.get(response.headers["Location"]).get_data(as_text=True)
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions == ["mentor.verify"]


def test_verified_only_setting_limits_the_catalog(app, client, people, make_user):
    checked = make_user(role="mentor", name="Checked Mentor", mentor_verified_at=utcnow())
    make_session(checked, title="Verified teaching")
    make_session(people.mentor, title="Unverified teaching")
    app.config["LIST_VERIFIED_MENTORS_ONLY"] = True
    page = client.get("/sessions").get_data(as_text=True)
    assert "Verified teaching" in page and "Unverified teaching" not in page
    titles = [item["title"] for item in client.get("/api/sessions/").get_json()["data"]["items"]]
    assert titles == ["Verified teaching"]


def test_cancelling_a_paid_session_refunds_its_learners(app, people, things):
    session = things["session"]
    browser = admin_client(app)
    page = browser.get(f"/admin/sessions/{session.id}").get_data(as_text=True)
    assert "Lena Learner" in page and "Cancel and refund everyone" in page
    token = extract_csrf(page)

    response = browser.post(f"/admin/sessions/{session.id}/cancel", data={"csrf_token": token, "reason": ""})
    assert response.status_code == 422 and 'id="reason-error"' in response.get_data(as_text=True)

    response = browser.post(
        f"/admin/sessions/{session.id}/cancel", data={"csrf_token": token, "reason": "Mentor unavailable"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, things["payment"].booking_id).status == "cancelled"
    [refund] = db.session.scalars(select(Refund)).all()
    assert refund.payment_id == things["payment"].id and refund.amount_paise == 40000
    page = browser.get(f"/admin/sessions/{session.id}").get_data(as_text=True)
    assert "Mentor unavailable" in page and "session.cancel" in page and "Cancel and refund" not in page

    # Cancelling again is refused with a message, and nothing more is audited.
    response = browser.post(f"/admin/sessions/{session.id}/cancel", data={"csrf_token": token, "reason": "x"})
    assert "already cancelled" in browser.get(response.headers["Location"]).get_data(as_text=True)
    assert len(db.session.scalars(select(AuditEntry)).all()) == 1

    page = browser.get("/admin/refunds?status=pending").get_data(as_text=True) + browser.get(
        "/admin/refunds?status=processed"
    ).get_data(as_text=True)
    assert f'data-refund-id="{refund.id}"' in page


def test_payments_list_and_its_filters(app, people, things, make_user):
    other = make_user(name="Omar Other", email="omar@example.com")
    paid_booking(make_session(people.mentor, price_paise=25000), other)
    browser = admin_client(app)

    page = browser.get("/admin/payments").get_data(as_text=True)
    assert page.count("data-payment-id=") == 2
    page = browser.get("/admin/payments?email=OMAR").get_data(as_text=True)
    assert page.count("data-payment-id=") == 1 and "Omar Other" in page
    page = browser.get("/admin/payments?status=refunded").get_data(as_text=True)
    assert "data-payment-id=" not in page

    response = browser.get("/admin/payments?date_from=2026-12-02&date_to=2026-12-01&status=lost")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="date_to-error"' in page and 'id="status-error"' in page


def test_hiding_a_review_from_the_list(app, people, things):
    review = things["review"]
    browser = admin_client(app)
    page = browser.get("/admin/reviews?state=visible").get_data(as_text=True)
    assert "Spammy links" in page
    token = extract_csrf(page)

    response = browser.post(
        f"/admin/reviews/{review.id}/hide", data={"csrf_token": token, "reason": "", "state": "visible"}
    )
    assert response.status_code == 422 and 'id="reason-error"' in response.get_data(as_text=True)

    response = browser.post(
        f"/admin/reviews/{review.id}/hide", data={"csrf_token": token, "reason": "Spam", "state": "visible"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/reviews?state=visible"
    assert "Spammy links" not in browser.get("/admin/reviews?state=visible").get_data(as_text=True)
    assert "Spammy links" in browser.get("/admin/reviews?state=hidden").get_data(as_text=True)
    assert (
        browser.post("/admin/reviews/999999/hide", data={"csrf_token": token, "reason": "x"}).status_code
        == 404
    )
    [entry] = db.session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.target_type, entry.target_id) == ("review.hide", "review", review.id)


def test_payout_decisions_are_audited_with_the_decision(app, people, things):
    payout = things["payout"]
    browser = admin_client(app)
    token = token_of(browser, "/admin/payouts")

    # A refused decision (no reference) leaves no trace.
    browser.post(f"/admin/payouts/{payout.id}/paid", data={"csrf_token": token, "reference": ""})
    assert db.session.scalar(select(AuditEntry.id)) is None

    browser.post(f"/admin/payouts/{payout.id}/paid", data={"csrf_token": token, "reference": "UTR1234"})
    browser.post(f"/admin/payouts/{payout.id}/reject", data={"csrf_token": token})  # already decided
    [entry] = db.session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.target_type, entry.target_id) == ("payout.paid", "payout", payout.id)
    # Where it went is recorded too (this payout predates payout details: none).
    assert entry.details == {
        "amount_paise": 10000,
        "mentor_id": people.mentor.id,
        "to": "",
        "reference": "UTR1234",
    }
    assert entry.ip_address == "198.51.100.23"

    page = browser.get("/admin/audit?action=payout.paid").get_data(as_text=True)
    assert f'data-audit-id="{entry.id}"' in page and "Ada Admin" in page and "198.51.100.23" in page


def test_audit_log_filters(app, people, things):
    browser = admin_client(app)
    token = token_of(browser, f"/admin/users/{people.mentor.id}")
    browser.post(f"/admin/users/{people.mentor.id}/verify", data={"csrf_token": token})
    otto = admin_client(app, "otto@example.com")
    otto.post(
        f"/admin/users/{people.learner.id}/suspend",
        data={"csrf_token": token_of(otto, "/admin/users"), "reason": "Spam"},
    )

    page = browser.get("/admin/audit").get_data(as_text=True)
    assert page.count("data-audit-id=") == 2
    page = browser.get("/admin/audit?actor=otto").get_data(as_text=True)
    assert page.count("data-audit-id=") == 1 and "user.suspend" in page
    page = browser.get(f"/admin/audit?target_type=user&target_id={people.mentor.id}").get_data(as_text=True)
    assert page.count("data-audit-id=") == 1 and "mentor.verify" in page
    assert browser.get("/admin/audit?action=everything").status_code == 422
