"""On the real server, one client's events are handled in the order it sent them.

Flask-SocketIO's test client always handles events one at a time, so only a running server can
show the order. It matters to the live room: a WebRTC offer overtaken by its own ICE candidates
loses them, a restart overtaken by the new offer tears the new connection down, and a quick
"raise, lower" of a hand ends raised.
"""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
import socketio

from peerlearn.demo import DEMO_PASSWORD
from scripts.live_server import LiveServer, ServerError

MENTOR = "mentor3@peerlearn.local"
LEARNER = "learner4@peerlearn.local"
SIGNALS = 100  # well inside the signal rate limit
TIMEOUT = 30  # seconds; generous, nothing here measures speed
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="module")
def server():
    live = LiveServer(startup_timeout=30)
    try:
        live.start()
    except ServerError as exc:
        pytest.fail(f"the live server did not start: {exc}", pytrace=False)
    yield live
    live.stop()


class Member:
    """A demo account signed in through the login form, with its own cookies."""

    def __init__(self, server, email):
        self.base = server.url
        self.http = requests.Session()
        token = self._csrf(self.http.get(f"{self.base}/auth/login", timeout=TIMEOUT))
        response = self.http.post(
            f"{self.base}/auth/login",
            data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token},
            timeout=TIMEOUT,
        )
        assert "/auth/login" not in response.url, f"{email} could not sign in"
        self.csrf = self._csrf(response)

    @staticmethod
    def _csrf(response):
        return CSRF_META.search(response.text).group(1)

    def post(self, path, **kwargs):
        response = self.http.post(
            f"{self.base}{path}", headers={"X-CSRFToken": self.csrf}, timeout=TIMEOUT, **kwargs
        )
        assert response.ok, response.text
        return response

    def socket(self):
        client = socketio.Client(reconnection=False)
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        client.connect(self.base, headers={"Cookie": cookies}, wait_timeout=TIMEOUT)
        return client


def live_session(mentor, learner):
    starts_at = (datetime.now(UTC) + timedelta(minutes=6)).replace(microsecond=0)
    created = mentor.post(
        "/api/sessions/create/",
        json={
            "title": "Signals in order",
            "category": "Programming",
            "starts_at": starts_at.isoformat(),
            "duration_minutes": 60,
            "capacity": 2,
            "price_paise": 0,
            "publish": True,
        },
    )
    session_id = created.json()["data"]["id"]
    learner.post(f"/api/sessions/{session_id}/book/")
    mentor.post(f"/sessions/{session_id}/start")
    return session_id


def test_signals_reach_the_peer_in_the_order_they_were_sent(server):
    mentor, learner = Member(server, MENTOR), Member(server, LEARNER)
    session_id = live_session(mentor, learner)
    received, all_in = [], threading.Event()

    learner_socket = learner.socket()
    mentor_socket = mentor.socket()
    try:

        @learner_socket.on("signal")
        def on_signal(message):
            received.append(message["data"]["n"])
            if len(received) == SIGNALS:
                all_in.set()

        learner_id = learner_socket.call("room:join", {"session_id": session_id}, timeout=TIMEOUT)["self"][
            "user_id"
        ]
        assert mentor_socket.call("room:join", {"session_id": session_id}, timeout=TIMEOUT)["ok"]

        # Sent back to back, without waiting for acks, as a browser trickles ICE candidates.
        for n in range(SIGNALS):
            mentor_socket.emit(
                "signal", {"session_id": session_id, "to": learner_id, "kind": "candidate", "data": {"n": n}}
            )
        assert all_in.wait(TIMEOUT), f"{len(received)} of {SIGNALS} signals arrived"
        assert received == list(range(SIGNALS))
    finally:
        mentor_socket.disconnect()
        learner_socket.disconnect()
