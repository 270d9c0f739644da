"""What an outsider can learn about accounts, and what a changed password leaves behind.

Registering answers the same for a taken address as for a new one and does the same work (the
owner is told by email); a reset request answers the same and only queues its work; signing in
spends one password check whether or not the account exists. A completed reset, a password
change and "log out everywhere" retire every link emailed before and give the calendar feed a
new URL.
"""

import re

import pytest
from sqlalchemy import func, select

from peerlearn import tasks
from peerlearn.exceptions import AuthenticationError, TokenInvalid, ValidationError
from peerlearn.extensions import db
from peerlearn.models import AccountToken, OutboundEmail, User, hash_token, utcnow
from peerlearn.services import accounts, auth, calendar, passwords
from peerlearn.services.accounts import register
from tests.conftest import AuthActions, extract_csrf
from tests.races import at_once

RESET_LINK = re.compile(r"http://localhost/auth/reset/([^\s\"<]+)")


def reset_links(address):
    """Every reset token mailed to ``address``, oldest first."""
    bodies = db.session.scalars(
        select(OutboundEmail.text_body)
        .where(OutboundEmail.to_address == address, OutboundEmail.template == "reset_password")
        .order_by(OutboundEmail.id)
    )
    return [RESET_LINK.search(body).group(1) for body in bodies]


def ask_for_reset(client, address):
    response = client.post("/api/password-reset/", json={"email": address})
    assert response.status_code == 200
    return reset_links(address)[-1]


def confirm_reset(client, token, password="a-fresh-passphrase"):  # noqa: S107 - a test's own credential, not a secret
    return client.post("/api/password-reset/confirm/", json={"token": token, "password": password})


def error_code(response):
    return response.get_json()["error"]["code"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------------------ registration


def count_calls(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_registering_a_taken_address_does_the_same_work_as_a_new_one(app, make_user, monkeypatch):
    make_user(email="taken@example.com")
    hashed = count_calls(monkeypatch, passwords, "hash_password")
    fields = {"password": "some-new-passphrase", "name": "Someone", "role": "learner"}

    assert register(email="taken@example.com", **fields) is None
    taken_work = (len(hashed), db.session.scalar(select(func.count(OutboundEmail.id))))
    assert register(email="new@example.com", **fields) is None
    new_work = (len(hashed) - taken_work[0], db.session.scalar(select(func.count(OutboundEmail.id))) - 1)

    # One password hash and one email each: the time taken does not tell them apart.
    assert taken_work == new_work == (1, 1)
    templates = dict(db.session.execute(select(OutboundEmail.to_address, OutboundEmail.template)).all())
    assert templates == {"taken@example.com": "account_exists", "new@example.com": "verify_email"}


def test_bad_skills_are_refused_for_taken_and_new_addresses_alike(app, make_user):
    make_user(email="taken@example.com")
    fields = {"password": "some-new-passphrase", "name": "Someone", "role": "learner"}
    answers = []
    for address in ("taken@example.com", "new@example.com"):
        with pytest.raises(ValidationError) as refused:
            register(email=address, skills_=["x" * 200], **fields)
        answers.append(refused.value.fields)
    assert answers[0] == answers[1] and "skills" in answers[0]
    assert db.session.scalar(select(func.count(OutboundEmail.id))) == 0


def test_a_suspended_owner_is_not_emailed_but_the_answer_is_the_same(app, make_user):
    make_user(email="gone@example.com", suspended_at=utcnow())
    fields = {"password": "some-new-passphrase", "name": "Someone", "role": "learner"}
    assert register(email="gone@example.com", **fields) is None
    assert db.session.scalar(select(func.count(OutboundEmail.id))) == 0


def test_one_address_registered_twice_at_once_makes_one_account_and_answers_the_same(threaded_app):
    someone = User(email="someone@example.com", name="Someone", password_hash="x", timezone="UTC")  # noqa: S106 - a test's own credential, not a secret
    db.session.add(someone)
    db.session.commit()
    someone_id = someone.id
    db.session.remove()

    def sign_up(_user):
        fields = {"password": "a-racing-passphrase", "name": "Racer", "role": "learner"}
        return register(email="racer@example.com", **fields)

    threaded_app.config["RESET_LIMIT_PER_ACCOUNT"] = "10 per hour"
    outcomes = at_once(threaded_app, [(someone_id, sign_up) for _ in range(4)])

    assert outcomes == [None] * 4
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "racer@example.com")) == 1
    templates = sorted(
        db.session.scalars(
            select(OutboundEmail.template).where(OutboundEmail.to_address == "racer@example.com")
        )
    )
    assert templates == ["account_exists"] * 3 + ["verify_email"]


