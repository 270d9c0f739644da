"""Absolute links are built on the site's configured address (PUBLIC_BASE_URL), never on the host a
request names: a password reset asked for with ``Host: evil.example`` must not mail the reset token
to evil.example, whatever the Host or X-Forwarded-Host header says."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from peerlearn import configure_proxy
from peerlearn.extensions import db
from peerlearn.models import OutboundEmail
from peerlearn.services import booking as booking_service
from peerlearn.services import calendar
from tests.conftest import extract_csrf
from tests.factories import SessionFactory

# The testing config's address: the test client's own host, and nothing a request can change.
BASE = "http://localhost"
EVIL = "evil.example"
FORGED = [
    pytest.param(0, {"Host": EVIL}, id="host-header"),
    # Behind one proxy the app trusts its X-Forwarded-For and -Proto, never its -Host.
    pytest.param(1, {"X-Forwarded-Host": EVIL}, id="forwarded-host"),
]


@pytest.fixture
def forged(app):
    """Make the app's proxy setting ``proxies`` and return the forged headers to send."""

    def configure(proxies, headers):
        app.config["PROXY_COUNT"] = proxies
        configure_proxy(app)
        return headers

    return configure


def last_email(to_address):
    email = db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_address == to_address).order_by(OutboundEmail.id.desc())
    )
    assert email is not None, f"no email to {to_address}"
    return email


def assert_only_base_links(*texts):
    for text in texts:
        assert EVIL not in text
        links = re.findall(r"(?:https?|webcal)://[^\s\"'<>\\]+", text)
        assert links, text
        for link in links:
            assert link.startswith((f"{BASE}/", "webcal://localhost/")) or link == BASE, link


@pytest.mark.parametrize(("proxies", "headers"), FORGED)
def test_a_password_reset_asked_for_with_a_forged_host_mails_a_link_to_the_site(
    client, make_user, forged, proxies, headers
):
    make_user(email="asha@example.com")
    headers = forged(proxies, headers)
    page = client.get("/auth/forgot", headers=headers)
    response = client.post(
        "/auth/forgot",
        data={"email": "asha@example.com", "csrf_token": extract_csrf(page.get_data(as_text=True))},
        headers=headers,
    )
    assert response.status_code == 200
    email = last_email("asha@example.com")
    assert f"{BASE}/auth/reset/" in email.text_body and f"{BASE}/auth/reset/" in email.html_body
    assert_only_base_links(email.text_body, email.html_body)

    client.post("/api/password-reset/", json={"email": "asha@example.com"}, headers=headers)
    again = last_email("asha@example.com")
    assert again.id != email.id and f"{BASE}/auth/reset/" in again.text_body
    assert_only_base_links(again.text_body, again.html_body)


@pytest.mark.parametrize(("proxies", "headers"), FORGED)
def test_the_verification_link_ignores_a_forged_host(client, forged, proxies, headers):
    headers = forged(proxies, headers)
    response = client.post(
        "/api/register/",
        json={"email": "new@example.com", "password": "correct-horse-battery", "name": "New Person"},
        headers=headers,
    )
    assert response.status_code == 201
    email = last_email("new@example.com")
    assert f"{BASE}/auth/verify/" in email.text_body
    assert_only_base_links(email.text_body, email.html_body)


@pytest.mark.parametrize(("proxies", "headers"), FORGED)
def test_notification_emails_and_their_unsubscribe_link_ignore_a_forged_host(
    client, make_user, api_token, forged, proxies, headers
):
    mentor = make_user(email="meera@example.com", role="mentor")
    make_user(email="kabir@example.com")
    token = api_token("kabir@example.com")
    headers = forged(proxies, headers)
    response = client.post(
        f"/api/mentors/{mentor.id}/follow/", headers={**headers, "Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
    email = last_email("meera@example.com")
    assert email.unsubscribe_url.startswith(f"{BASE}/notifications/unsubscribe/")
    assert_only_base_links(email.text_body, email.html_body, email.unsubscribe_url)


@pytest.mark.parametrize(("proxies", "headers"), FORGED)
def test_the_calendar_feed_and_its_link_ignore_a_forged_host(client, make_user, forged, proxies, headers):
    learner = make_user(email="kabir@example.com")
    booking_service.book(SessionFactory(title="Pandas for messy data").id, learner)
    feed_token = calendar.ensure_calendar_token(learner)
    db.session.commit()
    headers = forged(proxies, headers)

    login = extract_csrf(client.get("/auth/login", headers=headers).get_data(as_text=True))
    credentials = {"email": "kabir@example.com", "password": "correct-horse-battery", "csrf_token": login}
    assert client.post("/auth/login", data=credentials, headers=headers).status_code == 302
    page = client.get("/bookings", headers=headers).get_data(as_text=True)
    assert f'value="{BASE}/calendar/{feed_token}.ics"' in page
    assert f"webcal://localhost/calendar/{feed_token}.ics" in page
    assert EVIL not in page

    feed = client.get(f"/calendar/{feed_token}.ics", headers=headers).get_data(as_text=True)
    assert "Pandas for messy data" in feed and f"{BASE}/sessions/" in feed
    assert EVIL not in feed


@pytest.mark.parametrize(("proxies", "headers"), FORGED)
def test_api_urls_ignore_a_forged_host(client, make_user, forged, proxies, headers):
    mentor = make_user(email="meera@example.com", role="mentor")
    mentor.avatar_filename = "a" * 32 + ".webp"
    session = SessionFactory(mentor=mentor, title="Dynamic programming drills")
    db.session.commit()
    headers = forged(proxies, headers)

    data = client.get(f"/api/mentors/{mentor.id}/", headers=headers).get_json()["data"]
    assert data["avatar_url"] == f"{BASE}/media/avatars/{mentor.avatar_filename}"
    assert data["profile_url"] == f"{BASE}/mentors/{mentor.id}"

    listing = client.get("/api/sessions/", headers=headers)
    assert listing.status_code == 200
    assert f"{BASE}/sessions/{session.id}" in listing.get_data(as_text=True)
    assert EVIL not in listing.get_data(as_text=True)


def test_a_configured_address_with_a_path_prefixes_every_link(app):
    from peerlearn.links import external_url

    app.config["PUBLIC_BASE_URL"] = "https://example.org/learn"
    assert external_url("auth.reset_password", token="t") == "https://example.org/learn/auth/reset/t"  # noqa: S106 - a test's own credential, not a secret
    assert external_url("main.index") == "https://example.org/learn/"


def test_nothing_builds_a_link_from_the_request():
    """Absolute links go through peerlearn.links.external_url; Flask's own (``_external=True``,
    ``request.host_url`` and the like) would take the host from the request."""
    package = Path(__file__).resolve().parent.parent / "peerlearn"
    forbidden = re.compile(r"_external\s*=|url_root|host_url|request\.host\b|request\.base_url")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*"))
        if path.suffix in {".py", ".html", ".txt", ".js"}
        and "static/dist" not in str(path)
        and path.name != "links.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if forbidden.search(line)
    ]
    assert offenders == []
