"""Socket.IO connections: signed-in users only, and signing out closes them."""

import pytest
from sqlalchemy import delete, select

from peerlearn.extensions import db
from tests.conftest import AuthActions, IsolatedSocketClient


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


def test_a_socket_keeps_its_identity_until_its_sign_in_ends(app, client, auth, make_user, socket_client):
    """Events read the identity kept at connect, not the database; a sign-out notice (from this
    process or, through the queue, from another) drops it, and the socket goes."""
    from peerlearn.models import AuthSession
    from peerlearn.services import realtime

    make_user(email="a@example.com")
    auth.login("a@example.com")
    sio = socket_client(client)
    assert sio.emit("whoami", callback=True)["role"] == "learner"
    [auth_session_id] = db.session.scalars(select(AuthSession.id)).all()
    # Deleted behind the app's back, without the notice: the socket's identity is not re-read.
    db.session.execute(delete(AuthSession))
    db.session.commit()
    assert sio.emit("whoami", callback=True)["role"] == "learner"

    realtime.end_auth_sessions([auth_session_id])

    assert not sio.is_connected()


def test_after_a_lost_notice_each_socket_reads_its_sign_in_again(app, client, auth, make_user, socket_client):
    from peerlearn.models import AuthSession
    from peerlearn.services import realtime

    make_user(email="a@example.com")
    auth.login("a@example.com")
    sio = socket_client(client)
    other_browser = app.test_client()
    AuthActions(other_browser).login("a@example.com")
    other_sio = socket_client(other_browser)
    # The first browser's record disappears and its notice is lost (the listener was away).
    first = min(db.session.scalars(select(AuthSession.id)))
    db.session.execute(delete(AuthSession).where(AuthSession.id == first))
    db.session.commit()
    realtime.notices_may_have_been_lost()

    assert not sio.emit("whoami", callback=True)  # no identity is answered
    assert not sio.is_connected()
    assert other_sio.emit("whoami", callback=True)["role"] == "learner"  # its record is still there


def test_with_no_recheck_interval_every_event_reads_the_sign_in(app, client, auth, make_user, socket_client):
    from peerlearn.models import AuthSession

    app.config["SOCKET_AUTH_RECHECK_SECONDS"] = 0
    make_user(email="a@example.com")
    auth.login("a@example.com")
    sio = socket_client(client)
    assert sio.emit("whoami", callback=True)["role"] == "learner"
    db.session.query(AuthSession).delete()
    db.session.commit()
    assert not sio.emit("whoami", callback=True)
    assert not sio.is_connected()


def test_a_socket_whose_sign_in_expired_is_dropped_at_its_next_event(
    client, auth, make_user, socket_client, time_machine
):
    from datetime import timedelta

    from peerlearn.models import utcnow

    make_user(email="a@example.com")
    time_machine.move_to(utcnow(), tick=False)
    auth.login("a@example.com")
    sio = socket_client(client)
    assert sio.emit("whoami", callback=True)["role"] == "learner"
    time_machine.move_to(utcnow() + timedelta(hours=25), tick=False)  # a day without "remember me"
    assert not sio.emit("whoami", callback=True)
    assert not sio.is_connected()
