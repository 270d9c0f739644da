"""Several processes, one room: with SOCKETIO_MESSAGE_QUEUE (Redis), two real server processes
relay the room's events to each other's clients, and processes without a server (an RQ worker,
a script with an emit-only SocketIO) reach those clients too.

The module starts one deployment: a SQLite file and a secret key shared by two `flask serve`
processes, A and B, and a pub/sub channel of its own (Redis pub/sub ignores database numbers, so
only the channel keeps parallel runs apart). Each test seeds its own people and session.
"""

import os
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import socketio

from peerlearn import create_app
from peerlearn.extensions import db
from tests.conftest import extract_csrf, free_port, reachable_redis_url
from tests.factories import DEFAULT_PASSWORD, UserFactory, make_session
from tests.support.inbox import Inbox

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TIMEOUT = 20  # seconds to wait for anything; generous, nothing here measures speed
# Settings of the developer's shell or of the suite that must not reach the servers.
FOREIGN = ("PEERLEARN_", "TEST_", "REDIS", "DATABASE", "SOCKETIO", "FLASK", "JOBS_", "RATELIMIT", "MAIL_")


@pytest.fixture(scope="module")
def redis_url():
    return reachable_redis_url()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, redis_url):
    """The environment every process of the deployment shares, and its migrated database."""
    home = tmp_path_factory.mktemp("deployment")
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN)}
    env.update(
        FLASK_APP="peerlearn:create_app",
        FLASK_SKIP_DOTENV="1",
        PEERLEARN_ENV="development",
        PEERLEARN_INSTANCE_DIR=str(home / "instance"),
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=f"sqlite:///{home / 'shared.sqlite3'}",
        SOCKETIO_MESSAGE_QUEUE=redis_url,
        SOCKETIO_CHANNEL=f"peerlearn-test-{uuid.uuid4().hex}",
        # Jobs inline and rate limits in memory (no REDIS_URL): besides the database, the queue
        # is all the servers share, so nothing of another run can get in the way.
        JOBS_INLINE="true",
        # Browser-to-browser rooms: what crosses processes here is the Socket.IO relay, and two
        # embedded Janus servers started at once in the one instance folder would write their
        # configurations over each other's.
        ROOM_MEDIA="mesh",
        SWEEP_INTERVAL_SECONDS="3600",
        MAIL_BACKEND="log",
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST="1024",
        PYTHONUNBUFFERED="1",
    )
    migrate = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    return env


@pytest.fixture(scope="module")
def seed_app(deployment):
    """An app in this process on the deployment's database and secret key, to seed it and to
    act as the payment gateway. Built without the queue: this process takes no part in it."""
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": deployment["DATABASE_URL"],
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "SECRET_KEY": deployment["SECRET_KEY"],
        },
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


