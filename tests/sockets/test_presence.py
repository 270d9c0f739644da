"""Socket.IO connections: signed-in users only, and signing out closes them."""

import pytest

from tests.conftest import IsolatedSocketClient


@pytest.fixture
def socket_client(app):
    clients = []

    def connect(flask_client):
        sio = IsolatedSocketClient(app, flask_client)
        clients.append(sio)
        return sio

    yield connect
    for sio in clients:
        if sio.is_connected():
            sio.disconnect()


def test_anonymous_connect_is_refused(client, socket_client):
    sio = socket_client(client)
    assert not sio.is_connected()


def test_signed_in_user_connects_and_is_identified(client, auth, make_user, socket_client):
    user = make_user(email="a@example.com", role="mentor")
    auth.login("a@example.com")
    sio = socket_client(client)
    assert sio.is_connected()
    assert sio.emit("whoami", callback=True) == {
        "user_id": user.id,
        "role": "mentor",
        "capabilities": ["learner", "mentor"],
    }


def test_logout_disconnects_that_sessions_sockets(app, client, auth, make_user, socket_client):
    make_user(email="a@example.com")
    auth.login("a@example.com")
    sio = socket_client(client)
    assert sio.is_connected()

    from tests.conftest import AuthActions

    other_browser = app.test_client()
    AuthActions(other_browser).login("a@example.com")
    other_sio = socket_client(other_browser)

    auth.logout()
    assert not sio.is_connected()
    assert other_sio.is_connected()  # only the signed-out browser's sockets close


def test_logout_everywhere_disconnects_all_sockets(app, client, auth, make_user, socket_client):
    make_user(email="a@example.com")
    from tests.conftest import AuthActions, extract_csrf

    other_browser = app.test_client()
    AuthActions(other_browser).login("a@example.com")
    other_sio = socket_client(other_browser)
    auth.login("a@example.com")
    sio = socket_client(client)
    token = extract_csrf(client.get("/profile").get_data(as_text=True))
    client.post("/auth/logout-everywhere", data={"csrf_token": token})
    assert not sio.is_connected() and not other_sio.is_connected()


def test_events_recheck_the_sign_in(app, client, auth, make_user, socket_client, monkeypatch):
    from peerlearn.extensions import db
    from peerlearn.models import AuthSession
    from peerlearn.sockets import auth as socket_auth

    make_user(email="a@example.com")
    auth.login("a@example.com")
    sio = socket_client(client)
    assert sio.emit("whoami", callback=True)["role"] == "learner"
    # The record disappears without the realtime notice (e.g. deleted on another server).
    db.session.query(AuthSession).delete()
    db.session.commit()
    # Within SOCKET_AUTH_RECHECK_SECONDS the sign-in checked a moment ago is still trusted...
    assert sio.emit("whoami", callback=True)["role"] == "learner"
    # ...and once they have passed, the record is read again and the socket is dropped.
    later = socket_auth.clock() + app.config["SOCKET_AUTH_RECHECK_SECONDS"] + 1
    monkeypatch.setattr(socket_auth, "clock", lambda: later)
    assert not sio.emit("whoami", callback=True)  # no identity is answered
    assert not sio.is_connected()
