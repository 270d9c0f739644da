"""The account journey through the HTML pages, as a browser sends it."""

import re

from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import AuthSession, OutboundEmail, User
from peerlearn.services.passwords import verify_password
from tests.conftest import extract_csrf

LINK = re.compile(r"http://localhost(/auth/(?:verify|reset)/[^\s\"<]+)")


def last_email_link(to_address):
    email = db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_address == to_address).order_by(OutboundEmail.id.desc())
    )
    assert email is not None, f"no email to {to_address}"
    match = LINK.search(email.text_body)
    assert match, email.text_body
    assert match.group(0) in email.html_body
    return match.group(1)


def user_count():
    return db.session.scalar(select(func.count(User.id)))


def test_full_journey_register_verify_login_edit_logout(client, auth):
    response = auth.register(
        name="Asha Learner", email="Asha@Example.com", skills="Python, SQL", interests="machine learning"
    )
    assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True)
    assert 'id="dev-outbox-hint"' in response.get_data(as_text=True)  # no email leaves this install
    user = db.session.scalar(select(User).where(User.email == "asha@example.com"))
    assert user.role == "learner" and not user.is_verified
    assert [s.name for s in user.skills] == ["Python", "SQL"]
    assert [s.name for s in user.interests] == ["Machine learning"]
    assert user.password_hash.startswith("$argon2id$")

    # The verification email went through the mail path and was sent (logged) once.
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == user.email))
    assert email.status == "sent" and email.subject == "Confirm your email for PeerLearn"
    verify_path = last_email_link(user.email)

    # Not signed in yet, and the password alone does not sign in before the address is confirmed.
    assert client.get("/learn").status_code == 302
    assert auth.login("asha@example.com").status_code == 401

    # The link confirms the address and signs the new user in.
    response = client.get(verify_path)
    assert response.status_code == 302 and response.headers["Location"] == "/learn"
    db.session.refresh(user)
    assert user.is_verified
    assert "Welcome to PeerLearn, Asha!" in client.get("/learn").get_data(as_text=True)

    auth.logout()
    response = auth.login("asha@example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/learn"
    page = client.get("/learn").get_data(as_text=True)
    assert "Hi Asha" in page and "We sent a link to" not in page

    token = extract_csrf(client.get("/profile/edit").get_data(as_text=True))
    response = client.post(
        "/profile/edit",
        data={
            "csrf_token": token,
            "name": "Asha R",
            "bio": "Learning data science.",
            "timezone": "Europe/Berlin",
            "skills": "Python, Pandas",
            "interests": "Statistics",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.name == "Asha R" and user.timezone == "Europe/Berlin"
    assert [s.name for s in user.skills] == ["Pandas", "Python"]
    assert "Learning data science." in client.get("/profile").get_data(as_text=True)

    auth.logout()
    assert client.get("/profile").status_code == 302


def test_register_as_mentor_with_profile(client, auth):
    response = auth.register(
        role="mentor",
        email="m@example.com",
        name="Meera Mentor",
        headline="Designer",
        bio="Figma",
        hourly_rate="1250.50",
    )
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.email == "m@example.com"))
    assert user.is_mentor and user.hourly_rate_paise == 125050 and user.headline == "Designer"
    response = client.get(last_email_link("m@example.com"))
    assert response.status_code == 302 and response.headers["Location"] == "/teach"


def test_register_refuses_admin_role_and_writes_nothing(client, auth):
    response = auth.register(role="admin", email="evil@example.com")
    assert response.status_code == 422
    assert user_count() == 0


def _register_answer(app, email):
    """What a fresh browser sees after registering ``email``: status, page (without the
    address and the per-session CSRF token), the cookies set (without their values) and what
    the signed session cookie holds."""
    from tests.conftest import AuthActions

    browser = app.test_client()
    response = AuthActions(browser).register(email=email, password="a-new-owners-passphrase")  # noqa: S106 - a test's own credential, not a secret
    page = _without_csrf(response.get_data(as_text=True).replace(email, "EMAIL"))
    set_cookies = [
        re.sub(r"=[^;]*", "=…", header, count=1) for header in response.headers.getlist("Set-Cookie")
    ]
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}
    return response.status_code, response.headers.get("Location"), page, set_cookies, sorted(session)


