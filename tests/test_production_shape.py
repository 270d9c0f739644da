"""The production shape, run for real: nginx (Debian's) in front of two `gunicorn -k gevent -w 1
wsgi:app` with the production config, `python worker.py`, the cron scheduler, a PostgreSQL
database of its own and a throwaway redis-server (jobs, rate limits and the Socket.IO message
queue), stored files in an S3-compatible bucket (moto's server), so the two web processes share
no folder. Proven, in this order on one deployment:

a. a paid booking made through nginx (the JSON API with its CSRF token) notifies the mentor's
   sockets on both web processes, so the one the booking did not reach hears it too;
b. Redis stopped and started: /readyz answers 503 meanwhile and 200 after, a booking made during
   the outage has its email delivered after it, the cron heartbeat returns and sockets on both
   processes are reached through the queue again;
c. a rolling restart (A, wait for /healthz, then B, as deploy/upgrade does) under a client
   sending requests through nginx: no request fails, and a socket reconnects by itself.
"""

import itertools
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask_socketio import SocketIO
from redis import Redis
from sqlalchemy import select

from peerlearn import create_app
from peerlearn.extensions import db
from tests.conftest import free_port, unavailable
from tests.factories import DEFAULT_PASSWORD, UserFactory, make_session
from tests.support.production import (
    CRON,
    NGINX,
    TIMEOUT,
    Browser,
    Nginx,
    Traffic,
    Web,
    own_folders,
    python_service,
    run_flask,
    scratch_database,
    shape_env,
    wait_until,
)
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PRICE_PAISE = 49900


class Shape:
    """The running deployment and an app in this process on its database (to seed and to read)."""

    def __init__(self, env, webs, worker, cron, nginx, redis, app, people):
        self.env, self.webs, self.worker, self.cron = env, webs, worker, cron
        self.nginx, self.redis, self.app, self.people = nginx, redis, app, people

    @property
    def services(self):
        return [*self.webs, self.worker, self.cron, self.nginx]

    def explain(self):
        return "\n".join(service.explain() for service in self.services)

    def readyz(self, base=None):
        try:
            response = requests.get(f"{base or self.nginx.url}/readyz", timeout=10)
        except requests.RequestException:
            return None
        return response.status_code, response.json()

    def wait_ready(self, base=None, status=200):
        return wait_until(
            f"/readyz {status} from {base or 'nginx'}",
            lambda: (reply := self.readyz(base)) and reply[0] == status and reply,
            interval=0.3,
            explain=lambda: f"last: {self.readyz(base)}\n{self.explain()}",
        )

    def served_by(self, method, path):
        """The web port nginx passed the last ``method path`` to (its access log, written once
        the answer has gone out)."""
        log = self.nginx.log_path.parent / "access.log"

        def logged():
            return [line for line in log.read_text().splitlines() if f'"{method} {path}' in line]

        lines = wait_until(f"{method} {path} in nginx's access log", logged, explain=log.read_text)
        return int(re.findall(r"127\.0\.0\.1:(\d+)", lines[-1].split("upstream=")[1])[-1])


def require_programs():
    if not Path(NGINX).exists():
        unavailable("nginx is not installed (apt-get install nginx)")
    if not shutil.which("redis-server"):
        unavailable("redis-server is not installed")


@pytest.fixture(scope="module")
def postgres_base():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        unavailable("set TEST_DATABASE_URL=postgresql://… to run the production shape")
    return url


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server in this process, with an empty bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"shape-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="shape-test",
        aws_secret_access_key="shape-test",  # noqa: S106 - moto's server accepts any key
    )
    client.create_bucket(Bucket=bucket)
    yield endpoint, bucket
    server.stop()


