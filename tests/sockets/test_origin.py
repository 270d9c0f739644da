"""The Socket.IO handshake's origin check, through the WSGI stack a browser's request takes: a page
on another site cannot open a socket with the user's cookies, whatever X-Forwarded-Host says."""

import json

import pytest

from tests.conftest import AuthActions

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def handshake(client, **headers):
    return client.get(HANDSHAKE, headers=headers)


def refused(response):
    return response.status_code == 400 and b"Not an accepted origin" in response.data


@pytest.fixture
def signed_in(app, make_user):
    make_user(email="ana@example.com")
    browser = app.test_client()
    assert AuthActions(browser).login("ana@example.com").status_code == 302
    return browser


def test_a_forged_x_forwarded_host_does_not_let_a_foreign_origin_in(signed_in):
    response = handshake(signed_in, Origin="http://evil.example", **{"X-Forwarded-Host": "evil.example"})
    assert refused(response)


def test_behind_a_trusted_proxy_x_forwarded_host_still_does_not_count(app, signed_in):
    app.config.update(PROXY_COUNT=1, PUBLIC_BASE_URL="https://learn.example.org")
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    assert refused(handshake(signed_in, Origin="https://evil.example", **forged))
    assert handshake(signed_in, Origin="https://learn.example.org", **forged).status_code == 200


def test_a_page_of_the_site_opens_a_signed_in_socket(signed_in):
    response = handshake(signed_in, Origin="http://localhost")  # the testing PUBLIC_BASE_URL
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost"
    sid = json.loads(response.data.decode()[1:])["sid"]
    sent = signed_in.post(f"{HANDSHAKE}&sid={sid}", data="40", headers={"Origin": "http://localhost"})
    assert sent.status_code == 200
    answer = signed_in.get(f"{HANDSHAKE}&sid={sid}", headers={"Origin": "http://localhost"}).data.decode()
    assert answer.startswith("40{"), answer  # CONNECT accepted: the socket is signed in


def test_the_public_address_is_the_site_whatever_host_the_request_names(app, signed_in):
    app.config["PUBLIC_BASE_URL"] = "https://Learn.Example.org:443/peerlearn"
    assert handshake(signed_in, Origin="https://learn.example.org").status_code == 200
    # The page the browser opened at the very host it talks to is the site's own page too.
    assert handshake(signed_in, Origin="http://localhost").status_code == 200
    assert refused(handshake(signed_in, Origin="http://localhost:5000"))
    assert refused(handshake(signed_in, Origin="https://learn.example.org.evil.example"))
    assert refused(handshake(signed_in, Origin="null"))


def test_without_a_public_address_the_request_host_and_trusted_scheme_count(app, signed_in):
    app.config.update(PUBLIC_BASE_URL=None, PROXY_COUNT=1)
    https = {"X-Forwarded-Proto": "https"}
    assert handshake(signed_in, Origin="https://localhost", **https).status_code == 200
    assert refused(handshake(signed_in, Origin="http://localhost", **https))
    forged = {"X-Forwarded-Host": "evil.example", **https}
    assert refused(handshake(signed_in, Origin="https://evil.example", **forged))
    app.config["PROXY_COUNT"] = 0  # no proxy trusted: X-Forwarded-Proto is the client's word
    assert refused(handshake(signed_in, Origin="https://localhost", **https))
    assert handshake(signed_in, Origin="http://localhost", **https).status_code == 200


def test_configured_extra_origins_may_open_sockets(app, signed_in):
    app.config["SOCKETIO_CORS_ORIGINS"] = ["https://app.example.org"]
    assert handshake(signed_in, Origin="https://app.example.org").status_code == 200
    assert handshake(signed_in, Origin="http://localhost").status_code == 200
    assert refused(handshake(signed_in, Origin="https://other.example.org"))


def test_the_development_server_accepts_its_page_at_either_loopback_name(app, signed_in):
    """PUBLIC_BASE_URL says 127.0.0.1:5000 (the development default); someone opens localhost:5000."""
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"
    at_localhost = {"Host": "localhost:5000"}
    assert handshake(signed_in, Origin="http://localhost:5000", **at_localhost).status_code == 200
    assert handshake(signed_in, Origin="http://127.0.0.1:5000", **at_localhost).status_code == 200
    assert refused(handshake(signed_in, Origin="http://evil.example", **at_localhost))
    forged = {"X-Forwarded-Host": "evil.example", **at_localhost}
    assert refused(handshake(signed_in, Origin="http://evil.example", **forged))