def test_registering_a_taken_email_answers_like_a_new_one(app, client, make_user):
    owner = make_user(email="taken@example.com", name="Tara Owner")
    taken = _register_answer(app, "TAKEN@example.com")
    new = _register_answer(app, "fresh@example.com")
    assert taken == new
    assert taken[0] == 200 and "Check your email" in taken[2]

    # The owner's account is untouched and they are told someone tried, with the ways back in.
    assert user_count() == 2
    db.session.refresh(owner)
    assert verify_password(owner.password_hash, "correct-horse-battery")
    told = db.session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == "taken@example.com"))
    assert told.subject == "Someone tried to sign up with your email" and told.status == "sent"
    assert "http://localhost/auth/login" in told.text_body
    assert (
        "http://localhost/auth/forgot" in told.text_body and "http://localhost/auth/forgot" in told.html_body
    )
    # The password typed at registration signs in to neither account.
    assert auth_login(app, "taken@example.com", "a-new-owners-passphrase") == 401
    assert auth_login(app, "fresh@example.com", "a-new-owners-passphrase") == 401


def auth_login(app, email, password):
    from tests.conftest import AuthActions

    return AuthActions(app.test_client()).login(email, password).status_code


def test_registering_an_unconfirmed_email_again_lets_the_owner_choose_the_password(app, client, auth):
    # Someone (perhaps not the owner) registered the address first and never confirmed it.
    auth.register(email="a@example.com", password="squatters-passphrase")  # noqa: S106 - a test's own credential, not a secret
    auth.register(email="a@example.com", password="owners-own-passphrase")  # noqa: S106 - a test's own credential, not a secret
    reset_path = last_email_link("a@example.com")
    assert reset_path.startswith("/auth/reset/")
    page = client.get(reset_path)
    token = extract_csrf(page.get_data(as_text=True))
    response = client.post(reset_path, data={"password": "owners-own-passphrase", "csrf_token": token})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "a@example.com"))
    assert user.is_verified
    assert auth_login(app, "a@example.com", "squatters-passphrase") == 401
    assert auth_login(app, "a@example.com", "owners-own-passphrase") == 302


def test_register_weak_password(client, auth):
    for password, message in [
        ("short", "at least 8"),
        ("password123", "too common"),
        ("aaaaaaaaaa", "too common"),
    ]:
        response = auth.register(password=password)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert user_count() == 0


def test_register_without_csrf_token_is_refused(client):
    response = client.post(
        "/auth/register",
        data={"role": "learner", "name": "X", "email": "x@example.com", "password": "correct-horse-battery"},
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert user_count() == 0


def test_login_wrong_password(client, auth, make_user):
    make_user(email="a@example.com")
    response = auth.login("a@example.com", "wrong-password-here")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AuthSession.id))) == 0


def test_login_redirects_by_role(client, auth, make_user):
    make_user(email="admin@example.com", role="admin")
    response = auth.login("admin@example.com")
    assert response.headers["Location"] == "/admin"


def test_login_follows_only_local_next(client, auth, make_user):
    make_user(email="a@example.com")
    token = auth.csrf()
    response = client.post(
        "/auth/login?next=https://evil.example/x",
        data={"email": "a@example.com", "password": "correct-horse-battery", "csrf_token": token},
    )
    assert response.headers["Location"] == "/learn"
    auth.logout()
    token = auth.csrf()
    response = client.post(
        "/auth/login?next=/profile",
        data={"email": "a@example.com", "password": "correct-horse-battery", "csrf_token": token},
    )
    assert response.headers["Location"] == "/profile"


def test_cookie_copied_before_logout_is_refused_after(app, client, auth, make_user):
    make_user(email="a@example.com")
    auth.login("a@example.com")
    copied = client.get_cookie("peerlearn_session").value
    assert client.get("/profile").status_code == 200
    auth.logout()

    thief = app.test_client()
    thief.set_cookie("peerlearn_session", copied)
    response = thief.get("/profile")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_login_rotates_the_session(app, client, auth, make_user):
    make_user(email="a@example.com")
    client.get("/auth/login")
    before = client.get_cookie("peerlearn_session").value
    auth.login("a@example.com")
    after = client.get_cookie("peerlearn_session").value
    assert before != after
    # The pre-login cookie carries no identity.
    other = app.test_client()
    other.set_cookie("peerlearn_session", before)
    assert other.get("/profile").status_code == 302