# ------------------------------------------------------------------------------ signing in


def test_signing_in_checks_one_password_whether_or_not_the_account_exists(app, make_user, monkeypatch):
    make_user(email="known@example.com")
    make_user(email="unconfirmed@example.com", unverified=True)
    checks = count_calls(monkeypatch, passwords, "verify_password")
    answers = []
    for address, password in [
        ("ghost@example.com", "correct-horse-battery"),  # no such account
        ("known@example.com", "not-the-password"),  # wrong password
        ("unconfirmed@example.com", "correct-horse-battery"),  # right password, not confirmed
    ]:
        before = len(checks)
        with pytest.raises(AuthenticationError) as refused:
            auth.authenticate(address, password)
        answers.append((refused.value.message, refused.value.code, len(checks) - before))
    assert answers == [("Wrong email or password.", "authentication_failed", 1)] * 3
    # The stand-in hash for unknown addresses costs what a real one does.
    assert passwords.needs_rehash(auth._dummy_hash()) is False


# ------------------------------------------------------------------------------ reset requests


def comparable(response, address):
    body = response.get_data(as_text=True).replace(address, "EMAIL")
    body = re.sub(r'"timestamp": ?"[^"]+"', "", body)
    body = re.sub(r'(name="csrf[-_]token"[^>]*(?:content|value))="[^"]*"', r"\1", body)
    headers = sorted(
        (name, re.sub(r"=[^;]*", "=…", value, count=1) if name == "Set-Cookie" else value)
        for name, value in response.headers.items()
        if name not in {"Date", "Content-Length", "X-Request-ID"}  # the id is new per request
    )
    return response.status_code, body, headers


def test_reset_requests_answer_identically_and_only_queue_their_work(app, make_user, monkeypatch):
    make_user(email="known@example.com")
    queued = []

    def enqueue(queue, job, *args, job_id=None, after_response=False):
        queued.append((queue, job, args))
        return True

    monkeypatch.setattr(tasks, "enqueue", enqueue)
    answers = {}
    for address in ("known@example.com", "ghost@example.com"):
        api = app.test_client().post("/api/password-reset/", json={"email": address})
        browser = AuthActions(app.test_client())
        page = browser.client.post(
            "/auth/forgot", data={"email": address, "csrf_token": browser.csrf("/auth/forgot")}
        )
        answers[address] = (comparable(api, address), comparable(page, address))

    assert answers["known@example.com"] == answers["ghost@example.com"]
    assert answers["known@example.com"][0][0] == 200 and answers["known@example.com"][1][0] == 200
    # Both requests did the same thing: queued a job with the address. Nothing was written yet.
    assert [(queue, func, args) for queue, func, args in queued] == [
        ("emails", accounts.deliver_password_reset, ("known@example.com",)),
        ("emails", accounts.deliver_password_reset, ("known@example.com",)),
        ("emails", accounts.deliver_password_reset, ("ghost@example.com",)),
        ("emails", accounts.deliver_password_reset, ("ghost@example.com",)),
    ]
    assert db.session.scalar(select(func.count(AccountToken.id))) == 0
    assert db.session.scalar(select(func.count(OutboundEmail.id))) == 0

    # The worker sends the link to the known address only.
    for _queue, job, args in queued:
        job(*args)
    assert len(reset_links("known@example.com")) == 2
    assert db.session.scalar(select(func.count(OutboundEmail.id))) == 2


def test_without_a_worker_the_reset_email_goes_once_the_answer_has_been_sent(app, make_user):
    """Jobs run in the web process (no Redis): the lookup and the email wait until the server has
    sent the answer and closes it, so the answer takes as long for a registered address as for
    an unknown one."""
    app.config["JOBS_AFTER_RESPONSE"] = True
    make_user(email="known@example.com")
    known = app.test_client().post("/api/password-reset/", json={"email": "known@example.com"})
    assert reset_links("known@example.com") == []  # answered; nothing looked up or sent yet
    known.close()  # what a WSGI server does once the last byte is out
    db.session.expire_all()
    assert len(reset_links("known@example.com")) == 1
    ghost = app.test_client().post("/api/password-reset/", json={"email": "ghost@example.com"})
    ghost.close()
    assert comparable(known, "known@example.com") == comparable(ghost, "ghost@example.com")
    assert db.session.scalar(select(func.count(OutboundEmail.id))) == 1