@pytest.fixture(scope="module")
def shape(tmp_path_factory, postgres_base, s3_endpoint):
    require_programs()
    home = tmp_path_factory.mktemp("shape")
    redis = RedisServer()
    database_url, drop_database = scratch_database(postgres_base)
    started = []
    app = None
    try:
        redis.start()
        web_ports = [free_port(), free_port()]
        nginx_port = free_port()
        endpoint, bucket = s3_endpoint
        env = shape_env(
            database_url=database_url,
            redis_url=redis.url,
            public_url=f"http://127.0.0.1:{nginx_port}",
            web_ports=web_ports,
            s3_endpoint=endpoint,
            bucket=bucket,
        )
        run_flask(own_folders(env, home / "cli"), "db", "upgrade")

        app = create_app(
            "testing",
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "SQLALCHEMY_ENGINE_OPTIONS": {},
                "LOG_LEVEL": "WARNING",
            },
        )
        with app.app_context():
            mentor = UserFactory(role="mentor", name="Meera Mentor")
            learners = [UserFactory(name=f"Learner {n}") for n in range(3)]
            paid = make_session(mentor, title="Paid office hours", price_paise=PRICE_PAISE)
            free = make_session(mentor, title="Free office hours")
            db.session.commit()
            people = {
                "mentor": mentor.email,
                "learners": [learner.email for learner in learners],
                "paid": paid.id,
                "free": free.id,
                "mentor_id": mentor.id,
            }
            db.session.remove()

        webs = [
            Web(name, port, own_folders(env, home / name), home)
            for name, port in zip(("web-a", "web-b"), web_ports, strict=True)
        ]
        started.extend(webs)
        worker = python_service("worker", ["worker.py"], own_folders(env, home / "worker"), home)
        started.append(worker)
        cron = python_service("cron", ["-c", CRON], own_folders(env, home / "cron"), home)
        started.append(cron)
        for web in webs:
            web.wait_until_healthy()
        nginx = Nginx(nginx_port, web_ports, home / "nginx")
        started.append(nginx)
        deployment = Shape(env, webs, worker, cron, nginx, redis, app, people)
        deployment.wait_ready()  # worker and cron heartbeats in, every required part up
        yield deployment
    finally:
        for service in reversed(started):
            service.stop()
        redis.stop()
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        drop_database()


@pytest.fixture
def browsers(shape):
    opened = []

    def sign_in(email):
        browser = Browser(shape.nginx.url, email, DEFAULT_PASSWORD)
        opened.append(browser)
        return browser

    yield sign_in
    for browser in opened:
        browser.close()


def emit_to_user(shape, user_id, event, payload):
    """What any process with the queue's URL and channel does to reach a person's sockets."""
    external = SocketIO(
        message_queue=shape.env["SOCKETIO_MESSAGE_QUEUE"], channel=shape.env["SOCKETIO_CHANNEL"]
    )
    try:
        external.emit(event, payload, to=f"user:{user_id}")
    finally:
        if external.server.manager.redis is not None:
            external.server.manager.redis.close()


def test_a_booking_through_nginx_notifies_the_mentor_on_the_other_process(shape, browsers):
    web_a, web_b = shape.webs
    mentor = browsers(shape.people["mentor"])
    learner = browsers(shape.people["learners"][0])
    # The mentor's tabs: one socket on each process (their own ports), one wherever nginx sends it.
    inboxes = {}
    for name, url in (("web-a", web_a.url), ("web-b", web_b.url), ("nginx", shape.nginx.url)):
        _sio, inboxes[name], _connections = mentor.socket(url)

    booking = learner.post_json(f"/api/sessions/{shape.people['paid']}/book/", {})
    assert booking["status"] == "pending_payment"
    checkout = learner.post_json("/api/create-payment/", {"booking_id": booking["id"]})["checkout"]
    paid = learner.post_form(f"/payments/dev-checkout/{checkout['order_id']}/pay", {"method": "upi"})
    assert paid.status_code == 303, paid.text
    back = {key: values[0] for key, values in parse_qs(urlsplit(paid.headers["Location"]).query).items()}
    verified = learner.post_json(
        "/api/verify-payment/",
        {
            "razorpay_order_id": back["order_id"],
            "razorpay_payment_id": back["payment_id"],
            "razorpay_signature": back["signature"],
        },
    )
    assert verified["booking"]["status"] == "confirmed" and verified["amount_paise"] == PRICE_PAISE

    def told(payload):
        return payload["kind"] == "payment_received" and payload["data"]["session_id"] == shape.people["paid"]

    for name, inbox in inboxes.items():
        note = inbox.wait_for("notification", told)
        assert note["title"] == "Learner 0 booked “Paid office hours”", name
    # The process nginx gave the payment's confirmation to, and the other one, whose socket heard
    # it through the queue all the same.
    confirming = shape.served_by("POST", "/api/verify-payment/")
    assert confirming in (web_a.port, web_b.port)
    other = web_b if confirming == web_a.port else web_a
    assert inboxes[other.name].payloads("notification"), other.name