def test_logout_everywhere_ends_all_sessions(app, client, auth, make_user):
    make_user(email="a@example.com")
    second = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(second).login("a@example.com")
    auth.login("a@example.com")
    token = extract_csrf(client.get("/profile").get_data(as_text=True))
    response = client.post("/auth/logout-everywhere", data={"csrf_token": token})
    assert response.status_code == 302
    assert second.get("/profile").status_code == 302
    assert client.get("/profile").status_code == 302
    assert db.session.scalar(select(func.count(AuthSession.id))) == 0


def test_sign_out_one_other_device(app, client, auth, make_user):
    user = make_user(email="a@example.com")
    from tests.conftest import AuthActions

    second = app.test_client()
    AuthActions(second).login("a@example.com")
    auth.login("a@example.com")
    other_id = db.session.scalar(
        select(AuthSession.id).where(AuthSession.user_id == user.id).order_by(AuthSession.id)
    )
    token = extract_csrf(client.get("/profile").get_data(as_text=True))
    assert client.post(f"/profile/sessions/{other_id}/end", data={"csrf_token": token}).status_code == 302
    assert second.get("/profile").status_code == 302
    assert client.get("/profile").status_code == 200


def test_cannot_end_someone_elses_session(app, client, auth, make_user):
    make_user(email="a@example.com")
    victim = make_user(email="b@example.com")
    from tests.conftest import AuthActions

    AuthActions(app.test_client()).login("b@example.com")
    victim_session = db.session.scalar(select(AuthSession.id).where(AuthSession.user_id == victim.id))
    auth.login("a@example.com")
    token = extract_csrf(client.get("/profile").get_data(as_text=True))
    assert (
        client.post(f"/profile/sessions/{victim_session}/end", data={"csrf_token": token}).status_code == 404
    )
    assert db.session.get(AuthSession, victim_session) is not None


def test_too_many_logins_get_429(client, auth, make_user):
    make_user(email="a@example.com")
    statuses = [auth.login("a@example.com", "wrong-password-here").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    # Even the right password is refused while limited.
    response = auth.login("a@example.com")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_login_limit_per_ip_across_accounts(app, client, auth):
    app.config["LOGIN_LIMIT_PER_IP"] = "5 per 15 minutes"
    statuses = [auth.login(f"nobody{i}@example.com", "wrong-password-here").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]


def _without_csrf(html):
    # CSRF tokens carry a timestamp, so two otherwise equal pages differ across a second boundary.
    return re.sub(r'(name="csrf[-_]token"[^>]*content|name="csrf_token"[^>]*value)="[^"]*"', r'\1=""', html)


def test_password_reset_flow(app, client, auth, make_user):
    user = make_user(email="a@example.com")
    from tests.conftest import AuthActions

    other_device = app.test_client()
    AuthActions(other_device).login("a@example.com")

    token = auth.csrf("/auth/forgot")
    response = client.post("/auth/forgot", data={"email": "a@example.com", "csrf_token": token})
    assert response.status_code == 200
    known_answer = _without_csrf(response.get_data(as_text=True).replace("a@example.com", ""))
    reset_path = last_email_link("a@example.com")

    # The same answer for an unknown address, and no email.
    token = auth.csrf("/auth/forgot")
    response = client.post("/auth/forgot", data={"email": "ghost@example.com", "csrf_token": token})
    assert _without_csrf(response.get_data(as_text=True).replace("ghost@example.com", "")) == known_answer
    assert (
        db.session.scalar(
            select(func.count(OutboundEmail.id)).where(OutboundEmail.to_address == "ghost@example.com")
        )
        == 0
    )

    page = client.get(reset_path)
    assert page.status_code == 200
    token = extract_csrf(page.get_data(as_text=True))
    response = client.post(reset_path, data={"password": "123456789", "csrf_token": token})
    assert response.status_code == 422  # weak: the link is not used up
    response = client.post(reset_path, data={"password": "a-brand-new-passphrase", "csrf_token": token})
    assert response.status_code == 302
    assert other_device.get("/profile").status_code == 302  # other sessions ended

    # Single use.
    response = client.get(reset_path)
    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)

    assert auth.login("a@example.com").status_code == 401
    assert auth.login("a@example.com", "a-brand-new-passphrase").status_code == 302
    subjects = list(db.session.scalars(select(OutboundEmail.subject).where(OutboundEmail.user_id == user.id)))
    assert "Your PeerLearn password was changed" in subjects