# ------------------------------------------------------------------------------ older links


def test_completing_a_reset_retires_every_older_reset_link(client, make_user):
    make_user(email="a@example.com")
    older = ask_for_reset(client, "a@example.com")
    newer = ask_for_reset(client, "a@example.com")
    assert confirm_reset(client, newer).status_code == 200

    refused = confirm_reset(client, older, "someone-elses-passphrase")
    assert refused.status_code == 400 and error_code(refused) == "token_superseded"
    page = client.get(f"/auth/reset/{older}")
    assert page.status_code == 400 and "no longer works" in page.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "a@example.com"))
    assert passwords.verify_password(user.password_hash, "a-fresh-passphrase")


def test_two_reset_links_used_at_once_change_the_password_once(threaded_app):
    user = User(
        email="a@example.com",
        name="Asha",
        password_hash=passwords.hash_password("correct-horse-battery"),
        timezone="UTC",
        email_verified_at=utcnow(),
    )
    db.session.add(user)
    db.session.commit()
    user_id = user.id
    links = []
    for _ in range(4):
        accounts.deliver_password_reset("a@example.com")
        links.append(reset_links("a@example.com")[-1])
    db.session.remove()

    def use(link):
        def call(_user):
            try:
                accounts.reset_password(link, f"passphrase-from-{link[:8]}")
            except TokenInvalid as exc:
                return ("refused", exc.code)
            return ("changed", link)

        return call

    outcomes = at_once(threaded_app, [(user_id, use(link)) for link in links])

    changed = [link for outcome, link in outcomes if outcome == "changed"]
    assert (
        len(changed) == 1
        and sorted(o for o in outcomes if o[0] == "refused") == [("refused", "token_superseded")] * 3
    )
    user = db.session.get(User, user_id)
    assert passwords.verify_password(user.password_hash, f"passphrase-from-{changed[0][:8]}")
    assert user.credential_epoch == 1


def test_a_password_change_retires_older_links_and_keeps_this_device(client, make_user, api_token):
    user = make_user(email="a@example.com")
    link = ask_for_reset(client, "a@example.com")
    this_device, other_device = api_token("a@example.com"), api_token("a@example.com")

    wrong = client.post(
        "/api/change-password/",
        json={"current_password": "not-it-at-all", "new_password": "a-changed-passphrase"},
        headers=bearer(this_device),
    )
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["error"]["fields"]
    assert client.get(f"/auth/reset/{link}").status_code == 200  # a refused change moves nothing

    changed = client.post(
        "/api/change-password/",
        json={"current_password": "correct-horse-battery", "new_password": "a-changed-passphrase"},
        headers=bearer(this_device),
    )
    assert changed.status_code == 200

    refused = confirm_reset(client, link, "someone-elses-passphrase")
    assert refused.status_code == 400 and error_code(refused) == "token_superseded"
    assert client.get("/api/profile/", headers=bearer(this_device)).status_code == 200
    assert client.get("/api/profile/", headers=bearer(other_device)).status_code == 401
    assert api_token("a@example.com", "a-changed-passphrase")
    told = db.session.scalar(
        select(OutboundEmail)
        .where(OutboundEmail.user_id == user.id, OutboundEmail.template == "password_changed")
        .order_by(OutboundEmail.id.desc())
    )
    assert "every other device that was signed in has been signed out" in told.text_body


