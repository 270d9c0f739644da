"""What every request pays, cut without losing what it was for: a visitor's page without a form
issues no CSRF token and sets no cookie, while forms and signed-in pages keep their token and
writes still need it; the rate limiter's hook does nothing while no route declares a limit, yet
a declared one still applies; the content security policy is drawn again when its settings
change; a remembered sign-in's cookie is not rewritten on every request; signing in reads the
account once."""

import re

import flask
from flask import render_template_string
from flask_limiter.util import get_remote_address
from sqlalchemy import event

from peerlearn.extensions import Limiter, db
from tests.conftest import CSRF_META, extract_csrf
from tests.support.csp import JANUS, directives

SESSION_COOKIE = "peerlearn_session"


def session_cookie_set(response):
    return any(value.startswith(f"{SESSION_COOKIE}=") for value in response.headers.getlist("Set-Cookie"))


def test_a_visitors_page_without_a_form_sets_no_cookie_and_carries_no_token(client):
    for path in ("/", "/sessions", "/mentors"):
        page = client.get(path)
        assert page.status_code == 200
        assert CSRF_META.search(page.text) is None, path
        assert not session_cookie_set(page), path
    assert client.get_cookie(SESSION_COOKIE) is None


def test_a_visitors_form_page_carries_the_token_of_its_form(client):
    page = client.get("/auth/login")
    meta = CSRF_META.search(page.text)
    assert meta is not None
    assert set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)) == {meta.group(1)}
    assert session_cookie_set(page)


def test_a_login_without_the_forms_token_is_still_refused(client, make_user):
    make_user(email="visitor@example.com")
    client.get("/")  # a page without a form: no token issued, no cookie
    form = {"email": "visitor@example.com", "password": "correct-horse-battery"}
    assert client.post("/auth/login", data=form).status_code == 400
    assert client.get("/learn").status_code == 302  # not signed in


def test_signed_in_pages_carry_the_token_their_scripts_write_with(client, auth, make_user):
    make_user(email="learner@example.com")
    assert auth.login("learner@example.com").status_code == 302
    # The catalog has no form of its own: its token comes from the header's log-out form.
    token = CSRF_META.search(client.get("/sessions").text).group(1)
    assert client.post("/api/notifications/read/", json={"all": True}).status_code == 400
    accepted = client.post("/api/notifications/read/", json={"all": True}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200


def test_a_remembered_sign_in_is_not_rewritten_on_every_request(client, auth, make_user):
    make_user(email="remember@example.com")
    signed_in = auth.login("remember@example.com", remember=True)
    assert session_cookie_set(signed_in)
    client.get("/learn")  # shows the welcome flash, which changes the session once
    for path in ("/", "/sessions", "/learn"):
        page = client.get(path)
        assert page.status_code == 200, path  # still signed in
        assert not session_cookie_set(page), path


def test_a_declared_limit_still_applies_though_the_hook_skips_without_any():
    assert not Limiter(key_func=get_remote_address).declares_limits()

    app = flask.Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    limiter = Limiter(key_func=get_remote_address)
    limiter.init_app(app)

    @app.get("/open")
    def open_page():
        return "open"

    @app.get("/limited")
    @limiter.limit("1 per minute")
    def limited_page():
        return "limited"

    client = app.test_client()
    assert limiter.declares_limits()
    assert [client.get("/limited").status_code for _ in range(2)] == [200, 429]
    assert [client.get("/open").status_code for _ in range(3)] == [200, 200, 200]


def test_the_policy_follows_a_setting_changed_after_it_was_first_sent(app, client):
    first = directives(client.get("/").headers["Content-Security-Policy"])
    assert first["connect-src"] == ["'self'", "ws://localhost"]
    app.config["JANUS_INSTANCES"] = [{**JANUS, "public": "ws://127.0.0.1:18188/"}]
    second = directives(client.get("/").headers["Content-Security-Policy"])
    assert second["connect-src"] == ["'self'", "ws://localhost", "ws://127.0.0.1:18188"]
    app.config["JANUS_INSTANCES"] = []
    assert directives(client.get("/").headers["Content-Security-Policy"]) == first


def test_signing_in_reads_the_account_once(client, make_user):
    make_user(email="counted@example.com")
    token = extract_csrf(client.get("/auth/login").text)
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.post(
            "/auth/login",
            data={"email": "counted@example.com", "password": "correct-horse-battery", "csrf_token": token},
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 302
    reads_of_users = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM users" in s]
    assert len(reads_of_users) == 1, statements
    assert client.get("/learn").status_code == 200


def test_the_headers_kept_links_follow_the_script_root(client, auth, make_user):
    make_user(email="mounted@example.com")
    auth.login("mounted@example.com")
    browse = 'href="{}" class="rounded-lg px-3 py-2 text-sm font-medium'
    assert browse.format("/sessions") in client.get("/learn").text
    mounted = client.get("/learn", base_url="http://localhost/peer/").text
    assert browse.format("/peer/sessions") in mounted
    assert browse.format("/sessions") not in mounted
    assert browse.format("/sessions") in client.get("/learn").text


def test_a_signed_in_page_without_the_header_or_a_form_still_carries_the_token(app, client, auth, make_user):
    # Like the earnings statement or the live room: no header, so no log-out form; a script on
    # such a page may still write through the API.
    @app.get("/bare-page")
    def bare_page():
        return render_template_string(
            '{% extends "layouts/base.html" %}{% block site_header %}{% endblock %}'
            "{% block content %}Nothing to post{% endblock %}"
        )

    visitor = client.get("/bare-page")
    assert CSRF_META.search(visitor.text) is None
    make_user(email="bare@example.com")
    auth.login("bare@example.com")
    page = client.get("/bare-page")
    assert 'aria-label="Main"' not in page.text  # no site header
    token = CSRF_META.search(page.text).group(1)
    assert client.post("/api/notifications/read/", json={"all": True}).status_code == 400
    accepted = client.post("/api/notifications/read/", json={"all": True}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200
