"""What bench/room_relay.py and bench/room_memory.py share: a scratch database seeded with live
rooms, production server processes on free ports, and signed-in Socket.IO clients.

A room is one mentor and three learners with confirmed bookings in a free session that is live
now. Servers run as in production (wsgi.py):

    PEERLEARN_ENV=production gunicorn -k gevent -w 1 --bind 127.0.0.1:PORT wsgi:app

on the scratch database, with these bench-only settings (printed by the benches): login rate
limits per IP raised and the Argon2 cost lowered (every participant signs in once from
127.0.0.1 before anything is measured), periodic sweeps every hour (none runs during a
measurement), session cookies allowed over plain http on loopback, and browser-to-browser rooms
allowed (the signalling they relay is the mesh's; production opens no room without Janus else).

Clients are python-socketio clients over the WebSocket transport (the websocket-client package),
each signed in through the real login form with its own cookie jar.
"""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import requests
import socketio
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "bench-room-passphrase"  # noqa: S105 - the scratch database's own accounts
ROOM_SIZE = 4  # a mentor and three learners
TIMEOUT = 60  # seconds, for anything that should take far less
# Settings of the developer's shell that must not reach the bench's servers.
FOREIGN = ("PEERLEARN_", "TEST_", "REDIS", "DATABASE", "SOCKETIO", "FLASK", "JOBS_", "RATELIMIT", "MAIL_")
BENCH_SETTINGS = {
    "LOGIN_LIMIT_PER_IP": "100000 per minute",
    "LOGIN_LIMIT_PER_ACCOUNT": "100000 per minute",
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_COST": "1024",
    "SWEEP_INTERVAL_SECONDS": "3600",
    "SESSION_COOKIE_SECURE": "false",
    # These benches relay the browser mesh's signalling; production opens such rooms only when told.
    "ALLOW_MESH_ROOMS": "true",
}
# Only what a bench needs on plain http without a sweep in the middle of a measurement.
SERVE_SETTINGS = {"SESSION_COOKIE_SECURE": "false", "SWEEP_INTERVAL_SECONDS": "3600"}
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url, process, output, timeout=TIMEOUT):
    """Poll ``url``/healthz until it answers 200; raise with the server's ``output()`` when the
    process exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server at {url} did not come up:\n{output()}")
        time.sleep(0.2)


def stop_process_group(process):
    """Stop a server started with start_new_session=True and everything it forked: SIGQUIT
    (gunicorn's quick shutdown; the default action ends `flask serve`), then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGQUIT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def describe_settings():
    return ", ".join(f"{key}={value}" for key, value in BENCH_SETTINGS.items())


@contextmanager
def scratch_database(admin_url):
    """Yield the URL of a new, empty database, dropped on exit.

    ``admin_url`` names a PostgreSQL server and a database there to connect to for CREATE
    DATABASE (never used otherwise); None means a SQLite file in a temporary folder.
    """
    if admin_url is None:
        with tempfile.TemporaryDirectory(prefix="peerlearn-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from peerlearn.config import normalise_database_url

    name = f"bench_room_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(normalise_database_url(admin_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def testing_app(url, **config):
    """The app under its testing config on the database at ``url`` (rate limits off), for the
    benches that measure through the test client in their own process."""
    from peerlearn import create_app
    from peerlearn.config import Config, normalise_database_url

    return create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "SQLALCHEMY_ENGINE_OPTIONS": Config.engine_options(url),
            "RATELIMIT_ENABLED": False,
            **config,
        },
    )


def analyze_if_postgres():
    """Refresh PostgreSQL's planner statistics after a bulk load (in an app context), so the
    plans measured are those of a settled database; SQLite needs nothing."""
    from sqlalchemy import text

    from peerlearn.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()


@dataclass
class Member:
    user_id: int
    email: str
    role: str
    session_id: int


def seed_rooms(database_url, secret_key, rooms):
    """Create the schema and ``rooms`` live rooms; return their members, room by room."""
    from peerlearn import create_app
    from peerlearn.extensions import db

    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "SECRET_KEY": secret_key,
            "LOG_LEVEL": "WARNING",  # not the booking emails
        },
    )
    with app.app_context():
        db.create_all()
        make_user = account_maker()
        seeded = []
        for number in range(1, rooms + 1):
            mentor = make_user(f"mentor{number}@bench.test", f"Mentor {number}", "mentor")
            learners = [
                make_user(f"learner{number}-{seat}@bench.test", f"Learner {number}-{seat}", "learner")
                for seat in range(1, ROOM_SIZE)
            ]
            session = live_session(mentor, learners, f"Bench room {number}")
            seeded.append(
                [Member(mentor.id, mentor.email, "mentor", session.id)]
                + [Member(learner.id, learner.email, "learner", session.id) for learner in learners]
            )
        db.session.remove()
        db.engine.dispose()
    return seeded