def test_redis_stopped_and_started_loses_nothing(shape, browsers):
    from peerlearn.models import Booking, Notification, OutboundEmail
    from peerlearn.services.readiness import CRON_HEARTBEAT_KEY

    learner = browsers(shape.people["learners"][1])  # signed in before the outage
    redis = Redis.from_url(shape.redis.url)
    try:
        assert redis.get(CRON_HEARTBEAT_KEY) is not None
    finally:
        redis.close()

    shape.redis.stop()
    try:
        _status, report = shape.wait_ready(status=503)
        assert report["checks"]["redis"]["state"] == "down", report
        for web in shape.webs:
            shape.wait_ready(web.url, status=503)  # each process after its cached report expires
        # The site still takes a booking; its email waits in the database for Redis.
        booking = learner.post_json(f"/api/sessions/{shape.people['free']}/book/", {})
        assert booking["status"] == "confirmed"
    finally:
        shape.redis.start()  # empty, as a restarted Redis without persistence comes back

    shape.wait_ready()
    for web in shape.webs:
        shape.wait_ready(web.url)
    redis = Redis.from_url(shape.redis.url)
    try:
        wait_until("the cron heartbeat", lambda: redis.get(CRON_HEARTBEAT_KEY), explain=shape.cron.explain)
    finally:
        redis.close()
    assert all(service.alive() for service in shape.services), shape.explain()

    with shape.app.app_context():

        def email_state():
            db.session.remove()
            return db.session.scalars(
                select(OutboundEmail.status).where(
                    OutboundEmail.to_address == shape.people["learners"][1],
                    OutboundEmail.subject == "Booked: Free office hours",
                )
            ).all()

        wait_until("the booking's email sent", lambda: email_state() == ["sent"], explain=shape.explain)
        stored = db.session.get(Booking, booking["id"])
        assert stored.status == "confirmed"
        kinds = db.session.scalars(
            select(Notification.kind).where(Notification.user_id == stored.learner_id)
        ).all()
        assert "booking_confirmed" in kinds
        db.session.remove()

    # The message queue carries events between the processes again: a socket on each hears one.
    mentor = browsers(shape.people["mentor"])
    inboxes = [mentor.socket(web.url)[1] for web in shape.webs]
    marker = {"marker": uuid.uuid4().hex}

    def heard():
        emit_to_user(shape, shape.people["mentor_id"], "test:marker", marker)
        return all(inbox.payloads("test:marker") for inbox in inboxes)

    wait_until("an event through the queue after the outage", heard, interval=1, explain=shape.explain)


def test_a_rolling_restart_under_traffic_fails_no_request(shape, browsers, record_property):
    mentor = browsers(shape.people["mentor"])
    sio, _inbox, connections = mentor.socket(shape.nginx.url, reconnection=True)

    with Traffic(shape.nginx.url) as traffic:
        for web in shape.webs:  # deploy/upgrade's rolling_restart_web
            web.stop()
            web.start()
            web.wait_until_healthy()
            shape.wait_ready(web.url)
        wait_until(
            "the socket back",
            lambda: sio.connected and any(event == "disconnect" for event, _at in connections),
            explain=shape.explain,
        )
        time.sleep(1)  # a little traffic after both restarts, on both new processes
    log = (shape.nginx.log_path.parent / "error.log").read_text().splitlines()
    errors = "\n".join(line for line in log if "userid" not in line)
    assert traffic.failures == [], f"{len(traffic.failures)} failed: {traffic.failures[:5]}\n{errors[:4000]}"
    assert traffic.answered > 0
    assert sio.call("whoami", timeout=TIMEOUT)["user_id"] == shape.people["mentor_id"]

    # How long the socket was away each time its process went (a figure to report, not a limit).
    gaps = []
    for (event, at), (next_event, next_at) in itertools.pairwise(connections):
        if event == "disconnect" and next_event == "connect":
            gaps.append(round(next_at - at, 2))
    assert gaps, connections
    record_property("socket_reconnect_seconds", gaps)
    record_property("requests_during_restart", traffic.answered)
    print(f"rolling restart: {traffic.answered} requests, 0 failed; socket back after {gaps} s")