class Server:
    """One `flask serve` process of the deployment, its output kept for failure reports."""

    def __init__(self, env, name, log_dir):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_dir / f"server-{name}.log", "w+b")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
            [BIN / "flask", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_healthy(self):
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310 - an http URL on loopback built here
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server {self.name} did not come up:\n{self.output()}")
            time.sleep(0.2)

    def check_running(self):
        if self.process.poll() is not None:
            pytest.fail(f"server {self.name} exited with {self.process.returncode}:\n{self.output()}")

    def output(self):
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def server_pair(deployment, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("servers")
    started = []
    try:
        for name in ("A", "B"):
            started.append(Server(deployment, name, log_dir))
        for server in started:
            server.wait_until_healthy()
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def servers(server_pair):
    """Servers A and B, both still running."""
    for server in server_pair:
        server.check_running()
    return server_pair


@pytest.fixture
def room(seed_app):
    """A free session starting in five minutes (so its room is open), its mentor, a learner with
    a confirmed booking and an outsider without one; new people for every test."""
    from peerlearn.models import utcnow
    from peerlearn.services import booking as booking_service

    mentor = UserFactory(role="mentor", name="Meera Mentor")
    ana = UserFactory(name="Ana Learner")
    outsider = UserFactory(name="Olu Outsider")
    session = make_session(mentor, starts_at=utcnow() + timedelta(minutes=5))
    booking, _ = booking_service.book(session.id, ana)
    assert booking.status == "confirmed"
    people = {"mentor": mentor, "ana": ana, "outsider": outsider}
    return {
        "session_id": session.id,
        "title": session.title,
        **{role: user.id for role, user in people.items()},
        "emails": {role: user.email for role, user in people.items()},
    }


class Person:
    """A browser: signed in over HTTP on one server, with a Socket.IO connection to it."""

    def __init__(self, server, email):
        self.base = server.url
        self.http = requests.Session()
        page = self.http.get(f"{self.base}/auth/login", timeout=TIMEOUT)
        form = {"email": email, "password": DEFAULT_PASSWORD, "csrf_token": extract_csrf(page.text)}
        response = self.http.post(
            f"{self.base}/auth/login", data=form, allow_redirects=False, timeout=TIMEOUT
        )
        assert response.status_code == 302, response.text
        self.inbox = Inbox(TIMEOUT)
        # The polling transport: the client's websocket transport needs a package the app does
        # not otherwise use, and the relay under test is the same for both.
        self.sio = socketio.Client(http_session=self.http, reconnection=False)
        self.sio.on("*", self.inbox.record)
        self.sio.connect(self.base, transports=["polling"], wait_timeout=TIMEOUT)
        self.user_id = self.sio.call("whoami", timeout=TIMEOUT)["user_id"]

    def call(self, event, payload):
        return self.sio.call(event, payload, timeout=TIMEOUT)

    def join(self, session_id):
        return self.call("room:join", {"session_id": session_id})

    def post_json(self, path, body):
        """A same-origin fetch() of the page's scripts: the cookie plus the page's CSRF token."""
        token = extract_csrf(self.http.get(f"{self.base}/", timeout=TIMEOUT).text)
        return self.http.post(
            f"{self.base}{path}", json=body, headers={"X-CSRFToken": token}, timeout=TIMEOUT
        )

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()
        self.http.close()


@pytest.fixture
def people(room):
    """Sign one of the room's people in on a server, with a socket: ``people(server_a, "mentor")``."""
    opened = []

    def sign_in(server, role):
        person = Person(server, room["emails"][role])
        opened.append(person)
        return person

    yield sign_in
    for person in opened:
        person.close()


@contextmanager
def emitter(deployment):
    """What an external process uses to reach the clients: an emit-only SocketIO on the queue."""
    from flask_socketio import SocketIO

    external = SocketIO(
        message_queue=deployment["SOCKETIO_MESSAGE_QUEUE"], channel=deployment["SOCKETIO_CHANNEL"]
    )
    try:
        yield external
    finally:
        connection = external.server.manager.redis
        if connection is not None:
            connection.close()


def start_session(mentor, session_id):
    """The mentor presses "Start session" on the session's page."""
    token = extract_csrf(mentor.http.get(f"{mentor.base}/", timeout=TIMEOUT).text)
    response = mentor.http.post(
        f"{mentor.base}/sessions/{session_id}/start",
        data={"csrf_token": token},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 302, response.text


def caught_up(person, deployment):
    """Wait until everything emitted so far has reached ``person``: a marker sent to them now
    arrives after it (one queue, delivered in order), so what is missing then never comes."""
    marker = {"marker": uuid.uuid4().hex}
    with emitter(deployment) as external:
        external.emit("test:marker", marker, to=f"user:{person.user_id}")
    person.inbox.wait_for("test:marker", lambda payload: payload == marker)
    return person.inbox


def test_presence_chat_and_hands_cross_between_servers(deployment, servers, room, people):
    server_a, server_b = servers
    sid = room["session_id"]
    mentor = people(server_a, "mentor")
    ana = people(server_b, "ana")
    outsider = people(server_b, "outsider")

    # The mentor starts the session on A; Ana, connected to B, is told at once.
    start_session(mentor, sid)
    assert ana.inbox.wait_for("session:started") == {"session_id": sid, "title": room["title"]}

    mentor_ack = mentor.join(sid)
    assert mentor_ack["ok"], mentor_ack
    ack = ana.join(sid)
    assert ack["ok"], ack
    assert mentor.inbox.wait_for("room:participant_joined") == {"session_id": sid, "participant": ack["self"]}
    assert ack["self"]["user_id"] == room["ana"]
    assert ack["participants"] == [mentor_ack["self"]]  # on the other process, listed all the same

    refused = outsider.join(sid)
    assert not refused["ok"] and refused["error"]["code"] == "no_seat"

    # Chat sent on B is saved, then reaches A (and the sender); the mentor's reply goes back.
    ack = ana.call("chat:send", {"session_id": sid, "body": "Hello from B"})
    assert ack["ok"], ack
    message = mentor.inbox.wait_for("chat:message")
    assert message == {"session_id": sid, **ack["message"]}
    assert ana.inbox.wait_for("chat:message") == message
    assert message["user_id"] == room["ana"] and message["body"] == "Hello from B"
    from peerlearn.models import ChatMessage

    db.session.expire_all()
    saved = db.session.get(ChatMessage, message["id"])
    assert (saved.session_id, saved.user_id, saved.body) == (sid, room["ana"], "Hello from B")
    assert mentor.call("chat:send", {"session_id": sid, "body": "Hello from A"})["ok"]
    assert (
        ana.inbox.wait_for("chat:message", lambda m: m["body"] == "Hello from A")["user_id"] == room["mentor"]
    )

    # A hand raised on B shows on A; media state from A shows on B.
    assert ana.call("hand:set", {"session_id": sid, "raised": True}) == {"ok": True}
    hand = mentor.inbox.wait_for("hand:state")
    assert hand == {"session_id": sid, "user_id": room["ana"], "raised": True, "raised_at": hand["raised_at"]}
    media = {"audio": True, "video": True, "screen": False}
    assert mentor.call("media:state", {"session_id": sid, **media}) == {"ok": True}
    assert ana.inbox.wait_for("media:state") == {"session_id": sid, "user_id": room["mentor"], **media}

    # Ana leaves on B; the mentor on A sees her go.
    assert ana.call("room:leave", {"session_id": sid}) == {"ok": True}
    assert mentor.inbox.wait_for("room:participant_left") == {"session_id": sid, "user_id": room["ana"]}

    # The refused outsider, on the same server as Ana, got none of the room's events.
    inbox = caught_up(outsider, deployment)
    for event in ("room:participant_joined", "chat:message", "hand:state", "media:state"):
        assert inbox.payloads(event) == [], event


def test_signals_cross_between_servers(deployment, servers, room, people):
    """WebRTC signalling between a mentor on one process and a learner on the other."""
    server_a, server_b = servers
    sid = room["session_id"]
    mentor = people(server_a, "mentor")
    ana = people(server_b, "ana")
    outsider = people(server_b, "outsider")
    assert mentor.join(sid)["ok"]
    assert ana.join(sid)["ok"]
    mentor.inbox.wait_for("room:participant_joined")
    assert outsider.join(sid)["error"]["code"] == "no_seat"

    offer = {"type": "offer", "sdp": "v=0 o=- 1 2 IN IP4 127.0.0.1"}
    ack = mentor.call("signal", {"session_id": sid, "to": room["ana"], "kind": "description", "data": offer})
    assert ack == {"ok": True}, ack
    assert ana.inbox.wait_for("signal") == {
        "session_id": sid,
        "from": room["mentor"],
        "kind": "description",
        "data": offer,
    }

    answer = {"type": "answer", "sdp": "v=0 o=- 3 4 IN IP4 127.0.0.1"}
    ack = ana.call("signal", {"session_id": sid, "to": room["mentor"], "kind": "description", "data": answer})
    assert ack == {"ok": True}, ack
    assert mentor.inbox.wait_for("signal") == {
        "session_id": sid,
        "from": room["ana"],
        "kind": "description",
        "data": answer,
    }

    # Addressed to Ana only: the outsider on her server, and the mentor, never get the offer.
    ack = mentor.call("signal", {"session_id": sid, "to": room["outsider"], "kind": "candidate", "data": {}})
    assert ack["error"]["code"] == "not_a_participant"
    assert caught_up(outsider, deployment).payloads("signal") == []
    assert [s["data"] for s in mentor.inbox.payloads("signal")] == [answer]
    assert [s["data"] for s in ana.inbox.payloads("signal")] == [offer]


def test_joining_again_on_the_other_server_replaces_the_first_socket(deployment, servers, room, people):
    """A person is present once, whichever processes their sockets are on."""
    server_a, server_b = servers
    sid = room["session_id"]
    first_tab = people(server_a, "mentor")
    ana = people(server_b, "ana")
    assert first_tab.join(sid)["ok"]
    assert ana.join(sid)["ok"]

    second_tab = people(server_b, "mentor")
    ack = second_tab.join(sid)
    assert ack["ok"], ack
    assert [p["user_id"] for p in ack["participants"]] == [room["ana"]]
    assert first_tab.inbox.wait_for("room:replaced") == {"session_id": sid}
    assert ana.inbox.wait_for("room:participant_joined")["participant"]["user_id"] == room["mentor"]

    # The replaced socket on A is out: refused, and no longer sent the room's events.
    assert (
        first_tab.call("chat:send", {"session_id": sid, "body": "old tab"})["error"]["code"] == "not_in_room"
    )
    offer = {"type": "offer", "sdp": "v=0"}
    ack = ana.call("signal", {"session_id": sid, "to": room["mentor"], "kind": "description", "data": offer})
    assert ack == {"ok": True}, ack
    assert ana.call("chat:send", {"session_id": sid, "body": "Still there?"})["ok"]
    assert second_tab.inbox.wait_for("signal")["data"] == offer
    assert second_tab.inbox.wait_for("chat:message")["body"] == "Still there?"
    inbox = caught_up(first_tab, deployment)
    assert inbox.payloads("signal") == [] and inbox.payloads("chat:message") == []


def test_an_emit_only_socketio_reaches_clients_of_both_servers(deployment, servers, room, people):
    """Any process with the queue's URL and channel (no app, no server) reaches the clients."""
    server_a, server_b = servers
    sid = room["session_id"]
    mentor = people(server_a, "mentor")
    ana = people(server_b, "ana")
    assert mentor.join(sid)["ok"]
    assert ana.join(sid)["ok"]

    with emitter(deployment) as external:
        external.emit("test:to_room", {"session_id": sid}, to=f"session:{sid}")
        external.emit("test:to_user", {"user_id": room["ana"]}, to=f"user:{room['ana']}")
        external.emit("test:to_user", {"user_id": room["mentor"]}, to=f"user:{room['mentor']}")

    for person, user_id in ((mentor, room["mentor"]), (ana, room["ana"])):
        assert person.inbox.wait_for("test:to_room") == {"session_id": sid}
        assert person.inbox.wait_for("test:to_user") == {"user_id": user_id}
    assert len(mentor.inbox.payloads("test:to_user")) == len(ana.inbox.payloads("test:to_user")) == 1


def pay_on_gateway(order_id):
    """The learner pays at the (dev) gateway's checkout; the gateway's side is committed."""
    from peerlearn.payments import get_gateway

    remote, signature = get_gateway().pay(order_id, succeed=True, method="upi")
    db.session.commit()
    return remote, signature


def create_gift(person, session_id, amount_paise, message):
    response = person.post_json(
        "/api/gift/create/", {"session_id": session_id, "amount_paise": amount_paise, "message": message}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


GIFT_FIELDS = ("id", "sender_id", "sender_name", "amount_paise", "message", "paid_at")


def announced(person, gift_id):
    """The ``gift:received`` this person got for the gift, with the fields the room relies on."""
    payload = person.inbox.wait_for("gift:received", lambda p: p["gift"]["id"] == gift_id)
    return {"session_id": payload["session_id"], "gift": {key: payload["gift"][key] for key in GIFT_FIELDS}}


def test_a_gift_paid_on_one_server_is_announced_on_the_other(deployment, servers, room, people):
    server_a, server_b = servers
    sid = room["session_id"]
    mentor = people(server_a, "mentor")
    ana = people(server_b, "ana")
    assert mentor.join(sid)["ok"]
    assert ana.join(sid)["ok"]

    created = create_gift(ana, sid, 10000, "Thank you!")
    checkout = created["checkout"]
    assert checkout["gateway"] == "dev" and checkout["checkout_url"]
    remote, signature = pay_on_gateway(checkout["order_id"])
    callback = {
        "razorpay_order_id": checkout["order_id"],
        "razorpay_payment_id": remote.id,
        "razorpay_signature": signature,
    }
    response = ana.post_json("/api/gift/verify/", callback)
    assert response.status_code == 200, response.text
    gift = response.json()["data"]["gift"]
    assert gift["id"] == created["gift"]["id"] and gift["status"] == "paid" and gift["paid_at"]

    expected = {"session_id": sid, "gift": {key: gift[key] for key in GIFT_FIELDS}}
    assert expected["gift"] == {
        "id": gift["id"],
        "sender_id": room["ana"],
        "sender_name": "Ana Learner",
        "amount_paise": 10000,
        "message": "Thank you!",
        "paid_at": gift["paid_at"],
    }
    assert announced(mentor, gift["id"]) == expected  # on A
    assert announced(ana, gift["id"]) == expected  # on B: the sender's own room too

    # The callback arriving again (a retry, a second tab) is not a second gift.
    assert ana.post_json("/api/gift/verify/", callback).status_code == 200
    assert len(caught_up(mentor, deployment).payloads("gift:received")) == 1


WORKER = """
import sys

from peerlearn import create_app
from peerlearn.tasks import redis_connection
from peerlearn.tasks.worker import AppWorker

# As worker.py does: the app built once from the environment, one app context for the jobs.
app = create_app()
with app.app_context():
    AppWorker([sys.argv[1]], connection=redis_connection()).work(burst=True)
"""


def test_a_job_on_a_worker_announces_to_clients_of_a_server(deployment, servers, room, people):
    """An RQ worker (its own process, no Socket.IO server in it) emits through the queue: the
    reconciler finds a gift paid at the gateway whose checkout callback never came, and the
    room hears about it."""
    from redis import Redis
    from rq import Queue

    from peerlearn.models import Gift
    from peerlearn.tasks.periodic import reconcile_payments

    server_a, server_b = servers
    sid = room["session_id"]
    mentor = people(server_a, "mentor")
    ana = people(server_b, "ana")
    assert mentor.join(sid)["ok"]
    assert ana.join(sid)["ok"]
    created = create_gift(ana, sid, 25000, "From the worker")
    pay_on_gateway(created["checkout"]["order_id"])  # ... and the browser closed before the callback

    connection = Redis.from_url(deployment["SOCKETIO_MESSAGE_QUEUE"])
    queue = Queue(f"peerlearn-test-{uuid.uuid4().hex}", connection=connection)  # this run's alone
    job = None
    try:
        job = queue.enqueue(reconcile_payments)
        worker_env = {**deployment, "REDIS_URL": deployment["SOCKETIO_MESSAGE_QUEUE"], "JOBS_INLINE": "false"}
        worker = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
            [sys.executable, "-c", WORKER, queue.name],
            cwd=ROOT,
            env=worker_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert worker.returncode == 0, worker.stdout + worker.stderr
        assert queue.finished_job_registry.count == 1, worker.stdout + worker.stderr
    finally:
        if job is not None:
            job.delete()
        queue.delete(delete_jobs=True)
        connection.delete(queue.finished_job_registry.key, queue.failed_job_registry.key)
        connection.close()

    db.session.expire_all()
    gift = db.session.get(Gift, created["gift"]["id"])
    assert gift.status == "paid"
    for person in (mentor, ana):
        payload = announced(person, gift.id)
        assert payload["session_id"] == sid
        assert payload["gift"]["amount_paise"] == 25000 and payload["gift"]["message"] == "From the worker"


def another_tab(person, server):
    """A second tab of ``person``'s browser (the same sign-in), its socket on ``server``."""
    sio = socketio.Client(http_session=person.http, reconnection=False)
    inbox = Inbox(TIMEOUT)
    sio.on("*", inbox.record)
    sio.connect(server.url, transports=["polling"], wait_timeout=TIMEOUT)
    return sio, inbox


def wait_until_disconnected(*clients):
    deadline = time.monotonic() + TIMEOUT
    while any(sio.connected for sio in clients) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(sio.connected for sio in clients)


def test_signing_out_on_one_server_drops_its_sockets_on_the_other(deployment, servers, room, people):
    """The sockets keep their identity in memory, so the other server must hear of the sign-out:
    it disconnects the socket at once, without waiting for that socket's next event."""
    server_a, server_b = servers
    sid = room["session_id"]
    mentor = people(server_b, "mentor")
    ana = people(server_a, "ana")
    tab_b, _ = another_tab(ana, server_b)
    assert mentor.join(sid)["ok"]
    assert tab_b.call("room:join", {"session_id": sid}, timeout=TIMEOUT)["ok"]
    mentor.inbox.wait_for("room:participant_joined")

    token = extract_csrf(ana.http.get(f"{ana.base}/", timeout=TIMEOUT).text)
    response = ana.http.post(
        f"{ana.base}/auth/logout", data={"csrf_token": token}, allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 302

    assert wait_until_disconnected(ana.sio, tab_b)
    left = mentor.inbox.wait_for("room:participant_left")
    assert left == {"session_id": sid, "user_id": room["ana"]}
    assert mentor.sio.connected  # only that sign-in's sockets go


SUSPEND = """
import sys

from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.models import User
from peerlearn.services import admin

app = create_app()
with app.app_context():
    admin.suspend_user(db.session.get(User, int(sys.argv[1])), int(sys.argv[2]), "Abuse in chat")
"""


def test_a_suspension_made_by_a_third_process_drops_the_sockets_on_both_servers(
    deployment, servers, room, people
):
    """An admin's command in a process with no sockets: every server drops the account's sockets."""
    admin = UserFactory(role="admin")
    server_a, server_b = servers
    mentor = people(server_a, "mentor")
    ana = people(server_a, "ana")
    tab_b, _ = another_tab(ana, server_b)
    assert ana.sio.connected and tab_b.connected

    script = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [sys.executable, "-c", SUSPEND, str(admin.id), str(room["ana"])],
        cwd=ROOT,
        env=deployment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert script.returncode == 0, script.stdout + script.stderr

    assert wait_until_disconnected(ana.sio, tab_b)
    assert mentor.sio.connected