def account_maker():
    """A function that adds a verified account with the benches' password (in an app context)."""
    from peerlearn.extensions import db
    from peerlearn.models import User, utcnow
    from peerlearn.services.passwords import hash_password

    password_hash = hash_password(PASSWORD)

    def make_user(email, name, role):
        person = User(
            email=email,
            name=name,
            teaching_enabled_at=utcnow() if role == "mentor" else None,
            password_hash=password_hash,
            email_verified_at=utcnow(),
        )
        db.session.add(person)
        return person

    return make_user


def live_session(mentor, learners, title):
    """A free session starting in ten minutes (its room is open), every learner holding a
    confirmed seat, gone live: the session."""
    from peerlearn.extensions import db
    from peerlearn.models import utcnow
    from peerlearn.services import booking as booking_service
    from peerlearn.services import room as room_service

    db.session.flush()
    session = open_session(
        mentor,
        title,
        starts_at=utcnow() + timedelta(minutes=10),  # the room opens 15 minutes before
        duration_minutes=120,
        capacity=max(len(learners), 1),
    )
    db.session.add(session)
    db.session.commit()
    for learner in learners:
        booking, _ = booking_service.book(session.id, learner)
        if booking.status != "confirmed":
            raise SystemExit(f"the booking is {booking.status}, not confirmed")
    room_service.start(mentor, session.id)
    return session


def open_session(mentor, title, *, starts_at, capacity, price_paise=0, duration_minutes=60, description=""):
    """A published, scheduled session of ``mentor`` (a flushed User), open for booking; not yet
    added to the database session."""
    from peerlearn.models import LearningSession, utcnow

    return LearningSession(
        mentor_id=mentor.id,
        title=title,
        description=description,
        category="Programming",
        level="all",
        language="English",
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        capacity=capacity,
        price_paise=price_paise,
        status="scheduled",
        published_at=utcnow(),
    )


def server_environment(database_url, secret_key, workdir, *, message_queue=None, settings=BENCH_SETTINGS):
    """The production server's environment on ``database_url``, with ``settings`` (by default
    the bench-only ones above; SERVE_SETTINGS where logins and rooms are not the load)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN)}
    env.update(
        settings,
        PEERLEARN_ENV="production",
        SOCKETIO_ASYNC_MODE="gevent",
        SECRET_KEY=secret_key,
        PAYOUT_DETAILS_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        PEERLEARN_INSTANCE_DIR=str(workdir / "instance"),
        UPLOAD_DIR=str(workdir / "uploads"),
        ALLOW_DEV_GATEWAY="true",  # no Razorpay keys on a bench
        JOBS_INLINE="true",
        MAIL_BACKEND="log",
        LOG_LEVEL="WARNING",
    )
    if message_queue:
        env["SOCKETIO_MESSAGE_QUEUE"] = message_queue
        # Pub/sub ignores Redis database numbers: a channel of its own keeps other runs out.
        env["SOCKETIO_CHANNEL"] = f"peerlearn-bench-{uuid.uuid4().hex}"
    return env


def clear_channel_keys(redis_url, channel):
    """Delete what the servers kept in Redis for the bench's channel (such as the room roster)."""
    from redis import Redis

    client = Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*{channel}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class Server:
    """One production server process (gunicorn master + one gevent worker) on a free port,
    serving ``app`` from the tree at ``cwd``; with ``dev``, `flask serve` instead (the embedded
    mode's threading server, one process)."""

    def __init__(self, env, log_path, *, nodelay=True, hooks="", app="wsgi:app", cwd=ROOT, dev=False):
        """``hooks``: the source of a gunicorn config file (server hooks) for this server."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dev = dev
        # Production builds links on PUBLIC_BASE_URL and refuses to start without it.
        env = {**env, "PUBLIC_BASE_URL": self.url}
        self._log = open(log_path, "w+b")  # noqa: SIM115 - closed in stop()
        if dev:
            command = [BIN / "flask", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            command = [BIN / "gunicorn", "-k", "gevent", "-w", "1", "--bind", f"127.0.0.1:{self.port}"]
            if not nodelay:
                # A gunicorn hook that runs in the master once its listener exists, before the worker.
                hooks += (
                    "\n\nimport socket\n\n\ndef when_ready(server):\n"
                    "    for listener in server.LISTENERS:\n"
                    "        listener.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)\n"
                )
            if hooks:
                hook = log_path.with_suffix(".hooks.py")
                hook.write_text(hooks)
                command += ["--config", str(hook)]
            # gunicorn also takes a factory call with literal arguments (gunicorn.util.import_app).
            command.append(app)
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_healthy(self):
        wait_until_healthy(self.url, self.process, self.output)

    def worker_pid(self):
        """The process serving requests: the gevent worker, which holds the sockets (gunicorn's
        master only supervises), or `flask serve` itself."""
        if self.dev:
            return self.process.pid
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        if len(children) != 1:
            raise SystemExit(f"expected one worker, found {children}")
        return int(children[0])

    def output(self):
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self):
        stop_process_group(self.process)
        self._log.close()


@contextmanager
def servers(env, count, workdir, *, tag="server", **options):
    """``count`` server processes of one deployment, stopped (with their workers) on exit;
    ``options`` go to each Server."""
    started = []
    try:
        for index in range(count):
            started.append(Server(env, workdir / f"{tag}-{index}.log", **options))
        for server in started:
            server.wait_until_healthy()
        yield started
    finally:
        for server in started:
            server.stop()


def sign_in(base_url, email):
    """A cookie jar signed in through the login form, as a browser does."""
    http = requests.Session()
    page = http.get(f"{base_url}/auth/login", timeout=TIMEOUT)
    token = CSRF_META.search(page.text).group(1)
    form = {"email": email, "password": PASSWORD, "csrf_token": token}
    response = http.post(f"{base_url}/auth/login", data=form, allow_redirects=False, timeout=TIMEOUT)
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {email} failed: {response.status_code} {response.text[:200]}")
    return http


def sign_in_all(base_url, members, threads=8):
    """Cookie jars by user id. Cookies name no port, so they serve every server of the bench."""
    with ThreadPoolExecutor(threads) as pool:
        jars = pool.map(lambda member: sign_in(base_url, member.email), members)
        return {member.user_id: jar for member, jar in zip(members, jars, strict=True)}


@dataclass
class Participant:
    """A member's Socket.IO connection to one server, joined to their room."""

    member: Member
    server_index: int
    sio: socketio.Client = field(repr=False)
    errors: list = field(default_factory=list, repr=False)

    def call(self, event, payload):
        return self.sio.call(event, payload, timeout=TIMEOUT)