def test_expired_reset_link(app, client, auth, make_user, time_machine):
    make_user(email="a@example.com")
    time_machine.move_to("2026-01-01 10:00:00+00:00")
    token = auth.csrf("/auth/forgot")
    client.post("/auth/forgot", data={"email": "a@example.com", "csrf_token": token})
    reset_path = last_email_link("a@example.com")
    time_machine.move_to("2026-01-01 11:01:00+00:00")
    response = client.get(reset_path)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_verification_link_is_single_use_and_tamper_proof(client, auth):
    auth.register(email="a@example.com")
    path = last_email_link("a@example.com")
    assert client.get(path[:-3] + "xyz").status_code == 400
    assert client.get(path).status_code == 302
    response = client.get(path)
    assert response.status_code == 400 and "already been used" in response.get_data(as_text=True)


def test_expired_verification_link(client, auth, time_machine):
    # The clock stands still: a slow registration must not move the link's birth past 10:00.
    time_machine.move_to("2026-01-01 10:00:00+00:00", tick=False)
    auth.register(email="a@example.com")
    path = last_email_link("a@example.com")
    time_machine.move_to("2026-01-03 10:00:01+00:00", tick=False)
    response = client.get(path)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "a@example.com"))
    assert not user.is_verified


def test_unverified_user_can_resend_link(client, auth, make_user):
    # Signed in from before confirmation was needed to sign in.
    user = make_user(email="a@example.com")
    auth.login("a@example.com")
    user.email_verified_at = None
    db.session.commit()
    token = extract_csrf(client.get("/learn").get_data(as_text=True))
    response = client.post("/auth/verify/resend", data={"csrf_token": token})
    assert response.status_code == 302
    assert (
        db.session.scalar(
            select(func.count(OutboundEmail.id)).where(OutboundEmail.to_address == "a@example.com")
        )
        == 1
    )


def test_role_pages_are_guarded(client, auth, make_user):
    make_user(email="l@example.com")
    auth.login("l@example.com")
    assert client.get("/learn").status_code == 200
    assert client.get("/teach").status_code == 403
    assert client.get("/admin").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/profile")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")


def test_suspended_user_cannot_log_in(client, auth, make_user):
    from peerlearn.models import utcnow

    make_user(email="s@example.com", suspended_at=utcnow(), suspension_reason="spam")
    response = auth.login("s@example.com")
    assert response.status_code == 403
    assert "suspended" in response.get_data(as_text=True)


def test_pages_carry_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "unsafe-eval" not in csp
    assert "cdn" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "Content-Security-Policy" not in client.get("/api/").headers


def test_edit_page_shows_current_skills_and_interests(client, auth, make_user):
    from peerlearn.services import skills

    user = make_user(email="a@example.com", role="mentor", headline="Go mentor", hourly_rate_paise=150050)
    user.skills = skills.resolve(["Go", "Kubernetes"])
    user.interests = skills.resolve(["Rust"])
    db.session.commit()
    auth.login("a@example.com")
    response = client.get("/profile/edit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'value="Go, Kubernetes"' in page and 'value="Rust"' in page
    assert 'value="Go mentor"' in page and 'value="1500.50"' in page


def test_profile_lists_devices_by_readable_name(client, auth, make_user):
    make_user(email="a@example.com")
    token = auth.csrf()
    client.post(
        "/auth/login",
        data={"email": "a@example.com", "password": "correct-horse-battery", "csrf_token": token},
        headers={
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"
        },
    )
    page = client.get("/profile").get_data(as_text=True)
    assert "Chrome on Linux" in page and "this device" in page


def test_production_sends_the_email_and_shows_no_outbox(app, client, auth):
    app.config["DEV_OUTBOX_ENABLED"] = False
    response = auth.register(name="Asha Learner", email="asha@example.com")
    assert "Check your email" in response.get_data(as_text=True)
    assert "dev-outbox-hint" not in response.get_data(as_text=True)