def test_the_change_password_page_keeps_this_browser_signed_in(client, auth, make_user):
    make_user(email="a@example.com")
    link = ask_for_reset(client, "a@example.com")
    auth.login("a@example.com")
    form = client.get("/auth/password")
    token = extract_csrf(form.get_data(as_text=True))
    response = client.post(
        "/auth/password",
        data={
            "current_password": "correct-horse-battery",
            "new_password": "a-changed-passphrase",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    assert "Every other device was signed out." in client.get("/profile").get_data(as_text=True)
    assert error_code(confirm_reset(client, link)) == "token_superseded"


@pytest.mark.parametrize("where", ["page", "api"])
def test_log_out_everywhere_retires_older_links(app, client, auth, make_user, api_token, where):
    make_user(email="a@example.com")
    link = ask_for_reset(client, "a@example.com")
    if where == "page":
        auth.login("a@example.com")
        token = extract_csrf(client.get("/profile").get_data(as_text=True))
        assert client.post("/auth/logout-everywhere", data={"csrf_token": token}).status_code == 302
    else:
        response = client.post("/api/logout-all/", headers=bearer(api_token("a@example.com")))
        assert response.status_code == 200
    refused = confirm_reset(app.test_client(), link)
    assert refused.status_code == 400 and error_code(refused) == "token_superseded"


def test_log_out_everywhere_retires_a_confirmation_link(client, auth, make_user):
    user = make_user(email="a@example.com")
    auth.login("a@example.com")
    user.email_verified_at = None  # signed in from before confirmation was needed to sign in
    db.session.commit()
    accounts.resend_verification(user)
    link = re.search(r"http://localhost(/auth/verify/\S+)", accounts_last_body("a@example.com")).group(1)
    token = extract_csrf(client.get("/profile").get_data(as_text=True))
    client.post("/auth/logout-everywhere", data={"csrf_token": token})

    response = client.get(link)
    assert response.status_code == 400 and "no longer works" in response.get_data(as_text=True)
    assert client.get("/learn").status_code == 302  # and it signed nobody in


def accounts_last_body(address):
    return db.session.scalar(
        select(OutboundEmail.text_body)
        .where(OutboundEmail.to_address == address)
        .order_by(OutboundEmail.id.desc())
    )


def test_links_sent_before_epochs_existed_still_work_until_the_next_change(client, make_user):
    user = make_user(email="a@example.com")
    raw = "an-old-style-raw-token-value"
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose="reset_password",
            token_hash=hash_token(raw),
            created_at=utcnow(),
            expires_at=utcnow() + accounts._reset_lifetime(),
        )
    )
    db.session.commit()
    old_style = accounts._serializer("reset_password").dumps(raw)
    assert client.get(f"/auth/reset/{old_style}").status_code == 200
    auth.sign_out_everywhere(user)
    assert client.get(f"/auth/reset/{old_style}").status_code == 400


# ------------------------------------------------------------------------------ calendar feed


def feed_url_on_the_bookings_page(client):
    match = re.search(
        r"http://localhost(/calendar/[\w-]+\.ics)", client.get("/bookings").get_data(as_text=True)
    )
    assert match, "the bookings page shows no feed URL"
    return match.group(1)


@pytest.mark.parametrize("change", ["reset", "password change", "log out everywhere"])
def test_the_calendar_feed_moves_to_a_new_url(client, auth, make_user, change):
    user = make_user(email="a@example.com")
    old_feed = f"/calendar/{calendar.ensure_calendar_token(user)}.ics"
    assert client.get(old_feed).status_code == 200
    auth.login("a@example.com")
    assert feed_url_on_the_bookings_page(client) == old_feed

    if change == "reset":
        assert confirm_reset(client, ask_for_reset(client, "a@example.com")).status_code == 200
        assert auth.login("a@example.com", "a-fresh-passphrase").status_code == 302
    elif change == "password change":
        token = extract_csrf(client.get("/auth/password").get_data(as_text=True))
        data = {"current_password": "correct-horse-battery", "new_password": "a-fresh-passphrase"}
        assert client.post("/auth/password", data={**data, "csrf_token": token}).status_code == 302
    else:
        token = extract_csrf(client.get("/profile").get_data(as_text=True))
        response = client.post("/auth/logout-everywhere", data={"csrf_token": token}, follow_redirects=True)
        assert "your calendar feed has a new address" in response.get_data(as_text=True)
        auth.login("a@example.com")

    assert client.get(old_feed).status_code == 404
    new_feed = feed_url_on_the_bookings_page(client)
    assert new_feed != old_feed and client.get(new_feed).status_code == 200


def test_no_feed_is_made_for_someone_who_never_had_one(make_user):
    user = make_user(email="a@example.com")
    auth.sign_out_everywhere(user)
    assert db.session.get(User, user.id).calendar_token is None