def connect_and_join(member, http, server_url, server_index, handlers=None):
    sio = socketio.Client(http_session=http, reconnection=False)
    participant = Participant(member, server_index, sio)
    sio.on("error", participant.errors.append)
    for event, handler in (handlers or {}).items():
        sio.on(event, handler)
    sio.connect(server_url, transports=["websocket"], wait_timeout=TIMEOUT)
    ack = participant.call("room:join", {"session_id": member.session_id})
    if not ack.get("ok"):
        sio.disconnect()
        raise RuntimeError(f"{member.email} could not join room {member.session_id}: {ack}")
    return participant


def connect_all(assignments, jars, server_urls, make_handlers=None, threads=16):
    """Connect and join every (member, server index) pair; return the participants in order."""

    def open_one(item):
        member, index = item
        handlers = make_handlers(member, index) if make_handlers else None
        return connect_and_join(member, jars[member.user_id], server_urls[index], index, handlers)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(open_one, assignments))


def disconnect_all(participants, threads=16):
    def close(participant):
        if participant.sio.connected:
            participant.sio.disconnect()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(close, participants))


def new_secret_key():
    return secrets.token_hex(32)


def cpu_seconds(pid):
    """User + system CPU time of a process so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency_summary(seconds):
    """p50, p95 and max of latencies given in seconds, in milliseconds."""
    if not seconds:
        return "none"
    ms = [value * 1000 for value in seconds]
    p50, p95 = percentile(ms, 0.5), percentile(ms, 0.95)
    return f"p50 {p50:7.1f}  p95 {p95:7.1f}  max {max(ms):7.1f} ms (n={len(ms)})"


@dataclass
class BurstRounds:
    """Rounds of a burst (requests sent at one moment) while another client asks for ``page``
    again and again: each round's figures printed as it ends, every round's kept. Requests and
    checks are (sent, done, status), on a clock every process shares."""

    page: str
    noun: str  # what the burst's requests are, as printed: "logins", "uploads"
    during: list = field(default_factory=list)  # checks sent while the burst was in flight
    times: list = field(default_factory=list)  # the burst's own latencies
    statuses: list = field(default_factory=list)  # the burst's answers
    rounds: int = 0

    def record(self, burst, checks):
        first_sent = min(sent for sent, _done, _status in burst)
        last_done = max(done for _sent, done, _status in burst)
        # Every check sent while the burst was in flight, including one still waiting at the end.
        round_checks = [done - sent for sent, done, _status in checks if first_sent <= sent <= last_done]
        round_times = [done - sent for sent, done, _status in burst]
        self.during += round_checks
        self.times += round_times
        self.statuses += [status for _sent, _done, status in burst]
        self.rounds += 1
        print(
            f"  round {self.rounds}: burst {last_done - first_sent:5.2f} s; "
            f"{self.page} {latency_summary(round_checks)}; {self.noun} {latency_summary(round_times)}"
        )
