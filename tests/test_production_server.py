"""The production entry point really starts: gunicorn with the gevent worker, production config."""

import re
import secrets
import subprocess
import urllib.request
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet

from tests.conftest import free_port
from tests.processes import BIN, ROOT, process_env, start_gunicorn, stop, wait_until_healthy


@pytest.fixture
def production_server(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = process_env(
        PEERLEARN_ENV="production",
        PUBLIC_BASE_URL=base,  # production builds links on it and refuses to start without it
        SECRET_KEY=secrets.token_hex(32),
        PAYOUT_DETAILS_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        UPLOAD_DIR=str(tmp_path / "uploads"),
        FLASK_APP="peerlearn:create_app",
        SESSION_COOKIE_SECURE="false",  # plain http on loopback in this test
        ALLOW_DEV_GATEWAY="true",  # no Razorpay here: the local test checkout
    )
    subprocess.run([BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603 - a fixed argument list of our own, no shell
    create = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [BIN / "flask", "create-admin", "--email", "ops@example.com", "--name", "Ops"],
        cwd=ROOT,
        env=env,
        input="an-admin-passphrase\nan-admin-passphrase\n",
        text=True,
        capture_output=True,
    )
    assert create.returncode == 0, create.stderr
    log = (tmp_path / "gunicorn.log").open("w+b")
    server = start_gunicorn(port, env, log)
    try:
        wait_until_healthy(base, server, log)
        yield base
    finally:
        stop(server)
        log.close()


def fetch(opener, url, data=None):
    """GET (or POST ``data``) and return (final url, body), always closing the response."""
    with opener.open(urllib.request.Request(url, data=data)) as response:  # noqa: S310 - an http URL on loopback built here
        return response.url, response.read().decode()


def socket_connect_reply(opener, base):
    """Open an Engine.IO session, ask to connect to the default namespace, return the reply."""
    _url, handshake = fetch(opener, f"{base}/socket.io/?EIO=4&transport=polling")
    sid = re.search(r'"sid":"([^"]+)"', handshake).group(1)
    fetch(opener, f"{base}/socket.io/?EIO=4&transport=polling&sid={sid}", data=b"40")
    return fetch(opener, f"{base}/socket.io/?EIO=4&transport=polling&sid={sid}")[1]


def test_gunicorn_gevent_serves_pages_sockets_and_sign_in(production_server):
    base = production_server
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    assert "PeerLearn" in fetch(opener, f"{base}/")[1]
    with pytest.raises(HTTPError) as outbox:
        fetch(opener, f"{base}/dev/outbox")
    assert outbox.value.code == 404  # never in production
    outbox.value.close()

    # Engine.IO works under gevent; an anonymous Socket.IO connect is refused with a reason.
    assert "authentication required" in socket_connect_reply(opener, base)

    # The admin made by the CLI signs in through the real form.
    page = fetch(opener, f"{base}/auth/login")[1]
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    form = urlencode({"email": "ops@example.com", "password": "an-admin-passphrase", "csrf_token": token})
    assert fetch(opener, f"{base}/auth/login", data=form.encode())[0].endswith("/admin")

    # Signed in, the socket is accepted.
    assert socket_connect_reply(opener, base).startswith("40{")
